/*
 * ICMP errors for the router's datagram sockets (IP_RECVERR, stack/sock_dgram.c):
 * a socket sends a UDP datagram (or an echo request) out of a fake
 * interface, a "router on the path" answers with an ICMP/ICMPv6 error
 * quoting it, and the socket's data fd must then carry the error message
 * (struct shim_dgram_err) with the original destination, the offender, the
 * Linux errno and the quoted payload -- or nothing, when the error is not
 * the socket's (other port, other source, bad checksum, not asked for).
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
#include <unistd.h>

#include "core/loop.h"
#include "ip/checksum.h"
#include "ip/fib.h"
#include "ip/router.h"
#include "stack/shim_proto.h"
#include "stack/sock.h"
#include "testlib.h"

#include "sockenv.h"

static int setup(void **state)
{
	static const char *const addrs[] = { "172.20.0.1/32", "fd42::1/64", NULL };
	struct env *e = sockenv_new(addrs);
	sockenv_add_route(e, "fd42::/16");
	*state = e;
	return 0;
}

/* A datagram socket bound to the wildcard; returns its data fd, *id its socket id. */
static int open_dgram(struct env *e, int family, int proto, uint16_t port, bool recverr,
		      int32_t *id)
{
	struct shim_req req = { .op = SHIM_OP_BIND, .sock_id = -1, .family = family,
				.type = SOCK_DGRAM, .protocol = proto };
	struct shim_rep rep;
	int fd = -1;
	req.opts.recverr = recverr;
	sockenv_addr(&req.addr, family == AF_INET ? "0.0.0.0" : "::", port, 0);
	assert_int_equal(rpc(e, &req, &rep, &fd), 0);
	assert_true(fd >= 0);
	if (id)
		*id = rep.sock_id;
	return fd;
}

static void connect_dgram(struct env *e, int32_t id, int family, const char *to, uint16_t port)
{
	struct shim_req req = { .op = SHIM_OP_CONNECT, .sock_id = id, .family = family,
				.type = SOCK_DGRAM };
	struct shim_rep rep;
	sockenv_addr(&req.addr, to, port, 0);
	assert_int_equal(rpc(e, &req, &rep, NULL), 0);
}

/* Sends through the socket (to: NULL for its connected peer); returns the packet it made. */
static struct pbuf *send_and_capture(struct env *e, int fd, const char *to, uint16_t port,
				     const void *data, size_t len)
{
	sockenv_send_dgram(fd, to, port, 0, data, len);
	spin(e);
	struct pbuf *b = sockenv_pop_sent(e);
	return b;
}

/*
 * Injects an ICMP (family AF_INET) or ICMPv6 error from `from` to `to`,
 * quoting the first qlen bytes of the packet `orig`. rest: the 32 bits after
 * the checksum (MTU, pointer). bad_csum: break the ICMP checksum.
 */
static void inject_error(struct env *e, int family, const char *from, const char *to,
			 uint8_t type, uint8_t code, uint32_t rest, const uint8_t *orig,
			 size_t qlen, bool bad_csum)
{
	struct pbuf *b = pbuf_alloc();
	assert_non_null(b);
	size_t hl = family == AF_INET ? 20 : 40, ilen = 8 + qlen;
	uint8_t *p = pbuf_put(b, hl + ilen);
	uint8_t *icmp = p + hl;
	if (family == AF_INET) {
		struct iphdr ip = { .version = 4, .ihl = 5, .tot_len = htons((uint16_t)(hl + ilen)),
				    .ttl = 61, .protocol = IPPROTO_ICMP };
		assert_int_equal(inet_pton(AF_INET, from, &ip.saddr), 1);
		assert_int_equal(inet_pton(AF_INET, to, &ip.daddr), 1);
		ip.check = csum_fold(csum_partial(&ip, 20, 0));
		memcpy(p, &ip, 20);
	} else {
		struct ip6_hdr ip6;
		memset(&ip6, 0, sizeof(ip6));
		ip6.ip6_flow = htonl(6u << 28);
		ip6.ip6_plen = htons((uint16_t)ilen);
		ip6.ip6_nxt = IPPROTO_ICMPV6;
		ip6.ip6_hlim = 61;
		assert_int_equal(inet_pton(AF_INET6, from, &ip6.ip6_src), 1);
		assert_int_equal(inet_pton(AF_INET6, to, &ip6.ip6_dst), 1);
		memcpy(p, &ip6, 40);
	}
	icmp[0] = type;
	icmp[1] = code;
	icmp[2] = icmp[3] = 0;
	uint32_t r = htonl(rest);
	memcpy(icmp + 4, &r, 4);
	memcpy(icmp + 8, orig, qlen);
	uint32_t sum = family == AF_INET ? 0 : csum_pseudo_v6(p + 8, p + 24, IPPROTO_ICMPV6,
							      (uint32_t)ilen);
	uint16_t ck = csum_fold(csum_partial(icmp, ilen, sum));
	if (bad_csum)
		ck ^= 0x0101;
	memcpy(icmp + 2, &ck, 2);
	netif_input(&e->nif, b);
	spin(e);
}

struct got {
	struct shim_dgram_hdr h;
	struct shim_dgram_err er;
	char data[600];
	ssize_t len;               /* payload bytes after the error record */
};

/* The next message on a data fd: true if there was one. */
static bool recv_msg(int fd, struct got *g)
{
	memset(g, 0, sizeof(*g));
	struct iovec iov[3] = { { &g->h, sizeof(g->h) }, { &g->er, sizeof(g->er) },
				{ g->data, sizeof(g->data) } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 3 };
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
	if (n < (ssize_t)sizeof(g->h))
		return false;
	g->len = n - (ssize_t)(sizeof(g->h) + sizeof(g->er));
	return true;
}

static void assert_addr(const struct shim_addr *a, const char *text, uint16_t port)
{
	struct shim_addr want;
	sockenv_addr(&want, text, port, 0);
	assert_int_equal(a->family, want.family);
	assert_memory_equal(a->addr, want.addr, want.family == AF_INET ? 4 : 16);
	assert_int_equal(a->port, port);
}

static void test_v4_time_exceeded_recverr(void **state)
{
	struct env *e = *state;
	int fd = open_dgram(e, AF_INET, 0, 4000, true, NULL);
	static const char probe[] = "@ABCDEFGHIJKLMNOPQRS";
	struct pbuf *b = send_and_capture(e, fd, "172.20.9.9", 33434, probe, 20);
	assert_int_equal(b->len, 48);
	/* A router two hops out quotes it all (Linux quotes up to 576 bytes). */
	inject_error(e, AF_INET, "172.20.0.2", "172.20.0.1", ICMP_TIME_EXCEEDED, 0, 0,
		     pbuf_data(b), b->len, false);
	struct got g;
	assert_true(recv_msg(fd, &g));
	assert_true(g.h.flags & SHIM_DGRAM_ERR);
	assert_true(g.h.flags & SHIM_DGRAM_HAS_TTL);
	assert_int_equal(g.h.ttl, 61);
	assert_addr(&g.h.peer, "172.20.9.9", 33434);        /* the original destination */
	assert_addr(&g.er.offender, "172.20.0.2", 0);        /* who said so */
	assert_int_equal(g.er.origin, AF_INET);
	assert_int_equal(g.er.type, ICMP_TIME_EXCEEDED);
	assert_int_equal(g.er.code, 0);
	assert_int_equal(g.er.errnum, EHOSTUNREACH);
	assert_int_equal(g.er.fatal, 0);
	assert_int_equal(g.er.info, 0);
	assert_int_equal(g.len, 20);
	assert_memory_equal(g.data, probe, 20);
	assert_false(recv_msg(fd, &g));

	/* RFC 792 minimum: IP header + 8 bytes (just the UDP header): no payload. */
	inject_error(e, AF_INET, "172.20.0.3", "172.20.0.1", ICMP_DEST_UNREACH, ICMP_PORT_UNREACH,
		     0, pbuf_data(b), 28, false);
	assert_true(recv_msg(fd, &g));
	assert_int_equal(g.er.errnum, ECONNREFUSED);
	assert_int_equal(g.er.fatal, 1);
	assert_int_equal(g.len, 0);
	assert_addr(&g.er.offender, "172.20.0.3", 0);

	/* Frag needed carries the next-hop MTU in ee_info. */
	inject_error(e, AF_INET, "172.20.0.2", "172.20.0.1", ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
		     1280, pbuf_data(b), b->len, false);
	assert_true(recv_msg(fd, &g));
	assert_int_equal(g.er.errnum, EMSGSIZE);
	assert_int_equal(g.er.info, 1280);
	pbuf_free(b);
	close(fd);
	spin(e);
}

static void test_v4_connected_without_recverr(void **state)
{
	struct env *e = *state;
	int32_t id;
	int conn = open_dgram(e, AF_INET, 0, 4001, false, &id);
	connect_dgram(e, id, AF_INET, "172.20.0.7", 53);
	int unconn = open_dgram(e, AF_INET, 0, 4002, false, NULL);
	struct pbuf *bc = send_and_capture(e, conn, NULL, 0, "q", 1);
	struct pbuf *bu = send_and_capture(e, unconn, "172.20.0.7", 53, "q", 1);
	struct got g;

	/* Soft errors (time exceeded) never reach a socket that did not ask. */
	inject_error(e, AF_INET, "172.20.0.2", "172.20.0.1", ICMP_TIME_EXCEEDED, 0, 0,
		     pbuf_data(bc), bc->len, false);
	assert_false(recv_msg(conn, &g));
	/* A hard one (port unreachable) does, if connected: ECONNREFUSED on the next recv. */
	inject_error(e, AF_INET, "172.20.0.7", "172.20.0.1", ICMP_DEST_UNREACH, ICMP_PORT_UNREACH,
		     0, pbuf_data(bc), bc->len, false);
	assert_true(recv_msg(conn, &g));
	assert_true(g.h.flags & SHIM_DGRAM_ERR);
	assert_int_equal(g.er.errnum, ECONNREFUSED);
	assert_addr(&g.h.peer, "172.20.0.7", 53);
	/* ...but not if it is not connected. */
	inject_error(e, AF_INET, "172.20.0.7", "172.20.0.1", ICMP_DEST_UNREACH, ICMP_PORT_UNREACH,
		     0, pbuf_data(bu), bu->len, false);
	assert_false(recv_msg(unconn, &g));
	assert_false(recv_msg(conn, &g));
	pbuf_free(bc);
	pbuf_free(bu);
	close(conn);
	close(unconn);
	spin(e);
}

static void test_v6_errors(void **state)
{
	struct env *e = *state;
	int fd = open_dgram(e, AF_INET6, 0, 4003, true, NULL);
	static const char probe[] = "0123456789abcdef";
	struct pbuf *b = send_and_capture(e, fd, "fd42:9::9", 33435, probe, 16);
	assert_int_equal(b->len, 40 + 8 + 16);
	struct got g;

	inject_error(e, AF_INET6, "fd42::2", "fd42::1", ICMP6_TIME_EXCEEDED, 0, 0, pbuf_data(b),
		     b->len, false);
	assert_true(recv_msg(fd, &g));
	assert_true(g.h.flags & SHIM_DGRAM_ERR);
	assert_addr(&g.h.peer, "fd42:9::9", 33435);
	assert_addr(&g.er.offender, "fd42::2", 0);
	assert_int_equal(g.er.origin, AF_INET6);
	assert_int_equal(g.er.type, ICMP6_TIME_EXCEEDED);
	assert_int_equal(g.er.errnum, EHOSTUNREACH);
	assert_int_equal(g.len, 16);
	assert_memory_equal(g.data, probe, 16);

	inject_error(e, AF_INET6, "fd42:9::9", "fd42::1", ICMP6_DST_UNREACH,
		     ICMP6_DST_UNREACH_NOPORT, 0, pbuf_data(b), b->len, false);
	assert_true(recv_msg(fd, &g));
	assert_int_equal(g.er.type, ICMP6_DST_UNREACH);
	assert_int_equal(g.er.code, ICMP6_DST_UNREACH_NOPORT);
	assert_int_equal(g.er.errnum, ECONNREFUSED);
	assert_int_equal(g.er.fatal, 1);
	assert_addr(&g.er.offender, "fd42:9::9", 0);

	inject_error(e, AF_INET6, "fd42::2", "fd42::1", ICMP6_DST_UNREACH,
		     ICMP6_DST_UNREACH_ADMIN, 0, pbuf_data(b), b->len, false);
	assert_true(recv_msg(fd, &g));
	assert_int_equal(g.er.errnum, EACCES);

	inject_error(e, AF_INET6, "fd42::2", "fd42::1", ICMP6_PACKET_TOO_BIG, 0, 1280,
		     pbuf_data(b), b->len, false);
	assert_true(recv_msg(fd, &g));
	assert_int_equal(g.er.errnum, EMSGSIZE);
	assert_int_equal(g.er.info, 1280);

	inject_error(e, AF_INET6, "fd42::2", "fd42::1", ICMP6_PARAM_PROB, 0, 6, pbuf_data(b),
		     b->len, false);
	assert_true(recv_msg(fd, &g));
	assert_int_equal(g.er.errnum, EPROTO);
	assert_int_equal(g.er.info, 6);
	assert_false(recv_msg(fd, &g));
	pbuf_free(b);
	close(fd);
	spin(e);
}

/* Errors that are not about one of our sockets' datagrams reach nobody. */
static void test_not_ours(void **state)
{
	struct env *e = *state;
	int fd = open_dgram(e, AF_INET, 0, 4004, true, NULL);
	int fd6 = open_dgram(e, AF_INET6, 0, 4005, true, NULL);
	struct pbuf *b = send_and_capture(e, fd, "172.20.9.9", 33434, "xyz", 3);
	struct pbuf *b6 = send_and_capture(e, fd6, "fd42:9::9", 33434, "xyz", 3);
	uint8_t q[64], q6[64];
	memcpy(q, pbuf_data(b), b->len);
	memcpy(q6, pbuf_data(b6), b6->len);
	struct got g;

	/* a bad ICMP checksum */
	inject_error(e, AF_INET, "172.20.0.2", "172.20.0.1", ICMP_TIME_EXCEEDED, 0, 0, q, b->len,
		     true);
	inject_error(e, AF_INET6, "fd42::2", "fd42::1", ICMP6_TIME_EXCEEDED, 0, 0, q6, b6->len,
		     true);
	assert_false(recv_msg(fd, &g));
	assert_false(recv_msg(fd6, &g));

	/* another source port (nobody bound it) */
	uint8_t other[64];
	memcpy(other, q, b->len);
	other[20] ^= 0x40;
	inject_error(e, AF_INET, "172.20.0.2", "172.20.0.1", ICMP_TIME_EXCEEDED, 0, 0, other,
		     b->len, false);
	memcpy(other, q6, b6->len);
	other[40] ^= 0x40;
	inject_error(e, AF_INET6, "fd42::2", "fd42::1", ICMP6_TIME_EXCEEDED, 0, 0, other, b6->len,
		     false);
	assert_false(recv_msg(fd, &g));
	assert_false(recv_msg(fd6, &g));

	/* a quoted source that is not one of our addresses (someone else's datagram) */
	memcpy(other, q, b->len);
	other[15] = 77;
	inject_error(e, AF_INET, "172.20.0.2", "172.20.0.1", ICMP_TIME_EXCEEDED, 0, 0, other,
		     b->len, false);
	assert_false(recv_msg(fd, &g));

	/* a quoted TCP segment, and a quote too short for the UDP header */
	memcpy(other, q, b->len);
	other[9] = IPPROTO_TCP;
	inject_error(e, AF_INET, "172.20.0.2", "172.20.0.1", ICMP_TIME_EXCEEDED, 0, 0, other,
		     b->len, false);
	inject_error(e, AF_INET, "172.20.0.2", "172.20.0.1", ICMP_TIME_EXCEEDED, 0, 0, q, 24,
		     false);
	assert_false(recv_msg(fd, &g));

	/* types a socket never hears about: redirect, source quench */
	inject_error(e, AF_INET, "172.20.0.2", "172.20.0.1", ICMP_REDIRECT, 0, 0, q, b->len, false);
	inject_error(e, AF_INET, "172.20.0.2", "172.20.0.1", ICMP_SOURCE_QUENCH, 0, 0, q, b->len,
		     false);
	assert_false(recv_msg(fd, &g));

	/* the genuine one still arrives after all that */
	inject_error(e, AF_INET, "172.20.0.2", "172.20.0.1", ICMP_TIME_EXCEEDED, 0, 0, q, b->len,
		     false);
	assert_true(recv_msg(fd, &g));
	assert_true(g.h.flags & SHIM_DGRAM_ERR);
	assert_false(recv_msg(fd, &g));
	pbuf_free(b);
	pbuf_free(b6);
	close(fd);
	close(fd6);
	spin(e);
}

/* Ping sockets with IP_RECVERR get the error with the quoted echo request as data. */
static void test_ping_socket_error(void **state)
{
	struct env *e = *state;
	int fd = open_dgram(e, AF_INET, IPPROTO_ICMP, 0, true, NULL);
	uint8_t echo[12] = { ICMP_ECHO, 0, 0, 0, 0, 0, 0, 3, 'p', 'i', 'n', 'g' };
	struct pbuf *b = send_and_capture(e, fd, "172.20.9.9", 0, echo, sizeof(echo));
	inject_error(e, AF_INET, "172.20.0.2", "172.20.0.1", ICMP_DEST_UNREACH, ICMP_HOST_UNREACH,
		     0, pbuf_data(b), b->len, false);
	struct got g;
	assert_true(recv_msg(fd, &g));
	assert_true(g.h.flags & SHIM_DGRAM_ERR);
	assert_addr(&g.h.peer, "172.20.9.9", 0);
	assert_int_equal(g.er.errnum, EHOSTUNREACH);
	assert_int_equal(g.len, 12);
	assert_int_equal((uint8_t)g.data[0], ICMP_ECHO);
	assert_int_equal((uint8_t)g.data[7], 3);   /* the sequence number the app sent */
	assert_memory_equal(g.data + 8, "ping", 4);
	pbuf_free(b);
	close(fd);
	spin(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_v4_time_exceeded_recverr, setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_v4_connected_without_recverr, setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_v6_errors, setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_not_ours, setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_ping_socket_error, setup, sockenv_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
