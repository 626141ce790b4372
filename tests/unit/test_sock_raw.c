/*
 * Raw ICMP/ICMPv6 sockets of the socket layer (stack/sock_raw.c) with a fake
 * interface behind a real ip_router: what goes out (IP header added, IPv4
 * message untouched, ICMPv6 checksum computed), what comes in (a copy of
 * every ICMP message, IPv4 with its header, per binding and connection),
 * and the ICMP errors about what the socket sent (IP_RECVERR).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/ip_icmp.h>
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
#include "stack/tcp.h"
#include "testlib.h"

#include "sockenv.h"

/* Binds a raw socket of family to addr; returns rep.err, the data fd in *fd. */
static int bind_raw(struct env *e, int family, int proto, const char *addr, bool recverr, int *fd,
		    struct shim_rep *rep)
{
	struct shim_req req = { .op = SHIM_OP_BIND, .sock_id = -1, .family = family,
				.type = SOCK_RAW, .protocol = proto };
	req.opts.recverr = recverr;
	req.opts.ttl = 7;
	sockenv_addr(&req.addr, addr, 0, 0);
	return rpc(e, &req, rep, fd);
}

/* An IPv4 packet carrying the ICMP message icmp (its checksum set here) into the router. */
static void inject_icmp4(struct env *e, const char *src, const char *dst, uint8_t ttl,
			 uint8_t *icmp, size_t len, bool good_sum)
{
	icmp[2] = icmp[3] = 0;
	put16(icmp + 2, ref_fold(ref_sum(icmp, len, 0)) ^ (good_sum ? 0 : 0x5555));
	sockenv_inject_ipv4(e, src, dst, ttl, IPPROTO_ICMP, icmp, len);
}

static void test_raw4_send_as_written(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	int fd;
	assert_int_equal(bind_raw(e, AF_INET, IPPROTO_ICMP, "0.0.0.0", false, &fd, &rep), 0);
	assert_int_equal(rep.local.port, 0);   /* raw sockets have no port */
	/* Any type, and the program's checksum (even a wrong one) goes out as it is. */
	uint8_t msg[12] = { ICMP_TIMESTAMP, 0, 0xde, 0xad, 0x12, 0x34, 0, 1, 'r', 'a', 'w', '!' };
	sockenv_send_dgram(fd, "172.20.0.2", 0, 0, msg, sizeof(msg));
	spin(e);
	struct pbuf *b = sockenv_pop_sent(e);
	assert_int_equal(b->len, 20 + sizeof(msg));
	uint8_t *p = pbuf_data(b);
	assert_int_equal(p[9], IPPROTO_ICMP);
	assert_int_equal(p[8], 7);   /* the socket's IP_TTL */
	assert_int_equal(ref_fold(ref_sum(p, 20, 0)), 0);
	uint8_t src[4];
	inet_pton(AF_INET, "172.20.0.1", src);
	assert_memory_equal(p + 12, src, 4);
	assert_memory_equal(p + 20, msg, sizeof(msg));
	pbuf_free(b);
	/* An IPv6 destination on an IPv4 raw socket goes nowhere. */
	sockenv_send_dgram(fd, "fd42::2", 0, 0, msg, sizeof(msg));
	spin(e);
	assert_null(pbuf_queue_pop(&e->out));
	close(fd);
	spin(e);
}

static void test_raw4_receives_every_icmp_with_header(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	int fd, fd_conn;
	assert_int_equal(bind_raw(e, AF_INET, IPPROTO_ICMP, "0.0.0.0", false, &fd, &rep), 0);
	assert_int_equal(bind_raw(e, AF_INET, IPPROTO_ICMP, "0.0.0.0", false, &fd_conn, &rep), 0);
	struct shim_req c = { .op = SHIM_OP_CONNECT, .sock_id = rep.sock_id, .family = AF_INET,
			      .type = SOCK_RAW, .protocol = IPPROTO_ICMP };
	sockenv_addr(&c.addr, "172.20.0.3", 0, 0);
	struct shim_rep crep;
	assert_int_equal(rpc(e, &c, &crep, NULL), 0);

	uint8_t reply[16] = { ICMP_ECHOREPLY, 0, 0, 0, 0xab, 0xcd, 0, 1, 'h', 'i' };
	inject_icmp4(e, "172.20.0.2", "172.20.0.1", 61, reply, sizeof(reply), true);
	struct shim_dgram_hdr h;
	uint8_t buf[128];
	assert_int_equal(recv_dgram(fd, &h, buf, sizeof(buf)), 20 + sizeof(reply));
	assert_int_equal(buf[0], 0x45);                  /* the IPv4 header comes first */
	assert_int_equal(buf[20], ICMP_ECHOREPLY);
	assert_memory_equal(buf + 28, "hi", 2);
	assert_int_equal(h.peer.family, AF_INET);
	assert_int_equal(h.peer.port, 0);
	assert_int_equal(h.ttl, 61);
	assert_true(h.flags & SHIM_DGRAM_HAS_TTL);
	/* The socket connected to 172.20.0.3 does not hear 172.20.0.2. */
	assert_int_equal(recv_dgram(fd_conn, &h, buf, sizeof(buf)), -1);

	/* A bad checksum reaches nobody. */
	inject_icmp4(e, "172.20.0.2", "172.20.0.1", 61, reply, sizeof(reply), false);
	assert_int_equal(recv_dgram(fd, &h, buf, sizeof(buf)), -1);
	close(fd);
	close(fd_conn);
	spin(e);
}

/* traceroute -I: a time exceeded quoting our echo request, into the error queue (IP_RECVERR). */
static void test_raw4_errors_with_recverr(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	int fd, quiet;
	assert_int_equal(bind_raw(e, AF_INET, IPPROTO_ICMP, "0.0.0.0", true, &fd, &rep), 0);
	assert_int_equal(bind_raw(e, AF_INET, IPPROTO_ICMP, "0.0.0.0", false, &quiet, &rep), 0);
	uint8_t echo[16] = { ICMP_ECHO, 0, 0, 0, 0x77, 0x77, 0, 3, 't', 'r' };
	put16(echo + 2, ref_fold(ref_sum(echo, sizeof(echo), 0)));
	sockenv_send_dgram(fd, "172.20.0.9", 0, 0, echo, sizeof(echo));
	spin(e);
	struct pbuf *sent = sockenv_pop_sent(e);
	/* time exceeded from 172.20.0.5: type 11, unused word, the quoted IP header + 8 bytes */
	uint8_t te[8 + 20 + 8];
	memset(te, 0, sizeof(te));
	te[0] = ICMP_TIME_EXCEEDED;
	memcpy(te + 8, pbuf_data(sent), 28);
	pbuf_free(sent);
	inject_icmp4(e, "172.20.0.5", "172.20.0.1", 62, te, sizeof(te), true);
	struct shim_dgram_hdr h;
	uint8_t buf[256];
	/* First the plain copy (unconnected raw sockets hear every ICMP message)... */
	assert_int_equal(recv_dgram(fd, &h, buf, sizeof(buf)), 20 + sizeof(te));
	assert_false(h.flags & SHIM_DGRAM_ERR);
	/* ...then the error about the echo request, as a ping socket would get it. */
	ssize_t n = recv_dgram(fd, &h, buf, sizeof(buf));
	assert_int_equal(n, sizeof(struct shim_dgram_err) + 8);
	assert_true(h.flags & SHIM_DGRAM_ERR);
	struct shim_dgram_err er;
	memcpy(&er, buf, sizeof(er));
	assert_int_equal(er.type, ICMP_TIME_EXCEEDED);
	assert_int_equal(er.errnum, EHOSTUNREACH);
	assert_int_equal(er.origin, AF_INET);
	uint8_t off[4];
	inet_pton(AF_INET, "172.20.0.5", off);
	assert_memory_equal(er.offender.addr, off, 4);
	uint8_t dst[4];
	inet_pton(AF_INET, "172.20.0.9", dst);
	assert_memory_equal(h.peer.addr, dst, 4);
	assert_int_equal(h.ttl, 62);
	assert_memory_equal(buf + sizeof(er), echo, 8);   /* the quoted echo request */
	/* The socket without IP_RECVERR got the copy only. */
	assert_int_equal(recv_dgram(quiet, &h, buf, sizeof(buf)), 20 + sizeof(te));
	assert_int_equal(recv_dgram(quiet, &h, buf, sizeof(buf)), -1);
	close(fd);
	close(quiet);
	spin(e);
}

static void test_raw6_checksum_and_receive(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	int fd;
	assert_int_equal(bind_raw(e, AF_INET6, IPPROTO_ICMPV6, "::", false, &fd, &rep), 0);
	uint8_t echo[12] = { ICMP6_ECHO_REQUEST, 0, 0x11, 0x11, 0x42, 0x42, 0, 1, 'v', '6' };
	sockenv_send_dgram(fd, "fd42::2", 0, 0, echo, sizeof(echo));
	spin(e);
	struct pbuf *b = sockenv_pop_sent(e);
	uint8_t *p = pbuf_data(b);
	assert_int_equal(b->len, 40 + sizeof(echo));
	assert_int_equal(p[6], IPPROTO_ICMPV6);
	assert_int_equal(p[7], 7);   /* IPV6_UNICAST_HOPS */
	/* The kernel computes raw ICMPv6 checksums: the program's value is replaced. */
	uint32_t ps = ref_sum(p + 8, 32, 0) + IPPROTO_ICMPV6 + sizeof(echo);
	assert_int_equal(ref_fold(ref_sum(p + 40, sizeof(echo), ps)), 0);

	/* The reply comes back: addresses swapped, type 129, valid checksum. */
	uint8_t tmp[16];
	memcpy(tmp, p + 8, 16);
	memcpy(p + 8, p + 24, 16);
	memcpy(p + 24, tmp, 16);
	p[7] = 55;
	p[40] = ICMP6_ECHO_REPLY;
	p[42] = p[43] = 0;
	put16(p + 42, ref_fold(ref_sum(p + 40, sizeof(echo), ps)));
	netif_input(&e->nif, b);
	spin(e);
	struct shim_dgram_hdr h;
	uint8_t buf[128];
	assert_int_equal(recv_dgram(fd, &h, buf, sizeof(buf)), sizeof(echo));   /* no IPv6 header */
	assert_int_equal(buf[0], ICMP6_ECHO_REPLY);
	assert_memory_equal(buf + 8, "v6", 2);
	assert_int_equal(h.peer.family, AF_INET6);
	assert_int_equal(h.ttl, 55);
	close(fd);
	spin(e);
}

static void test_raw_refused_protocols(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	int fd;
	assert_int_equal(bind_raw(e, AF_INET, IPPROTO_UDP, "0.0.0.0", false, &fd, &rep),
			 EPROTONOSUPPORT);
	assert_int_equal(bind_raw(e, AF_INET6, IPPROTO_ICMP, "::", false, &fd, &rep),
			 EPROTONOSUPPORT);
	assert_int_equal(bind_raw(e, AF_INET, IPPROTO_RAW, "0.0.0.0", false, &fd, &rep),
			 EPROTONOSUPPORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_raw4_send_as_written, sockenv_setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_raw4_receives_every_icmp_with_header, sockenv_setup,
						sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_raw4_errors_with_recverr, sockenv_setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_raw6_checksum_and_receive, sockenv_setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_raw_refused_protocols, sockenv_setup, sockenv_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
