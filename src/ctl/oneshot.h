/*
 * The clients of a small server on the loop that answers one request per
 * connection and then closes it (the control socket, the metrics HTTP
 * listener): a bounded number of slots, a deadline armed at accept for the
 * whole exchange, and the reply sent as the socket takes it. The owner reads
 * and answers the request; everything around that is here, once.
 */
#ifndef RR_CTL_ONESHOT_H
#define RR_CTL_ONESHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "core/strbuf.h"

struct oneshot_server;

struct oneshot_client {
	struct loop_fd lfd;
	struct oneshot_server *srv;
	struct oneshot_client *next;
	struct strbuf out;          /* the reply, sent from out_off on */
	size_t out_off;
	bool replying;
	struct timer deadline;
	size_t in_len;
	char in[];                  /* srv->request_max bytes of request */
};

struct oneshot_server {
	struct loop *loop;
	struct oneshot_client *clients;
	unsigned n_clients;
	unsigned max_clients;
	size_t request_max;
	uint64_t timeout_ns;        /* from accept to the last byte of the reply */
	/*
	 * Called when c's socket is readable: reads what arrived into c->in and, once the
	 * request is whole, puts the full reply in c->out. 1: reply ready; 0: wait for more;
	 * -1: drop the client.
	 */
	int (*read_request)(struct oneshot_client *c);
	/* Called (may be NULL) before a client that outlived timeout_ns is dropped. */
	void (*timed_out)(struct oneshot_client *c);
};

/*
 * Takes the accepted socket fd (non-blocking) as a new client. 0; -EBUSY when all
 * max_clients slots are taken, -ENOMEM, or -errno from the loop: then fd stays the
 * caller's to answer or close.
 */
int oneshot_add(struct oneshot_server *s, int fd);
/* Drops every client (closing their sockets). */
void oneshot_drop_all(struct oneshot_server *s);

#endif
