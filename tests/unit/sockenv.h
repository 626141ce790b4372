/*
 * A socket layer on a real ip_router with one fake interface ("wg0", MTU 1420,
 * 172.20.0.0/16 routed through it) whose output is captured, and a shim
 * connection to talk to it: the fixture of the socket-layer unit tests
 * (test_sock.c, test_sock_raw.c, test_sock_dgram.c, test_errqueue.c,
 * test_sock_stream.c). Header only, like testlib.h; include after <cmocka.h>
 * and testlib.h.
 */
#ifndef RR_TESTS_SOCKENV_H
#define RR_TESTS_SOCKENV_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/loop.h"
#include "core/pbuf.h"
#include "ip/fib.h"
#include "ip/router.h"
#include "stack/shim_proto.h"
#include "stack/sock.h"

#define SOCKENV_MAX_ADDRS 4

struct env {
	struct loop loop;
	struct ip_router router;
	struct netif nif;
	struct ip_prefix addrs[SOCKENV_MAX_ADDRS];
	struct pbuf_queue out;       /* what the router sent out of the fake interface */
	struct sock_layer *sl;
	int ctl;                     /* our end of the shim connection */
};

static inline void sockenv_output(struct netif *nif, struct pbuf *b, const struct ip_addr *nexthop)
{
	(void)nexthop;
	struct env *e = container_of(nif, struct env, nif);
	pbuf_queue_push(&e->out, b);
}

static const struct netif_ops sockenv_ops = { .output = sockenv_output };

/* Routes prefix (text) out of the fake interface. */
static inline void sockenv_add_route(struct env *e, const char *prefix)
{
	struct fib_route rt = { .type = FIB_TYPE_UNICAST, .ifindex = e->nif.ifindex };
	assert_int_equal(ip_prefix_parse(prefix, &rt.prefix), 0);
	assert_int_equal(fib_add(e->router.fib, &rt, 0), 0);
}

/* The fixture with the interface's addresses (NULL-terminated, at most SOCKENV_MAX_ADDRS). */
static inline struct env *sockenv_new(const char *const *addrs)
{
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	assert_int_equal(loop_init(&e->loop), 0);
	loop_use_manual_clock(&e->loop, NSEC_PER_SEC);
	assert_int_equal(ip_router_init(&e->router, &e->loop), 0);
	snprintf(e->nif.name, sizeof(e->nif.name), "wg0");
	e->nif.mtu = 1420;
	e->nif.ops = &sockenv_ops;
	size_t n = 0;
	for (; addrs[n]; n++) {
		assert_true(n < SOCKENV_MAX_ADDRS);
		assert_int_equal(ip_prefix_parse(addrs[n], &e->addrs[n]), 0);
	}
	e->nif.addrs = e->addrs;
	e->nif.n_addrs = n;
	assert_int_equal(ip_router_add_netif(&e->router, &e->nif), 0);
	sockenv_add_route(e, "172.20.0.0/16");
	pbuf_queue_init(&e->out);
	e->sl = sock_layer_new(&e->loop, &e->router);
	assert_non_null(e->sl);
	ip_router_set_local_handler(&e->router, sock_layer_input, e->sl);
	e->ctl = tl_shim_client(e->sl);
	return e;
}

/* A cmocka setup: the fixture with 172.20.0.1/32, fd42::1/64 and fe80::1/64. */
static inline int sockenv_setup(void **state)
{
	static const char *const addrs[] = { "172.20.0.1/32", "fd42::1/64", "fe80::1/64", NULL };
	*state = sockenv_new(addrs);
	return 0;
}

static inline int sockenv_teardown(void **state)
{
	struct env *e = *state;
	if (e->ctl >= 0)
		close(e->ctl);
	sock_layer_free(e->sl);
	pbuf_queue_purge(&e->out);
	ip_router_free(&e->router);
	loop_free(&e->loop);
	free(e);
	return 0;
}

static inline void spin(struct env *e)
{
	for (int i = 0; i < 4; i++)
		loop_run_once(&e->loop, 0);
}

/* The next packet the router sent out of the fake interface, which must be there. */
static inline struct pbuf *sockenv_pop_sent(struct env *e)
{
	struct pbuf *b = pbuf_queue_pop(&e->out);
	assert_non_null(b);
	return b;
}

/* One request; returns rep.err, *fd gets a passed fd (or -1). */
static inline int rpc(struct env *e, const struct shim_req *req, struct shim_rep *rep, int *fd)
{
	assert_int_equal(send(e->ctl, req, sizeof(*req), 0), sizeof(*req));
	spin(e);
	uint8_t buf[sizeof(*rep) + SHIM_MSG_MAX];
	int got;
	ssize_t n = tl_shim_recv(e->ctl, buf, sizeof(buf), &got);
	assert_true(n > 0);
	assert_true(shim_rep_valid(buf, (size_t)n));
	memcpy(rep, buf, sizeof(*rep));
	if (fd)
		*fd = got;
	else if (got >= 0)
		close(got);
	return rep->err;
}

/* Receives one datagram (shim header, then up to cap bytes) from a data fd without blocking: its payload length or -1. */
static inline ssize_t recv_dgram(int fd, struct shim_dgram_hdr *h, void *buf, size_t cap)
{
	struct iovec iov[2] = { { h, sizeof(*h) }, { buf, cap } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
	if (n < (ssize_t)sizeof(*h))
		return -1;
	return n - (ssize_t)sizeof(*h);
}

/* A shim address from text (IPv4 or IPv6), port and scope. */
static inline void sockenv_addr(struct shim_addr *a, const char *text, uint16_t port,
				uint32_t scope)
{
	memset(a, 0, sizeof(*a));
	a->family = strchr(text, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(a->family, text, a->addr), 1);
	a->port = port;
	a->scope_id = scope;
}

/* Sends len bytes as one datagram through a data fd, to `to` (NULL: its connected peer). */
static inline void sockenv_send_dgram(int fd, const char *to, uint16_t port, uint32_t scope,
				      const void *data, size_t len)
{
	uint8_t buf[sizeof(struct shim_dgram_hdr) + 2048];
	struct shim_dgram_hdr h;
	assert_true(len <= sizeof(buf) - sizeof(h));
	memset(&h, 0, sizeof(h));
	if (to)
		sockenv_addr(&h.peer, to, port, scope);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), data, len);
	assert_int_equal(send(fd, buf, sizeof(h) + len, 0), (ssize_t)(sizeof(h) + len));
}

/*
 * An IPv4 packet src -> dst (TTL ttl, protocol proto) carrying len bytes of
 * payload, into the router through the fake interface.
 */
static inline void sockenv_inject_ipv4(struct env *e, const char *src, const char *dst, uint8_t ttl,
				       uint8_t proto, const void *payload, size_t len)
{
	struct pbuf *b = pbuf_alloc();
	assert_non_null(b);
	uint8_t *p = pbuf_put(b, 20 + len);
	if (!p)
		abort();   /* assert_non_null, for the compiler too */
	uint8_t s[4], d[4];
	assert_int_equal(inet_pton(AF_INET, src, s), 1);
	assert_int_equal(inet_pton(AF_INET, dst, d), 1);
	struct tl_ip h = { AF_INET, s, d, .proto = proto, .ttl = ttl };
	tl_ip_header(p, &h, len);
	memcpy(p + 20, payload, len);
	netif_input(&e->nif, b);
	spin(e);
}

#endif
