/*
 * The socket layer (stack/sock*.c) with a fake interface behind a real
 * ip_router: the shim protocol over a socketpair, UDP bind/connect/demux,
 * ephemeral ports, EADDRINUSE, link-local scope, ICMP echo sockets, socket
 * lifetimes. TCP is covered by test_sock_tcp.c with the real engine; here the
 * engine is replaced by the inert stand-ins at the end of this file (the
 * linker then never pulls stack/tcp.o).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/loop.h"
#include "ip/checksum.h"
#include "ip/fib.h"
#include "ip/router.h"
#include "stack/shim_proto.h"
#include "stack/sock.h"
#include "stack/tcp.h"
#include "testlib.h"

#include "sockenv.h"

/* Binds a datagram socket; returns rep.err and the data fd / id / port in outs. */
static int bind_dgram(struct env *e, int family, int proto, const char *addr, uint16_t port,
		      bool reuse, int *fd, struct shim_rep *rep)
{
	struct shim_req req = { .op = SHIM_OP_BIND, .sock_id = -1, .family = family,
				.type = SOCK_DGRAM, .protocol = proto };
	req.opts.reuseaddr = reuse;
	sockenv_addr(&req.addr, addr, port, strncmp(addr, "fe80", 4) == 0 ? e->nif.ifindex : 0);
	return rpc(e, &req, rep, fd);
}

/* A UDP/IPv4 packet as a peer would send it, into the router through the fake interface. */
static void inject_udp4(struct env *e, const char *src, uint16_t sport, const char *dst,
			uint16_t dport, const char *payload)
{
	uint8_t udp[8 + 512];
	size_t plen = strlen(payload), ulen = 8 + plen;
	assert_true(ulen <= sizeof(udp));
	struct ip_addr s = ipa(src), d = ipa(dst);
	struct udphdr u = { .source = htons(sport), .dest = htons(dport), .len = htons((uint16_t)ulen) };
	memcpy(udp, &u, 8);
	memcpy(udp + 8, payload, plen);
	uint16_t ck = csum_fold(csum_partial(udp, ulen, csum_pseudo_v4(s.bytes, d.bytes, IPPROTO_UDP,
								       (uint32_t)ulen)));
	memcpy(udp + 6, &ck, 2);
	sockenv_inject_ipv4(e, src, dst, 63, IPPROTO_UDP, udp, ulen);
}

static void test_udp_bind_rules(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	int a = -1, b = -1, c = -1;
	assert_int_equal(bind_dgram(e, AF_INET, 0, "172.20.0.1", 5000, false, &a, &rep), 0);
	assert_true(a >= 0);
	assert_int_equal(rep.local.port, 5000);
	/* same address and port */
	assert_int_equal(bind_dgram(e, AF_INET, 0, "172.20.0.1", 5000, false, &b, &rep), EADDRINUSE);
	/* the wildcard overlaps every address */
	assert_int_equal(bind_dgram(e, AF_INET, 0, "0.0.0.0", 5000, false, &b, &rep), EADDRINUSE);
	/* not one of the router's addresses */
	assert_int_equal(bind_dgram(e, AF_INET, 0, "172.20.0.9", 5001, false, &b, &rep),
			 EADDRNOTAVAIL);
	/* another port is free; the other family too */
	assert_int_equal(bind_dgram(e, AF_INET6, 0, "fd42::1", 5000, false, &b, &rep), 0);
	close(b);
	/* SO_REUSEADDR on both shares the port */
	assert_int_equal(bind_dgram(e, AF_INET, 0, "0.0.0.0", 5002, true, &b, &rep), 0);
	assert_int_equal(bind_dgram(e, AF_INET, 0, "172.20.0.1", 5002, true, &c, &rep), 0);
	close(b);
	close(c);
	/* port 0: ephemeral, inside 32768..60999, two binds get two ports */
	assert_int_equal(bind_dgram(e, AF_INET, 0, "0.0.0.0", 0, false, &b, &rep), 0);
	uint16_t p1 = rep.local.port;
	assert_int_equal(bind_dgram(e, AF_INET, 0, "0.0.0.0", 0, false, &c, &rep), 0);
	uint16_t p2 = rep.local.port;
	assert_true(p1 >= 32768 && p1 <= 60999);
	assert_true(p2 >= 32768 && p2 <= 60999);
	assert_int_not_equal(p1, p2);
	close(a);
	close(b);
	close(c);
	spin(e);
	/* every data fd closed: every socket gone, and the port free again */
	assert_int_equal(sock_layer_stats(e->sl)->sockets, 0);
	assert_int_equal(bind_dgram(e, AF_INET, 0, "172.20.0.1", 5000, false, &a, &rep), 0);
	close(a);
	spin(e);
}

static void test_udp_send(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	int fd;
	assert_int_equal(bind_dgram(e, AF_INET, 0, "0.0.0.0", 4000, false, &fd, &rep), 0);
	sockenv_send_dgram(fd, "172.20.0.2", 53, 0, "hello", 5);
	spin(e);
	struct pbuf *b = sockenv_pop_sent(e);
	uint8_t *p = pbuf_data(b);
	assert_int_equal(b->len, 20 + 8 + 5);
	struct iphdr ip;
	memcpy(&ip, p, 20);
	assert_int_equal(ip.protocol, IPPROTO_UDP);
	assert_int_equal(csum_fold(csum_partial(p, 20, 0)), 0);
	char src[16];
	inet_ntop(AF_INET, &ip.saddr, src, sizeof(src));
	assert_string_equal(src, "172.20.0.1");   /* the router chose the source */
	struct udphdr u;
	memcpy(&u, p + 20, 8);
	assert_int_equal(ntohs(u.source), 4000);
	assert_int_equal(ntohs(u.dest), 53);
	assert_int_equal(csum_fold(csum_partial(p + 20, 13, csum_pseudo_v4(&ip.saddr, &ip.daddr,
									     IPPROTO_UDP, 13))), 0);
	assert_memory_equal(p + 28, "hello", 5);
	pbuf_free(b);
	/* no route to the destination: nothing leaves */
	sockenv_send_dgram(fd, "10.9.9.9", 53, 0, "x", 1);
	spin(e);
	assert_null(pbuf_queue_pop(&e->out));
	close(fd);
	spin(e);
}

static void test_udp_demux(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	int wild, conn;
	assert_int_equal(bind_dgram(e, AF_INET, 0, "0.0.0.0", 6000, true, &wild, &rep), 0);
	assert_int_equal(bind_dgram(e, AF_INET, 0, "172.20.0.1", 6000, true, &conn, &rep), 0);
	struct shim_req req = { .op = SHIM_OP_CONNECT, .sock_id = rep.sock_id, .family = AF_INET,
				.type = SOCK_DGRAM };
	sockenv_addr(&req.addr, "172.20.0.2", 7000, 0);
	assert_int_equal(rpc(e, &req, &rep, NULL), 0);
	assert_int_equal(rep.peer.port, 7000);

	struct shim_dgram_hdr h;
	char buf[64];
	inject_udp4(e, "172.20.0.2", 7000, "172.20.0.1", 6000, "to-conn");
	assert_int_equal(recv_dgram(conn, &h, buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "to-conn", 7);
	assert_int_equal(h.peer.port, 7000);
	assert_int_equal(h.ttl, 63);
	assert_int_equal(recv_dgram(wild, &h, buf, sizeof(buf)), -1);

	inject_udp4(e, "172.20.0.2", 7001, "172.20.0.1", 6000, "to-wild");
	assert_int_equal(recv_dgram(wild, &h, buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "to-wild", 7);
	assert_int_equal(recv_dgram(conn, &h, buf, sizeof(buf)), -1);

	/* a closed port: the router answers ICMP port unreachable (3/3) */
	inject_udp4(e, "172.20.0.2", 7000, "172.20.0.1", 6001, "nobody");
	struct pbuf *b = sockenv_pop_sent(e);
	assert_int_equal(pbuf_data(b)[9], IPPROTO_ICMP);
	assert_int_equal(pbuf_data(b)[20], 3);
	assert_int_equal(pbuf_data(b)[21], 3);
	pbuf_free(b);
	close(wild);
	close(conn);
	spin(e);
}

static void test_udp_link_local(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	int fd;
	/* link-local without an interface: EINVAL, as on Linux */
	struct shim_req req = { .op = SHIM_OP_BIND, .sock_id = -1, .family = AF_INET6,
				.type = SOCK_DGRAM };
	sockenv_addr(&req.addr, "fe80::1", 521, 0);
	assert_int_equal(rpc(e, &req, &rep, NULL), EINVAL);
	assert_int_equal(bind_dgram(e, AF_INET6, 0, "fe80::1", 521, false, &fd, &rep), 0);
	assert_int_equal(rep.local.scope_id, e->nif.ifindex);
	sockenv_send_dgram(fd, "fe80::2", 521, e->nif.ifindex, "ll", 2);
	spin(e);
	struct pbuf *b = sockenv_pop_sent(e);
	struct ip6_hdr ip6;
	memcpy(&ip6, pbuf_data(b), sizeof(ip6));
	char src[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, &ip6.ip6_src, src, sizeof(src));
	assert_string_equal(src, "fe80::1");
	assert_int_equal(ip6.ip6_nxt, IPPROTO_UDP);
	/* IPv6 UDP checksum is mandatory and must verify */
	assert_int_equal(csum_fold(csum_partial(pbuf_data(b) + 40, 10,
						csum_pseudo_v6(&ip6.ip6_src, &ip6.ip6_dst,
							       IPPROTO_UDP, 10))), 0);
	pbuf_free(b);
	close(fd);
	spin(e);
}

static void test_icmp_echo_socket(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	int fd;
	assert_int_equal(bind_dgram(e, AF_INET, IPPROTO_ICMP, "0.0.0.0", 0, false, &fd, &rep), 0);
	uint16_t id = rep.local.port;
	assert_int_not_equal(id, 0);
	uint8_t echo[16] = { ICMP_ECHO, 0, 0, 0, 0x12, 0x34, 0, 7, 'p', 'i', 'n', 'g' };
	sockenv_send_dgram(fd, "172.20.0.2", 0, 0, echo, sizeof(echo));
	spin(e);
	struct pbuf *b = sockenv_pop_sent(e);
	uint8_t *icmp = pbuf_data(b) + 20;
	assert_int_equal(b->len, 20 + 16);
	assert_int_equal(icmp[0], ICMP_ECHO);
	assert_int_equal((icmp[4] << 8) | icmp[5], id);   /* the identifier is the socket's */
	assert_int_equal((icmp[6] << 8) | icmp[7], 7);
	assert_int_equal(csum_fold(csum_partial(icmp, 16, 0)), 0);

	/* The peer's reply comes back: same packet with addresses swapped, type 0. */
	uint8_t *p = pbuf_data(b);
	uint8_t tmp[4];
	memcpy(tmp, p + 12, 4);
	memcpy(p + 12, p + 16, 4);
	memcpy(p + 16, tmp, 4);
	p[10] = p[11] = 0;
	uint16_t ck = csum_fold(csum_partial(p, 20, 0));
	memcpy(p + 10, &ck, 2);
	icmp[0] = ICMP_ECHOREPLY;
	icmp[2] = icmp[3] = 0;
	ck = csum_fold(csum_partial(icmp, 16, 0));
	memcpy(icmp + 2, &ck, 2);
	struct pbuf *other = pbuf_alloc();   /* a copy with another identifier */
	memcpy(pbuf_put(other, b->len), p, b->len);
	netif_input(&e->nif, b);
	spin(e);
	struct shim_dgram_hdr h;
	char buf[64];
	assert_int_equal(recv_dgram(fd, &h, buf, sizeof(buf)), 16);
	assert_int_equal((uint8_t)buf[0], ICMP_ECHOREPLY);
	assert_memory_equal(buf + 8, "ping", 4);

	uint8_t *oi = pbuf_data(other) + 20;
	oi[5] ^= 0xff;   /* identifier changed... */
	oi[2] = oi[3] = 0;
	ck = csum_fold(csum_partial(oi, 16, 0));
	memcpy(oi + 2, &ck, 2);   /* ...with a valid checksum: still not ours */
	netif_input(&e->nif, other);
	spin(e);
	assert_int_equal(recv_dgram(fd, &h, buf, sizeof(buf)), -1);

	/* only echo requests may be sent */
	uint8_t bad[8] = { ICMP_TIMESTAMP, 0 };
	sockenv_send_dgram(fd, "172.20.0.2", 0, 0, bad, sizeof(bad));
	spin(e);
	assert_null(pbuf_queue_pop(&e->out));
	close(fd);
	spin(e);
}

static void test_iflist_and_client_close(void **state)
{
	struct env *e = *state;
	struct shim_req req = { .op = SHIM_OP_IFLIST, .sock_id = -1 };
	assert_int_equal(send(e->ctl, &req, sizeof(req), 0), sizeof(req));
	spin(e);
	uint8_t buf[sizeof(struct shim_rep) + SHIM_MSG_MAX];
	ssize_t n = recv(e->ctl, buf, sizeof(buf), MSG_DONTWAIT);
	assert_true(n > 0 && shim_rep_valid(buf, (size_t)n));
	struct shim_iflist_hdr h = { 0, 0 };
	assert_true(shim_iflist_valid(buf + sizeof(struct shim_rep),
				      (size_t)n - sizeof(struct shim_rep), &h));
	assert_int_equal(h.n_ifs, 2);   /* lo, then wg0 */
	assert_int_equal(h.n_addrs, 3);
	struct shim_ifinfo ii;
	memcpy(&ii, buf + sizeof(struct shim_rep) + sizeof(h), sizeof(ii));
	assert_string_equal(ii.name, "lo");
	assert_int_equal(ii.ifindex, 1);
	memcpy(&ii, buf + sizeof(struct shim_rep) + sizeof(h) + sizeof(ii), sizeof(ii));
	assert_string_equal(ii.name, "wg0");
	assert_int_equal(ii.ifindex, e->nif.ifindex);

	/* A bound TCP socket has no data fd: it lives until the client goes away. */
	struct shim_rep rep;
	struct shim_req b = { .op = SHIM_OP_BIND, .sock_id = -1, .family = AF_INET,
			      .type = SOCK_STREAM };
	sockenv_addr(&b.addr, "172.20.0.1", 179, 0);
	assert_int_equal(rpc(e, &b, &rep, NULL), 0);
	assert_int_equal(rpc(e, &b, &rep, NULL), EADDRINUSE);
	assert_int_equal(sock_layer_stats(e->sl)->sockets, 1);
	assert_int_equal(sock_layer_stats(e->sl)->clients, 1);
	close(e->ctl);
	e->ctl = -1;
	spin(e);
	assert_int_equal(sock_layer_stats(e->sl)->clients, 0);
	assert_int_equal(sock_layer_stats(e->sl)->sockets, 0);
}

/* After execve the shim finds its router sockets again by the inode of the app's end. */
static void test_lookup_by_inode(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	int fd;
	assert_int_equal(bind_dgram(e, AF_INET6, 0, "fd42::1", 4444, false, &fd, &rep), 0);
	int32_t id = rep.sock_id;
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	struct shim_req req = { .op = SHIM_OP_LOOKUP, .sock_id = -1, .ino = st.st_ino };
	assert_int_equal(send(e->ctl, &req, sizeof(req), 0), sizeof(req));
	spin(e);
	uint8_t buf[sizeof(rep) + sizeof(struct shim_sockinfo)];
	assert_int_equal(recv(e->ctl, buf, sizeof(buf), MSG_DONTWAIT), sizeof(buf));
	memcpy(&rep, buf, sizeof(rep));
	struct shim_sockinfo si;
	memcpy(&si, buf + sizeof(rep), sizeof(si));
	assert_int_equal(rep.err, 0);
	assert_int_equal(rep.sock_id, id);
	assert_int_equal(rep.local.port, 4444);
	assert_int_equal(si.domain, AF_INET6);
	assert_int_equal(si.kind, SHIM_KIND_UDP);
	req.ino = st.st_ino + 1000003;   /* not one of ours */
	assert_int_equal(rpc(e, &req, &rep, NULL), ENOENT);
	close(fd);
	spin(e);
}

/*
 * Quotas (issue 13): one program (one shim client) gets EMFILE past its share
 * of sockets, as past RLIMIT_NOFILE, and another program is still served; one
 * pid cannot take every client slot.
 */
static void test_client_quotas(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	struct shim_req b = { .op = SHIM_OP_BIND, .sock_id = -1, .family = AF_INET,
			      .type = SOCK_STREAM };
	sockenv_addr(&b.addr, "0.0.0.0", 0, 0);   /* bound TCP sockets: no data fd on our side */
	unsigned n = 0;
	while (n < 5000 && rpc(e, &b, &rep, NULL) == 0)
		n++;
	assert_int_equal(n, 1024);
	assert_int_equal(rpc(e, &b, &rep, NULL), EMFILE);
	assert_int_equal(sock_layer_stats(e->sl)->sockets, 1024);

	/* another program still gets sockets */
	int other = tl_shim_client(e->sl);
	int save = e->ctl;
	e->ctl = other;
	assert_int_equal(rpc(e, &b, &rep, NULL), 0);
	e->ctl = save;

	/* the first program's sockets go with it, and its quota with them */
	close(e->ctl);
	spin(e);
	assert_int_equal(sock_layer_stats(e->sl)->sockets, 1);
	e->ctl = other;

	/* one pid (ours, on every socketpair) has at most 8 connections */
	int extra[16];
	unsigned got = 0;
	for (unsigned i = 0; i < 16; i++) {
		int sv[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
		if (sock_layer_add_client(e->sl, sv[1]) == 0) {
			extra[got++] = sv[0];
		} else {
			close(sv[1]);
			close(sv[0]);
		}
	}
	assert_int_equal(got, 7);   /* plus the one of "other" */
	assert_int_equal(sock_layer_stats(e->sl)->clients, 8);
	for (unsigned i = 0; i < got; i++)
		close(extra[i]);
	spin(e);
	assert_int_equal(sock_layer_stats(e->sl)->clients, 1);
}

static void test_default_path(void **state)
{
	char buf[128];
	sock_default_path("/run/user/1000/rrouted.sock", buf, sizeof(buf));
	assert_string_equal(buf, "/run/user/1000/rrouted-shim.sock");
	sock_default_path("/tmp/ctl", buf, sizeof(buf));
	assert_string_equal(buf, "/tmp/ctl-shim");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_udp_bind_rules, sockenv_setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_udp_send, sockenv_setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_udp_demux, sockenv_setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_udp_link_local, sockenv_setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_icmp_echo_socket, sockenv_setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_iflist_and_client_close, sockenv_setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_lookup_by_inode, sockenv_setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_client_quotas, sockenv_setup, sockenv_teardown),
		cmocka_unit_test(test_default_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* ---- inert TCP engine: this file tests the datagram side only ---- */

struct tcp_stack { int unused; };
struct tcp_stack *tcp_stack_new(struct loop *loop, const struct tcp_ops *ops, void *ctx)
{
	return calloc(1, sizeof(struct tcp_stack));
}
void tcp_stack_free(struct tcp_stack *s) { free(s); }
void tcp_input(struct tcp_stack *s, struct pbuf *b, const struct ip_packet *pkt, uint32_t i)
{
	pbuf_free(b);
}
int tcp_listen(struct tcp_stack *s, const struct tcp_endpoint *l, bool any, int f, unsigned bl,
	       const struct tcp_options *o, struct tcp_listener **out) { return -EOPNOTSUPP; }
void tcp_listener_close(struct tcp_listener *l) {}
struct tcp_conn *tcp_accept(struct tcp_listener *l) { return NULL; }
void tcp_listener_set_user(struct tcp_listener *l, void *u) {}
void *tcp_listener_user(const struct tcp_listener *l) { return NULL; }
int tcp_connect(struct tcp_stack *s, const struct tcp_endpoint *l, const struct tcp_endpoint *r,
		const struct tcp_options *o, struct tcp_conn **out) { return -EOPNOTSUPP; }
long tcp_send(struct tcp_conn *c, const void *d, size_t l) { return -EPIPE; }
size_t tcp_recv(struct tcp_conn *c, void *b, size_t l, bool *eof) { *eof = true; return 0; }
size_t tcp_send_space(const struct tcp_conn *c) { return 0; }
void tcp_shutdown_send(struct tcp_conn *c) {}
void tcp_close(struct tcp_conn *c) {}
void tcp_abort(struct tcp_conn *c) {}
void tcp_release(struct tcp_conn *c) {}
void tcp_set_options(struct tcp_conn *c, const struct tcp_options *o) {}
void tcp_conn_set_user(struct tcp_conn *c, void *u) {}
void *tcp_conn_user(const struct tcp_conn *c) { return NULL; }
void tcp_conn_endpoints(const struct tcp_conn *c, struct tcp_endpoint *l, struct tcp_endpoint *r) {}
/* sock_tcp_opt.c's engine calls (TCP_MD5SIG, TCP_INFO): inert here too */
int tcp_listener_set_md5(struct tcp_listener *l, const struct tcp_md5_keyset *ks) { return 0; }
void tcp_conn_info(const struct tcp_conn *c, struct tcp_conn_info *out) { memset(out, 0, sizeof(*out)); }
enum tcp_state tcp_conn_state(const struct tcp_conn *c) { return TCP_CLOSED; }
size_t tcp_recv_available(const struct tcp_conn *c) { return 0; }
void tcp_listener_queue(const struct tcp_listener *l, unsigned *q, unsigned *bl) { *q = *bl = 0; }
