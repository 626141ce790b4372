/*
 * The TCP glue of the socket layer (stack/sock_tcp.c) against a scripted
 * stand-in for the TCP engine defined at the end of this file: the test
 * plays the engine's callbacks and checks what the app's end of the
 * socketpair sees. Covers the non-blocking connect (no POLLOUT before the
 * handshake, then POLLOUT, SO_ERROR), both data pumps with backpressure,
 * half-close both ways, close -> tcp_close, the accept channel.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/loop.h"
#include "ip/fib.h"
#include "ip/router.h"
#include "stack/shim_proto.h"
#include "stack/sock.h"
#include "stack/tcp.h"
#include "testlib.h"

#include "sockenv.h"

/* ---- the scripted engine ---- */

struct tcp_stack {
	const struct tcp_ops *ops;
	void *ctx;
};
struct tcp_conn {
	void *user;
	struct tcp_endpoint local, remote;
	uint8_t sent[1 << 16];
	size_t sent_len, space;
	uint8_t in[1 << 20];   /* more than a socketpair buffers */
	size_t in_len, in_off;
	bool fin_in, shut, closed, aborted, released;
};
struct tcp_listener {
	void *user;
	struct tcp_endpoint local;
	struct tcp_conn *queue[4];
	int n;
	bool closed;
};
static struct tcp_stack *g_stack;
static struct tcp_conn *g_conn;
static struct tcp_listener *g_lis;

/* Everything the stand-in allocates, freed by the test's teardown. */
static void *g_allocs[64];
static unsigned g_n_allocs;
static void *fake_alloc(size_t n)
{
	void *p = calloc(1, n);
	assert_non_null(p);
	assert_true(g_n_allocs < sizeof(g_allocs) / sizeof(g_allocs[0]));
	g_allocs[g_n_allocs++] = p;
	return p;
}
static void fake_free_all(void)
{
	while (g_n_allocs)
		free(g_allocs[--g_n_allocs]);
}

struct tcp_stack *tcp_stack_new(struct loop *loop, const struct tcp_ops *ops, void *ctx)
{
	struct tcp_stack *s = calloc(1, sizeof(*s));
	s->ops = ops;
	s->ctx = ctx;
	g_stack = s;
	return s;
}
void tcp_stack_free(struct tcp_stack *s) { free(s); }
void tcp_input(struct tcp_stack *s, struct pbuf *b, const struct ip_packet *pkt, uint32_t i)
{
	pbuf_free(b);
}
static struct tcp_conn *new_conn(void)
{
	struct tcp_conn *c = fake_alloc(sizeof(*c));
	c->space = sizeof(c->sent);
	return c;
}
int tcp_listen(struct tcp_stack *s, const struct tcp_endpoint *l, bool any, int f, unsigned bl,
	       const struct tcp_options *o, struct tcp_listener **out)
{
	if (g_lis && !g_lis->closed) {   /* the IPv4 half of a dual-stack listener */
		*out = fake_alloc(sizeof(**out));
		return 0;
	}
	g_lis = fake_alloc(sizeof(*g_lis));
	g_lis->local = *l;
	*out = g_lis;
	return 0;
}
void tcp_listener_close(struct tcp_listener *l) { l->closed = true; }
struct tcp_conn *tcp_accept(struct tcp_listener *l)
{
	return l->n ? l->queue[--l->n] : NULL;
}
void tcp_listener_set_user(struct tcp_listener *l, void *u) { l->user = u; }
void *tcp_listener_user(const struct tcp_listener *l) { return l->user; }
int tcp_connect(struct tcp_stack *s, const struct tcp_endpoint *l, const struct tcp_endpoint *r,
		const struct tcp_options *o, struct tcp_conn **out)
{
	g_conn = new_conn();
	g_conn->local = *l;
	g_conn->remote = *r;
	*out = g_conn;
	return 0;
}
long tcp_send(struct tcp_conn *c, const void *d, size_t l)
{
	if (c->shut || c->closed)
		return -EPIPE;
	size_t n = l < c->space ? l : c->space;
	memcpy(c->sent + c->sent_len, d, n);
	c->sent_len += n;
	c->space -= n;
	return (long)n;
}
size_t tcp_recv(struct tcp_conn *c, void *b, size_t l, bool *eof)
{
	size_t n = c->in_len - c->in_off;
	if (n > l)
		n = l;
	memcpy(b, c->in + c->in_off, n);
	c->in_off += n;
	*eof = c->fin_in && c->in_off == c->in_len;
	return n;
}
size_t tcp_send_space(const struct tcp_conn *c) { return c->space; }
void tcp_shutdown_send(struct tcp_conn *c) { c->shut = true; }
void tcp_close(struct tcp_conn *c) { c->closed = true; }
void tcp_abort(struct tcp_conn *c) { c->aborted = true; }
void tcp_release(struct tcp_conn *c) { c->released = true; }
void tcp_set_options(struct tcp_conn *c, const struct tcp_options *o) {}
void tcp_conn_set_user(struct tcp_conn *c, void *u) { c->user = u; }
void *tcp_conn_user(const struct tcp_conn *c) { return c->user; }
void tcp_conn_endpoints(const struct tcp_conn *c, struct tcp_endpoint *l, struct tcp_endpoint *r)
{
	*l = c->local;
	*r = c->remote;
}
/* What sock_inet_diag.c (ss) asks. */
enum tcp_state tcp_conn_state(const struct tcp_conn *c) { return TCP_ESTABLISHED; }
size_t tcp_recv_available(const struct tcp_conn *c) { return 0; }
void tcp_listener_queue(const struct tcp_listener *l, unsigned *q, unsigned *bl) { *q = *bl = 0; }

/* ---- environment: sockenv.h's fake interface behind a real router ---- */

static int setup(void **state)
{
	static const char *const addrs[] = { "172.20.0.1/32", "fd42::1/64", NULL };
	*state = sockenv_new(addrs);
	g_conn = NULL;
	g_lis = NULL;
	return 0;
}

static int teardown(void **state)
{
	sockenv_teardown(state);
	fake_free_all();
	return 0;
}

static short poll_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT };
	assert_true(poll(&p, 1, 0) >= 0);
	return p.revents;
}

/* A connect to 172.20.0.2:80; returns the app's fd (non-blocking) and the socket id. */
static int do_connect(struct env *e, int32_t *id)
{
	struct shim_req req = { .op = SHIM_OP_CONNECT, .sock_id = -1, .family = AF_INET,
				.type = SOCK_STREAM };
	sockenv_addr(&req.addr, "172.20.0.2", 80, 0);
	struct shim_rep rep;
	int fd;
	assert_int_equal(rpc(e, &req, &rep, &fd), 0);
	assert_true(fd >= 0);
	assert_non_null(g_conn);
	assert_int_equal(rep.peer.port, 80);
	assert_true(rep.local.port >= 32768);   /* implicit bind: an ephemeral port */
	char src[16];
	inet_ntop(AF_INET, rep.local.addr, src, sizeof(src));
	assert_string_equal(src, "172.20.0.1");
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	*id = rep.sock_id;
	return fd;
}

static int status(struct env *e, int32_t id)
{
	struct shim_req req = { .op = SHIM_OP_STATUS, .sock_id = id };
	struct shim_rep rep;
	int fd;
	rpc(e, &req, &rep, &fd);
	return rep.err;
}

static void test_connect_then_data(void **state)
{
	struct env *e = *state;
	int32_t id;
	int fd = do_connect(e, &id);
	/* handshake in progress: the app must not see POLLOUT (nor POLLIN) */
	assert_int_equal(poll_now(fd) & (POLLOUT | POLLIN), 0);
	g_stack->ops->on_connected(g_stack->ctx, g_conn, 0);
	spin(e);
	assert_true(poll_now(fd) & POLLOUT);
	assert_int_equal(status(e, id), 0);

	/* app -> TCP */
	assert_int_equal(write(fd, "hello", 5), 5);
	spin(e);
	assert_int_equal(g_conn->sent_len, 5);   /* the filler never reaches TCP */
	assert_memory_equal(g_conn->sent, "hello", 5);

	/* TCP -> app */
	memcpy(g_conn->in, "world", 5);
	g_conn->in_len = 5;
	g_stack->ops->on_readable(g_stack->ctx, g_conn);
	spin(e);
	char buf[16];
	assert_int_equal(read(fd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "world", 5);

	/* half-close from the app: FIN to TCP, and we can still read */
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	spin(e);
	assert_true(g_conn->shut);
	assert_false(g_conn->closed);
	memcpy(g_conn->in + 5, "!", 1);
	g_conn->in_len = 6;
	g_conn->fin_in = true;
	g_stack->ops->on_readable(g_stack->ctx, g_conn);
	spin(e);
	assert_int_equal(read(fd, buf, sizeof(buf)), 1);
	assert_int_equal(read(fd, buf, sizeof(buf)), 0);   /* the peer's FIN */

	/* close: the engine gets tcp_close and the socket is gone */
	struct tcp_conn *c = g_conn;
	close(fd);
	spin(e);
	assert_true(c->closed);
	assert_false(c->aborted);
	assert_int_equal(sock_layer_stats(e->sl)->sockets, 0);
}

static void test_connect_refused(void **state)
{
	struct env *e = *state;
	int32_t id;
	int fd = do_connect(e, &id);
	g_stack->ops->on_connected(g_stack->ctx, g_conn, ECONNREFUSED);
	spin(e);
	short ev = poll_now(fd);
	assert_true(ev & POLLOUT);            /* select/poll wake up ... */
	assert_true(ev & POLLHUP);
	assert_int_equal(status(e, id), ECONNREFUSED);   /* ... and SO_ERROR says why */
	assert_int_equal(status(e, id), 0);              /* reading it clears it */
	g_stack->ops->on_closed(g_stack->ctx, g_conn, ECONNREFUSED);
	close(fd);
	struct shim_req req = { .op = SHIM_OP_CLOSE, .sock_id = id };
	assert_int_equal(send(e->ctl, &req, sizeof(req), 0), sizeof(req));
	spin(e);
	assert_int_equal(sock_layer_stats(e->sl)->sockets, 0);
}

/*
 * The app closes a socket whose connect is still in progress (a BGP daemon giving up on a peer
 * that does not answer): like Linux, the attempt is dropped at once, not when the SYNs time out.
 */
static void test_close_while_connecting(void **state)
{
	struct env *e = *state;
	int32_t id;
	int fd = do_connect(e, &id);
	struct tcp_conn *c = g_conn;
	spin(e);
	assert_false(c->aborted);
	close(fd);
	spin(e);
	assert_true(c->aborted);
	assert_int_equal(sock_layer_stats(e->sl)->sockets, 0);
	assert_int_equal(status(e, id), 0);   /* gone, nothing pending */
}

static void test_backpressure(void **state)
{
	struct env *e = *state;
	int32_t id;
	int fd = do_connect(e, &id);
	g_stack->ops->on_connected(g_stack->ctx, g_conn, 0);
	spin(e);
	g_conn->space = 10;
	uint8_t data[1000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	assert_int_equal(write(fd, data, sizeof(data)), sizeof(data));
	spin(e);
	assert_int_equal(g_conn->sent_len, 10);   /* no more than the engine took */
	g_conn->space = 100000;
	g_stack->ops->on_writable(g_stack->ctx, g_conn);
	spin(e);
	assert_int_equal(g_conn->sent_len, sizeof(data));
	assert_memory_equal(g_conn->sent, data, sizeof(data));

	/* TCP -> a reader that does not read: we stop taking from the engine */
	int small = 4096;
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	g_conn->in_len = sizeof(g_conn->in);
	memset(g_conn->in, 'z', sizeof(g_conn->in));
	g_stack->ops->on_readable(g_stack->ctx, g_conn);
	spin(e);
	assert_true(g_conn->in_off < g_conn->in_len);   /* the rest stays in TCP's buffer */
	size_t total = 0;
	char buf[8192];
	for (int i = 0; i < 1000 && total < sizeof(g_conn->in); i++) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0)
			total += (size_t)n;
		spin(e);
	}
	assert_int_equal(total, sizeof(g_conn->in));
	close(fd);
	spin(e);
}

static void test_peer_reset(void **state)
{
	struct env *e = *state;
	int32_t id;
	int fd = do_connect(e, &id);
	g_stack->ops->on_connected(g_stack->ctx, g_conn, 0);
	spin(e);
	struct tcp_conn *c = g_conn;
	g_stack->ops->on_closed(g_stack->ctx, c, ECONNRESET);
	spin(e);
	assert_true(c->released);
	char buf[4];
	assert_int_equal(read(fd, buf, sizeof(buf)), 0);   /* the app sees the end */
	assert_int_equal(sock_layer_stats(e->sl)->sockets, 0);
	close(fd);
}

static void test_listen_accept(void **state)
{
	struct env *e = *state;
	struct shim_req req = { .op = SHIM_OP_BIND, .sock_id = -1, .family = AF_INET,
				.type = SOCK_STREAM };
	sockenv_addr(&req.addr, "172.20.0.1", 179, 0);
	struct shim_rep rep;
	int lfd;
	assert_int_equal(rpc(e, &req, &rep, &lfd), 0);
	assert_int_equal(lfd, -1);   /* a bound TCP socket has no data fd yet */
	struct shim_req l = { .op = SHIM_OP_LISTEN, .sock_id = rep.sock_id, .arg = 8 };
	assert_int_equal(rpc(e, &l, &rep, &lfd), 0);
	assert_true(lfd >= 0);
	assert_non_null(g_lis);
	assert_int_equal(g_lis->local.port, 179);
	assert_int_equal(poll_now(lfd) & POLLIN, 0);

	struct tcp_conn *c = new_conn();
	c->local = g_lis->local;
	c->remote.addr.family = AF_INET;
	inet_pton(AF_INET, "172.20.0.2", c->remote.addr.bytes);
	c->remote.port = 40000;
	g_lis->queue[g_lis->n++] = c;
	g_stack->ops->on_accept_ready(g_stack->ctx, g_lis);
	spin(e);
	assert_true(poll_now(lfd) & POLLIN);   /* accept() would not block */

	struct shim_accept_msg m;
	int cfd;
	assert_int_equal(tl_shim_recv(lfd, &m, sizeof(m), &cfd), sizeof(m));
	assert_true(cfd >= 0);
	assert_int_equal(m.peer.port, 40000);
	assert_int_equal(m.local.port, 179);
	assert_int_equal(write(cfd, "open", 4), 4);
	spin(e);
	assert_int_equal(c->sent_len, 4);

	close(lfd);
	spin(e);
	assert_true(g_lis->closed);   /* closing the listening fd stops listening */
	close(cfd);
	spin(e);
	assert_true(c->closed);
	assert_int_equal(sock_layer_stats(e->sl)->sockets, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_connect_then_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_while_connecting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listen_accept, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
/* sock_tcp_opt.c's engine calls (TCP_MD5SIG, TCP_INFO): inert here too */
int tcp_listener_set_md5(struct tcp_listener *l, const struct tcp_md5_keyset *ks) { return 0; }
void tcp_conn_info(const struct tcp_conn *c, struct tcp_conn_info *out) { memset(out, 0, sizeof(*out)); }
