/*
 * The datagram options rrouted applies (stack/sock_dgram.c) through the shim
 * protocol, with a fake interface behind a real ip_router: the received
 * datagram's destination (IP_PKTINFO), the source a send asks for (and
 * IP_FREEBIND), path MTU (SHIM_OP_PMTU, IPV6_MTU), fragmentation as the
 * PMTU discovery mode decides, DF, per-message hop limit, IP_MINTTL, and
 * reassembled datagrams reaching a socket.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
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
	static const char *const addrs[] = { "172.20.0.1/32", "172.20.0.5/32", "fd42::1/64", "fe80::1/64", NULL };
	*state = sockenv_new(addrs);
	return 0;
}

static int bind_udp(struct env *e, int family, const char *addr, uint16_t port,
		    const struct shim_opts *o, int *fd, struct shim_rep *rep)
{
	struct shim_req req = { .op = SHIM_OP_BIND, .sock_id = -1, .family = family,
				.type = SOCK_DGRAM };
	if (o)
		req.opts = *o;
	sockenv_addr(&req.addr, addr, port, 0);
	return rpc(e, &req, rep, fd);
}

static uint8_t big[9000];

/* A datagram to `to` with header fields from h (peer filled here). */
static void send_with(int fd, struct shim_dgram_hdr h, const char *to, uint16_t port, size_t len)
{
	static uint8_t buf[sizeof(struct shim_dgram_hdr) + sizeof(big)];
	sockenv_addr(&h.peer, to, port, 0);
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), big, len);
	assert_int_equal(send(fd, buf, sizeof(h) + len, 0), (ssize_t)(sizeof(h) + len));
}

static void send_plain(int fd, const char *to, uint16_t port, size_t len)
{
	struct shim_dgram_hdr h;
	memset(&h, 0, sizeof(h));
	send_with(fd, h, to, port, len);
}

static size_t n_out(struct env *e)
{
	return e->out.len;
}

static void src_of(struct pbuf *b, char *out, size_t cap)
{
	const uint8_t *p = pbuf_data(b);
	if ((p[0] >> 4) == 4)
		inet_ntop(AF_INET, p + 12, out, (socklen_t)cap);
	else
		inet_ntop(AF_INET6, p + 8, out, (socklen_t)cap);
}

/* A UDP/IPv4 datagram to the router, fragmented at frag bytes of UDP (0: whole), TTL ttl. */
static void inject_udp4(struct env *e, const char *dst, uint16_t dport, size_t plen, size_t frag,
			uint8_t ttl)
{
	static uint8_t l4[9000];
	size_t ulen = 8 + plen;
	struct ip_addr s = ipa("172.20.0.2"), d = ipa(dst);
	struct udphdr u = { .source = htons(999), .dest = htons(dport), .len = htons((uint16_t)ulen) };
	memcpy(l4, &u, 8);
	memcpy(l4 + 8, big, plen);
	uint16_t ck = csum_fold(csum_partial(l4, ulen, csum_pseudo_v4(s.bytes, d.bytes, IPPROTO_UDP,
								      (uint32_t)ulen)));
	memcpy(l4 + 6, &ck, 2);
	if (!frag)
		frag = ulen;
	for (size_t off = 0; off < ulen; off += frag) {
		size_t n = ulen - off < frag ? ulen - off : frag;
		struct pbuf *b = pbuf_alloc();
		assert_non_null(b);
		uint8_t *p = pbuf_put(b, 20 + n);
		if (!p)
			abort();
		struct tl_ip h = { AF_INET, s.bytes, d.bytes, .proto = IPPROTO_UDP, .ttl = ttl, .id = 77,
				   .frag = (uint16_t)((off + n < ulen ? 0x2000 : 0) | off / 8) };
		tl_ip_header(p, &h, n);
		memcpy(p + 20, l4 + off, n);
		netif_input(&e->nif, b);
	}
	spin(e);
}

static void test_receive_destination(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	int fd;
	assert_int_equal(bind_udp(e, AF_INET, "0.0.0.0", 53, NULL, &fd, &rep), 0);
	inject_udp4(e, "172.20.0.5", 53, 10, 0, 64);
	struct shim_dgram_hdr h;
	uint8_t buf[100];
	assert_int_equal(recv_dgram(fd, &h, buf, sizeof(buf)), 10);
	char a[64];
	inet_ntop(AF_INET, h.local.addr, a, sizeof(a));
	assert_int_equal(h.local.family, AF_INET);
	assert_string_equal(a, "172.20.0.5");   /* IP_PKTINFO's ipi_addr */
	assert_int_equal(h.local.port, 53);
	assert_int_equal(h.ifindex, e->nif.ifindex);
	close(fd);
	spin(e);
}

static void test_source_selection(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	int fd;
	char a[64];
	assert_int_equal(bind_udp(e, AF_INET, "0.0.0.0", 53, NULL, &fd, &rep), 0);
	/* the router's choice: its first address on the route's interface */
	send_plain(fd, "172.20.0.2", 999, 10);
	spin(e);
	struct pbuf *b = sockenv_pop_sent(e);
	src_of(b, a, sizeof(a));
	assert_string_equal(a, "172.20.0.1");
	pbuf_free(b);
	/* IP_PKTINFO asks for 172.20.0.5 (the address a query came to) */
	struct shim_dgram_hdr h;
	memset(&h, 0, sizeof(h));
	sockenv_addr(&h.local, "172.20.0.5", 0, 0);
	send_with(fd, h, "172.20.0.2", 999, 10);
	spin(e);
	b = sockenv_pop_sent(e);
	src_of(b, a, sizeof(a));
	assert_string_equal(a, "172.20.0.5");
	const uint8_t *p = pbuf_data(b);
	assert_int_equal(csum_fold(csum_partial(p + 20, 18, csum_pseudo_v4(p + 12, p + 16,
									   IPPROTO_UDP, 18))), 0);
	pbuf_free(b);
	/* not one of ours: Linux refuses it (EINVAL), nothing leaves */
	sockenv_addr(&h.local, "172.20.0.9", 0, 0);
	send_with(fd, h, "172.20.0.2", 999, 10);
	spin(e);
	assert_int_equal(n_out(e), 0);
	close(fd);
	spin(e);
	/* with IP_FREEBIND it may be any address, and bind takes one too */
	struct shim_opts o = { .flags = SHIM_OPT_FREEBIND };
	assert_int_equal(bind_udp(e, AF_INET, "172.20.0.9", 53, NULL, &fd, &rep), EADDRNOTAVAIL);
	assert_int_equal(bind_udp(e, AF_INET, "172.20.0.9", 53, &o, &fd, &rep), 0);
	send_with(fd, h, "172.20.0.2", 999, 10);
	spin(e);
	b = sockenv_pop_sent(e);
	src_of(b, a, sizeof(a));
	assert_string_equal(a, "172.20.0.9");
	pbuf_free(b);
	close(fd);
	spin(e);
}

static void test_fragmentation_by_mode(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	int fd;
	struct shim_opts o = { .pmtudisc = IP_PMTUDISC_WANT, .pmtudisc6 = IPV6_PMTUDISC_WANT };
	assert_int_equal(bind_udp(e, AF_INET6, "::", 53, &o, &fd, &rep), 0);
	/* WANT (Linux's default): a packet that fits carries DF */
	send_plain(fd, "172.20.0.2", 999, 100);
	spin(e);
	struct pbuf *b = sockenv_pop_sent(e);
	assert_int_equal(get16(pbuf_data(b) + 6), 0x4000);
	pbuf_free(b);
	/* a 4000-byte datagram over a 1420-byte MTU: three fragments, none with DF */
	send_plain(fd, "172.20.0.2", 999, 4000);
	spin(e);
	assert_int_equal(n_out(e), 3);
	size_t total = 0;
	while ((b = pbuf_queue_pop(&e->out))) {
		assert_true(b->len <= 1420);
		assert_int_equal(get16(pbuf_data(b) + 6) & 0x4000, 0);
		total += b->len - 20u;
		pbuf_free(b);
	}
	assert_int_equal(total, 4008);
	assert_int_equal(sock_layer_stats(e->sl)->dgram_fragmented, 1);
	/* IPv6 with IPV6_MTU 1280: fragments of at most 1280 bytes with a Fragment header */
	o.mtu6 = 1280;
	struct shim_req req = { .op = SHIM_OP_SETOPT, .sock_id = rep.sock_id, .opts = o };
	struct shim_rep r2;
	assert_int_equal(rpc(e, &req, &r2, NULL), 0);
	send_plain(fd, "fd42::2", 999, 4000);
	spin(e);
	assert_int_equal(n_out(e), 4);
	while ((b = pbuf_queue_pop(&e->out))) {
		assert_true(b->len <= 1280);
		assert_int_equal(pbuf_data(b)[6], 44);
		pbuf_free(b);
	}
	/* IP_PMTUDISC_DO / IPV6_DONTFRAG: too big is not sent (the shim said EMSGSIZE) */
	o.pmtudisc = IP_PMTUDISC_DO;
	o.flags = SHIM_OPT_DONTFRAG;
	req.opts = o;
	assert_int_equal(rpc(e, &req, &r2, NULL), 0);
	send_plain(fd, "172.20.0.2", 999, 4000);
	send_plain(fd, "fd42::2", 999, 4000);
	spin(e);
	assert_int_equal(n_out(e), 0);
	/* the path MTU they are told: the interface's, IPV6_MTU's for IPv6 */
	req = (struct shim_req){ .op = SHIM_OP_PMTU, .sock_id = rep.sock_id, .opts = o };
	sockenv_addr(&req.addr, "172.20.0.2", 999, 0);
	assert_int_equal(rpc(e, &req, &r2, NULL), 0);
	assert_int_equal(r2.val, 1420);
	sockenv_addr(&req.addr, "fd42::2", 999, 0);
	assert_int_equal(rpc(e, &req, &r2, NULL), 0);
	assert_int_equal(r2.val, 1280);
	memset(&req.addr, 0, sizeof(req.addr));
	assert_int_equal(rpc(e, &req, &r2, NULL), ENOTCONN);   /* IP_MTU needs a peer */
	close(fd);
	spin(e);
}

static void test_per_message_ttl(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	int fd;
	assert_int_equal(bind_udp(e, AF_INET, "0.0.0.0", 0, NULL, &fd, &rep), 0);
	struct shim_dgram_hdr h;
	memset(&h, 0, sizeof(h));
	h.flags = SHIM_DGRAM_HAS_TTL | SHIM_DGRAM_HAS_TOS;
	h.ttl = 5;
	h.tos = 0xb8;
	send_with(fd, h, "172.20.0.2", 999, 10);
	spin(e);
	struct pbuf *b = sockenv_pop_sent(e);
	assert_int_equal(pbuf_data(b)[8], 5);
	assert_int_equal(pbuf_data(b)[1], 0xb8);
	pbuf_free(b);
	close(fd);
	spin(e);
}

static void test_min_ttl(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	int fd;
	struct shim_opts o = { .min_ttl = 255 };
	assert_int_equal(bind_udp(e, AF_INET, "0.0.0.0", 6696, &o, &fd, &rep), 0);
	struct shim_dgram_hdr h;
	uint8_t buf[100];
	inject_udp4(e, "172.20.0.1", 6696, 10, 0, 254);
	assert_int_equal(recv_dgram(fd, &h, buf, sizeof(buf)), -1);
	assert_int_equal(sock_layer_stats(e->sl)->min_ttl_drops, 1);
	inject_udp4(e, "172.20.0.1", 6696, 10, 0, 255);
	assert_int_equal(recv_dgram(fd, &h, buf, sizeof(buf)), 10);
	assert_int_equal(h.ttl, 255);
	close(fd);
	spin(e);
}

static void test_reassembled_to_socket(void **state)
{
	struct env *e = *state;
	struct shim_rep rep;
	int fd;
	assert_int_equal(bind_udp(e, AF_INET, "0.0.0.0", 53, NULL, &fd, &rep), 0);
	inject_udp4(e, "172.20.0.1", 53, 3000, 1200, 64);
	struct shim_dgram_hdr h;
	static uint8_t buf[9000];
	assert_int_equal(recv_dgram(fd, &h, buf, sizeof(buf)), 3000);
	assert_memory_equal(buf, big, 3000);
	/* nobody on the port: the reassembled datagram gets a port unreachable */
	inject_udp4(e, "172.20.0.1", 54, 3000, 1200, 64);
	struct pbuf *b = sockenv_pop_sent(e);
	assert_int_equal(pbuf_data(b)[9], IPPROTO_ICMP);
	assert_int_equal(pbuf_data(b)[20], 3);
	assert_int_equal(pbuf_data(b)[21], 3);
	pbuf_free(b);
	close(fd);
	spin(e);
}

static void test_reassembly_timeout_icmp(void **state)
{
	struct env *e = *state;
	/* only the first of three fragments: after 30 s, ICMP time exceeded (reassembly) */
	struct pbuf *b = pbuf_alloc();
	assert_non_null(b);
	uint8_t *p = pbuf_put(b, 20 + 1200);
	if (!p)
		abort();
	memset(p, 0, 20 + 1200);
	struct ip_addr s = ipa("172.20.0.2"), d = ipa("172.20.0.1");
	struct tl_ip h = { AF_INET, s.bytes, d.bytes, .proto = IPPROTO_UDP, .ttl = 64, .id = 99,
			   .frag = 0x2000 };
	tl_ip_header(p, &h, 1200);
	netif_input(&e->nif, b);
	spin(e);
	assert_int_equal(n_out(e), 0);
	loop_set_time(&e->loop, NSEC_PER_SEC + 29 * NSEC_PER_SEC);
	spin(e);
	assert_int_equal(n_out(e), 0);
	loop_set_time(&e->loop, NSEC_PER_SEC + 32 * NSEC_PER_SEC);
	spin(e);
	b = sockenv_pop_sent(e);
	p = pbuf_data(b);
	assert_int_equal(p[9], IPPROTO_ICMP);
	assert_int_equal(p[20], 11);   /* time exceeded */
	assert_int_equal(p[21], 1);    /* fragment reassembly time exceeded */
	assert_int_equal(get16(p + 28 + 4), 99);   /* quoting the first fragment */
	pbuf_free(b);
}

/* A UDP/IPv6 datagram from fe80::2 to dst through the interface. */
static void inject_udp6(struct env *e, const char *dst, uint16_t dport, size_t plen)
{
	struct pbuf *b = pbuf_alloc();
	assert_non_null(b);
	size_t ulen = 8 + plen;
	uint8_t *p = pbuf_put(b, 40 + ulen);
	if (!p)
		abort();
	memset(p, 0, 40);
	p[0] = 0x60;
	put16(p + 4, (uint16_t)ulen);
	p[6] = IPPROTO_UDP;
	p[7] = 1;
	struct ip_addr s6 = ipa("fe80::2"), d6 = ipa(dst);
	memcpy(p + 8, s6.bytes, 16);
	memcpy(p + 24, d6.bytes, 16);
	struct udphdr u = { .source = htons(6696), .dest = htons(dport), .len = htons((uint16_t)ulen) };
	memcpy(p + 40, &u, 8);
	memcpy(p + 48, big, plen);
	uint16_t ck = csum_fold(csum_partial(p + 40, ulen, csum_pseudo_v6(s6.bytes, d6.bytes,
									  IPPROTO_UDP, (uint32_t)ulen)));
	memcpy(p + 46, &ck, 2);
	netif_input(&e->nif, b);
	spin(e);
}

static int mcast(struct env *e, int32_t id, const char *group, uint32_t ifindex, bool join,
		 const struct shim_opts *o)
{
	struct shim_req req = { .op = SHIM_OP_MCAST, .sock_id = id, .arg = join };
	if (o)
		req.opts = *o;
	sockenv_addr(&req.addr, group, 0, 0);
	req.addr.scope_id = ifindex;
	struct shim_rep rep;
	return rpc(e, &req, &rep, NULL);
}

static void test_multicast(void **state)
{
	struct env *e = *state;
	struct shim_rep r1, r2;
	int a, b;
	struct shim_dgram_hdr h;
	uint8_t buf[200];
	struct shim_opts o = { .mcast_hops = 1, .v6only = 1 };
	assert_int_equal(bind_udp(e, AF_INET6, "::", 6696, &o, &a, &r1), 0);
	o.reuseaddr = 1;
	/* nobody joined ff02::1:6: the datagram is not for us */
	inject_udp6(e, "ff02::1:6", 6696, 20);
	assert_int_equal(recv_dgram(a, &h, buf, sizeof(buf)), -1);
	/* join on wg0; errors as Linux: not a group, twice, unknown interface, leave unknown */
	assert_int_equal(mcast(e, r1.sock_id, "fd42::9", e->nif.ifindex, true, &o), EINVAL);
	assert_int_equal(mcast(e, r1.sock_id, "ff02::1:6", 99, true, &o), ENODEV);
	assert_int_equal(mcast(e, r1.sock_id, "ff02::1:6", e->nif.ifindex, true, &o), 0);
	assert_int_equal(mcast(e, r1.sock_id, "ff02::1:6", e->nif.ifindex, true, &o), EADDRINUSE);
	assert_int_equal(mcast(e, r1.sock_id, "ff02::1:7", e->nif.ifindex, false, &o), EADDRNOTAVAIL);
	inject_udp6(e, "ff02::1:6", 6696, 20);
	assert_int_equal(recv_dgram(a, &h, buf, sizeof(buf)), 20);
	char txt[64];
	inet_ntop(AF_INET6, h.local.addr, txt, sizeof(txt));
	assert_string_equal(txt, "ff02::1:6");           /* IPV6_PKTINFO: the group */
	assert_int_equal(h.peer.scope_id, e->nif.ifindex);
	/* out: from wg0's link-local address, hop limit 1 (IPV6_MULTICAST_HOPS), out of wg0 */
	struct shim_dgram_hdr sh;
	memset(&sh, 0, sizeof(sh));
	o.mcast_noloop = 1;
	o.mcast_ifindex = e->nif.ifindex;   /* IPV6_MULTICAST_IF, as BIRD sets it */
	struct shim_req req = { .op = SHIM_OP_SETOPT, .sock_id = r1.sock_id, .opts = o };
	assert_int_equal(rpc(e, &req, &r2, NULL), 0);
	send_with(a, sh, "ff02::1:6", 6696, 30);
	spin(e);
	struct pbuf *p = sockenv_pop_sent(e);
	src_of(p, txt, sizeof(txt));
	assert_string_equal(txt, "fe80::1");
	assert_int_equal(pbuf_data(p)[7], 1);
	pbuf_free(p);
	assert_int_equal(recv_dgram(a, &h, buf, sizeof(buf)), -1);   /* IPV6_MULTICAST_LOOP 0 */
	/* a second socket on the port hears the group too (IPV6_MULTICAST_ALL), and with the
	 * loop on, the first socket's own datagrams */
	close(a);
	spin(e);
	o.mcast_noloop = 0;
	assert_int_equal(bind_udp(e, AF_INET6, "::", 6696, &o, &a, &r1), 0);
	assert_int_equal(bind_udp(e, AF_INET6, "::", 6696, &o, &b, &r2), 0);
	assert_int_equal(mcast(e, r1.sock_id, "ff02::1:6", e->nif.ifindex, true, &o), 0);
	send_with(a, sh, "ff02::1:6", 6696, 30);
	spin(e);
	p = sockenv_pop_sent(e);
	pbuf_free(p);
	assert_int_equal(recv_dgram(a, &h, buf, sizeof(buf)), 30);
	assert_int_equal(recv_dgram(b, &h, buf, sizeof(buf)), 30);
	/* left: nothing more */
	assert_int_equal(mcast(e, r1.sock_id, "ff02::1:6", e->nif.ifindex, false, &o), 0);
	inject_udp6(e, "ff02::1:6", 6696, 20);
	assert_int_equal(recv_dgram(b, &h, buf, sizeof(buf)), -1);
	close(a);
	close(b);
	spin(e);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 13 + 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_receive_destination, setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_source_selection, setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_fragmentation_by_mode, setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_per_message_ttl, setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_min_ttl, setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_reassembled_to_socket, setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_reassembly_timeout_icmp, setup, sockenv_teardown),
		cmocka_unit_test_setup_teardown(test_multicast, setup, sockenv_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
