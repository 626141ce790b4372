/*
 * Helpers shared by the unit tests in tests/unit/. Header only, static
 * inline: the Makefile links each test_*.c alone against build/librr.a, so a
 * testlib.c would not be linked. Include after <cmocka.h>. The byte-level
 * helpers without cmocka are in packet_bytes.h (and shim_recv.h), which the
 * fuzz harnesses use too.
 */
#ifndef RR_TESTS_TESTLIB_H
#define RR_TESTS_TESTLIB_H

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "packet_bytes.h"

#ifdef RR_IP_ADDR_H
/* A v4 or v6 address from text; fails the test on a typo. Needs ip/addr.h first. */
static inline struct ip_addr ipa(const char *s)
{
	struct ip_addr a;
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.bytes) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, s, a.bytes) == 1)
		a.family = AF_INET6;
	else
		fail_msg("bad address %s", s);
	return a;
}

#include <sys/socket.h>

/* A socket of type (SOCK_DGRAM, SOCK_STREAM) on 127.0.0.1 at a port the kernel picks: *bound. */
static inline int tl_loopback_socket(int type, union sockaddr_inet *bound)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(bound, 0, sizeof(*bound));
	bound->in4.sin_family = AF_INET;
	bound->in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, &bound->sa, sizeof(bound->in4)), 0);
	socklen_t len = sizeof(bound->in4);
	assert_int_equal(getsockname(fd, &bound->sa, &len), 0);
	return fd;
}
#endif

#ifdef RR_STACK_TCP_H
/*
 * tcp_connect on s from 10.0.0.1:lport (0: an ephemeral port) to 10.0.0.2:rport,
 * the connections the TCP engine tests open; returns what tcp_connect returned.
 */
static inline int tl_tcp_connect(struct tcp_stack *s, uint16_t lport, uint16_t rport,
				 const struct tcp_options *opt, struct tcp_conn **c)
{
	struct tcp_endpoint l = { .port = lport }, r = { .port = rport };
	assert_int_equal(ip_addr_parse("10.0.0.1", &l.addr), 0);
	assert_int_equal(ip_addr_parse("10.0.0.2", &r.addr), 0);
	return tcp_connect(s, &l, &r, opt, c);
}
#endif

#if defined(RR_STACK_SOCK_H) && defined(RR_STACK_SHIM_PROTO_H)
#include <sys/socket.h>

#include "shim_recv.h"

/* A shim client connected to sl, as librrshim.so would be; returns our end. */
static inline int tl_shim_client(struct sock_layer *sl)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(sock_layer_add_client(sl, sv[1]), 0);
	return sv[0];
}

#endif

#endif
