/*
 * Two socket layers back to back over the real TCP engine: router 1
 * (172.20.0.1) connects to a listener on router 2 (172.20.0.2), each behind
 * a fake interface whose output is the other's input. What the apps see is
 * checked on the socketpair ends, as librrshim.so would use them:
 * non-blocking connect, accept channel, 1 MB each way intact, close -> EOF,
 * and every socket freed afterwards.
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
#include "testlib.h"

struct side {
	struct ip_router router;
	struct netif nif;
	struct ip_prefix addr;
	struct pbuf_queue out;
	struct sock_layer *sl;
	int ctl;
};

static struct loop g_loop;
static struct side g_side[2];

static void out_cb(struct netif *nif, struct pbuf *b, const struct ip_addr *nh)
{
	struct side *s = container_of(nif, struct side, nif);
	pbuf_queue_push(&s->out, b);
}
static const struct netif_ops ops = { .output = out_cb };

static void side_init(struct side *s, const char *me, const char *peer)
{
	assert_int_equal(ip_router_init(&s->router, &g_loop), 0);
	snprintf(s->nif.name, sizeof(s->nif.name), "wg0");
	s->nif.mtu = 1420;
	s->nif.ops = &ops;
	assert_int_equal(ip_prefix_parse(me, &s->addr), 0);
	s->nif.addrs = &s->addr;
	s->nif.n_addrs = 1;
	assert_int_equal(ip_router_add_netif(&s->router, &s->nif), 0);
	struct fib_route rt = { .type = FIB_TYPE_UNICAST, .ifindex = s->nif.ifindex };
	assert_int_equal(ip_prefix_parse(peer, &rt.prefix), 0);
	assert_int_equal(fib_add(s->router.fib, &rt, 0), 0);
	pbuf_queue_init(&s->out);
	s->sl = sock_layer_new(&g_loop, &s->router);
	assert_non_null(s->sl);
	ip_router_set_local_handler(&s->router, sock_layer_input, s->sl);
	s->ctl = tl_shim_client(s->sl);
}

static int setup(void **state)
{
	assert_int_equal(loop_init(&g_loop), 0);
	side_init(&g_side[0], "172.20.0.1/32", "172.20.0.2/32");
	side_init(&g_side[1], "172.20.0.2/32", "172.20.0.1/32");
	return 0;
}

static int teardown(void **state)
{
	for (int i = 0; i < 2; i++) {
		close(g_side[i].ctl);
		sock_layer_free(g_side[i].sl);
		pbuf_queue_purge(&g_side[i].out);
		ip_router_free(&g_side[i].router);
	}
	loop_free(&g_loop);
	return 0;
}

/* One round of the loop, then the wire: each side's output into the other. */
static void spin(void)
{
	loop_run_once(&g_loop, 1);
	for (int i = 0; i < 2; i++) {
		struct pbuf *b;
		while ((b = pbuf_queue_pop(&g_side[i].out)))
			netif_input(&g_side[!i].nif, b);
	}
}

/* A request (with len bytes of data after it), its reply; out gets the reply's data. */
static int rpc_data(struct side *s, const struct shim_req *req, const void *data, size_t len,
		    struct shim_rep *rep, int *fd, void *out, size_t cap)
{
	uint8_t msg[sizeof(*req) + SHIM_REQ_DATA_MAX];
	memcpy(msg, req, sizeof(*req));
	if (len)
		memcpy(msg + sizeof(*req), data, len);
	assert_int_equal(send(s->ctl, msg, sizeof(*req) + len, 0), (ssize_t)(sizeof(*req) + len));
	uint8_t buf[sizeof(*rep) + 512];
	ssize_t n = -1;
	for (int i = 0; i < 100 && n < 0; i++) {
		spin();
		n = tl_shim_recv(s->ctl, buf, sizeof(buf), fd);
	}
	assert_true(n >= (ssize_t)sizeof(*rep));
	memcpy(rep, buf, sizeof(*rep));
	if (out)
		memcpy(out, buf + sizeof(*rep), (size_t)n - sizeof(*rep) < cap ? (size_t)n - sizeof(*rep) : cap);
	return rep->err;
}

static int rpc(struct side *s, const struct shim_req *req, struct shim_rep *rep, int *fd)
{
	return rpc_data(s, req, NULL, 0, rep, fd, NULL, 0);
}

static bool ready(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };
	return poll(&p, 1, 0) > 0 && (p.revents & ev);
}

/* Moves len bytes from wfd to rfd through both stacks; true if they arrived intact. */
static bool transfer(int wfd, int rfd, size_t len)
{
	uint8_t *src = malloc(len), *dst = malloc(len);
	for (size_t i = 0; i < len; i++)
		src[i] = (uint8_t)(i * 7 + (i >> 9));
	size_t sent = 0, got = 0;
	for (int rounds = 0; rounds < 200000 && got < len; rounds++) {
		if (sent < len) {
			ssize_t n = write(wfd, src + sent, len - sent > 65536 ? 65536 : len - sent);
			if (n > 0)
				sent += (size_t)n;
		}
		ssize_t n = read(rfd, dst + got, len - got);
		if (n > 0)
			got += (size_t)n;
		spin();
	}
	bool same = got == len && memcmp(src, dst, len) == 0;
	free(src);
	free(dst);
	return same;
}

/* A listener on side 1 at 172.20.0.2:179; returns its fd, *addr its address and *id its socket id. */
static int listen_bgp(struct shim_addr *addr, int32_t *id)
{
	struct shim_rep rep;
	int lfd;
	struct shim_req b = { .op = SHIM_OP_BIND, .sock_id = -1, .family = AF_INET,
			      .type = SOCK_STREAM };
	b.addr.family = AF_INET;
	inet_pton(AF_INET, "172.20.0.2", b.addr.addr);
	b.addr.port = 179;
	assert_int_equal(rpc(&g_side[1], &b, &rep, &lfd), 0);
	*id = rep.sock_id;
	struct shim_req l = { .op = SHIM_OP_LISTEN, .sock_id = *id, .arg = 4 };
	assert_int_equal(rpc(&g_side[1], &l, &rep, &lfd), 0);
	assert_true(lfd >= 0);
	*addr = b.addr;
	return lfd;
}

static void test_connect_accept_transfer_close(void **state)
{
	struct shim_rep rep;
	int cfd, afd;
	struct shim_addr laddr;
	int32_t lid;
	int lfd = listen_bgp(&laddr, &lid);

	struct shim_req c = { .op = SHIM_OP_CONNECT, .sock_id = -1, .family = AF_INET,
			      .type = SOCK_STREAM };
	c.addr = laddr;
	c.opts.nodelay = 1;
	assert_int_equal(rpc(&g_side[0], &c, &rep, &cfd), 0);
	assert_true(cfd >= 0);
	int32_t cid = rep.sock_id;
	assert_int_equal(fcntl(cfd, F_SETFL, O_NONBLOCK), 0);
	for (int i = 0; i < 1000 && !ready(cfd, POLLOUT); i++)
		spin();
	assert_true(ready(cfd, POLLOUT));
	struct shim_req st = { .op = SHIM_OP_STATUS, .sock_id = cid };
	assert_int_equal(rpc(&g_side[0], &st, &rep, &afd), 0);
	assert_int_equal(rep.val, 1);   /* connected */

	for (int i = 0; i < 1000 && !ready(lfd, POLLIN); i++)
		spin();
	struct shim_accept_msg m;
	assert_int_equal(tl_shim_recv(lfd, &m, sizeof(m), &afd), sizeof(m));
	assert_true(afd >= 0);
	assert_int_equal(fcntl(afd, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(m.local.port, 179);
	char peer[16];
	inet_ntop(AF_INET, m.peer.addr, peer, sizeof(peer));
	assert_string_equal(peer, "172.20.0.1");

	assert_true(transfer(cfd, afd, 1 << 20));
	assert_true(transfer(afd, cfd, 1 << 20));

	close(cfd);
	char buf[16];
	ssize_t n = -1;
	for (int i = 0; i < 1000 && n != 0; i++) {
		n = read(afd, buf, sizeof(buf));
		spin();
	}
	assert_int_equal(n, 0);   /* the FIN reached the other app as EOF */
	close(afd);
	close(lfd);
	for (int i = 0; i < 100; i++)
		spin();
	assert_int_equal(sock_layer_stats(g_side[0].sl)->sockets, 0);
	assert_int_equal(sock_layer_stats(g_side[1].sl)->sockets, 0);
}

static void test_refused(void **state)
{
	struct shim_rep rep;
	int cfd, none;
	struct shim_req c = { .op = SHIM_OP_CONNECT, .sock_id = -1, .family = AF_INET,
			      .type = SOCK_STREAM };
	c.addr.family = AF_INET;
	inet_pton(AF_INET, "172.20.0.2", c.addr.addr);
	c.addr.port = 81;   /* nothing listens: RST */
	assert_int_equal(rpc(&g_side[0], &c, &rep, &cfd), 0);
	int32_t id = rep.sock_id;
	for (int i = 0; i < 1000 && !ready(cfd, POLLOUT); i++)
		spin();
	assert_true(ready(cfd, POLLOUT | POLLHUP));
	struct shim_req st = { .op = SHIM_OP_STATUS, .sock_id = id };
	assert_int_equal(rpc(&g_side[0], &st, &rep, &none), ECONNREFUSED);
	close(cfd);
}

/* SHIM_OP_TCP_MD5 from side, for sock_id (-1: a new socket); returns the reply's sock_id. */
static int32_t set_key(struct side *sd, int32_t id, const char *peer, const char *key, int want_err)
{
	struct shim_req r = { .op = SHIM_OP_TCP_MD5, .sock_id = id, .family = AF_INET,
			      .type = SOCK_STREAM };
	struct shim_tcp_md5 m = { .prefixlen = 32, .keylen = (uint8_t)strlen(key) };
	m.peer.family = AF_INET;
	inet_pton(AF_INET, peer, m.peer.addr);
	memcpy(m.key, key, strlen(key));
	struct shim_rep rep;
	int none;
	assert_int_equal(rpc_data(sd, &r, &m, sizeof(m), &rep, &none, NULL, 0), want_err);
	return rep.sock_id;
}

/*
 * BGP passwords through the socket layer, as BIRD sets them: the listener
 * gets its key after listen(), the client before connect() (rrouted creates
 * that socket unbound). A client with the wrong key never connects.
 */
static void test_md5_keys(void **state)
{
	struct shim_rep rep;
	int cfd, none;
	struct shim_addr laddr;
	int32_t lid;
	int lfd = listen_bgp(&laddr, &lid);
	assert_int_equal(set_key(&g_side[1], lid, "172.20.0.1", "bgp-pw", 0), lid);
	/* deleting a key that is not there: ENOENT, as Linux */
	struct shim_req d = { .op = SHIM_OP_TCP_MD5, .sock_id = lid, .family = AF_INET };
	struct shim_tcp_md5 m = { .prefixlen = 32 };
	m.peer.family = AF_INET;
	inet_pton(AF_INET, "172.20.0.9", m.peer.addr);
	assert_int_equal(rpc_data(&g_side[1], &d, &m, sizeof(m), &rep, &none, NULL, 0), ENOENT);

	/* the wrong key: the SYN is dropped, no connection */
	int32_t bad = set_key(&g_side[0], -1, "172.20.0.2", "not-the-pw", 0);
	assert_true(bad >= 0);
	struct shim_req c = { .op = SHIM_OP_CONNECT, .sock_id = bad, .family = AF_INET,
			      .type = SOCK_STREAM };
	c.addr = laddr;
	int bfd;
	assert_int_equal(rpc(&g_side[0], &c, &rep, &bfd), 0);
	assert_int_equal(rep.sock_id, bad);   /* the socket the key was set on */
	for (int i = 0; i < 300; i++)
		spin();
	struct shim_req st = { .op = SHIM_OP_STATUS, .sock_id = bad };
	assert_int_equal(rpc(&g_side[0], &st, &rep, &none), 0);
	assert_int_equal(rep.val, 0);   /* not connected */
	assert_false(ready(lfd, POLLIN));
	close(bfd);

	/* the right key, set before connect: a TCP_USER_TIMEOUT too, then TCP_INFO */
	int32_t cid = set_key(&g_side[0], -1, "172.20.0.2", "bgp-pw", 0);
	struct shim_req ut = { .op = SHIM_OP_TCP_SETOPT, .sock_id = cid, .type = 18 /* TCP_USER_TIMEOUT */,
			       .arg = 5000 };
	assert_int_equal(rpc(&g_side[0], &ut, &rep, &none), 0);
	c.sock_id = cid;
	assert_int_equal(rpc(&g_side[0], &c, &rep, &cfd), 0);
	assert_int_equal(fcntl(cfd, F_SETFL, O_NONBLOCK), 0);
	for (int i = 0; i < 1000 && !ready(cfd, POLLOUT); i++)
		spin();
	st.sock_id = cid;
	assert_int_equal(rpc(&g_side[0], &st, &rep, &none), 0);
	assert_int_equal(rep.val, 1);
	for (int i = 0; i < 1000 && !ready(lfd, POLLIN); i++)
		spin();
	struct shim_accept_msg am;
	int afd;
	assert_int_equal(tl_shim_recv(lfd, &am, sizeof(am), &afd), sizeof(am));
	assert_true(afd >= 0);
	assert_int_equal(fcntl(afd, F_SETFL, O_NONBLOCK), 0);
	assert_true(transfer(cfd, afd, 100000));
	assert_true(transfer(afd, cfd, 100000));
	struct shim_req gi = { .op = SHIM_OP_TCP_GETOPT, .sock_id = cid, .type = 11 /* TCP_INFO */ };
	uint8_t ti[512] = { 0 };
	assert_int_equal(rpc_data(&g_side[0], &gi, NULL, 0, &rep, &none, ti, sizeof(ti)), 0);
	assert_true(rep.data_len >= 160);
	assert_int_equal(ti[0], 1);   /* TCP_ESTABLISHED */
	uint64_t acked, received;
	memcpy(&acked, ti + 120, 8);
	memcpy(&received, ti + 128, 8);
	assert_int_equal(acked, 100000);
	assert_int_equal(received, 100000);
	struct shim_req gu = { .op = SHIM_OP_TCP_GETOPT, .sock_id = cid, .type = 18 };
	assert_int_equal(rpc(&g_side[0], &gu, &rep, &none), 0);
	assert_int_equal(rep.val, 5000);
	/* data only ever takes a request that accepts it */
	struct shim_req bogus = { .op = SHIM_OP_STATUS, .sock_id = cid };
	uint8_t junk[8] = { 0 };
	uint8_t msg[sizeof(bogus) + sizeof(junk)];
	memcpy(msg, &bogus, sizeof(bogus));
	memcpy(msg + sizeof(bogus), junk, sizeof(junk));
	assert_int_equal(send(g_side[0].ctl, msg, sizeof(msg), 0), (ssize_t)sizeof(msg));
	for (int i = 0; i < 20; i++)
		spin();
	assert_int_equal(sock_layer_stats(g_side[0].sl)->clients, 0);   /* dropped as malformed */
	close(cfd);
	close(afd);
	close(lfd);
	for (int i = 0; i < 100; i++)
		spin();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_connect_accept_transfer_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_md5_keys, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
