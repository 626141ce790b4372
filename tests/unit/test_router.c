/*
 * Unit tests for the forwarding plane (ip/router.c) through its two entry
 * points, ip_router_input and ip_router_output_local, with three fake
 * interfaces whose output op records what the router sends and to which next
 * hop. Expected packets are built by hand; checksums are verified with a
 * naive RFC 1071 sum (testlib.h). Every test checks that no buffer leaks.
 *
 *   172.20.9.0/24, fd42:9::/32 ── wg0 (mtu 1420) 172.20.1.1/32 fe80::1/64 fd42:1::1/64
 *   172.21/16, fd42:50::/32   ── wg1 (mtu 1280) 172.20.2.1/24 fe80::1/64 fd42:2::1/64
 *   10.1/16                   ── wg2 (mtu 576)  10.0.0.1/30   fe80::3/64
 *   172.22/16 via 172.20.2.2, fd42:70::/32 via fd42:2::2 (no interface given)
 *   172.23/16 + fd42:23::/32 unreachable, 172.24/16 + fd42:24::/32 prohibit,
 *   172.25/16 + fd42:25::/32 blackhole
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/pbuf.h"
#include "ip/fib.h"
#include "ip/reasm.h"
#include "ip/router.h"
#include "route_kinds.h"
#include "testlib.h"

/* ---- reference checksums and packet builders ---- */

/* Upper-layer checksum of a whole v4/v6 packet (pseudo-header included for v6, and
 * for v4 unless proto is ICMP); 0 when valid. */
static uint16_t ref_l4_csum(const uint8_t *ip, size_t len)
{
	uint8_t tail[8] = { 0 };
	uint32_t sum = 0;
	size_t hl;
	if (ip[0] >> 4 == 4) {
		hl = (size_t)(ip[0] & 0xf) * 4;
		if (ip[9] != IPPROTO_ICMP) {
			sum = ref_sum(ip + 12, 8, 0);
			tail[1] = ip[9];
			put16(tail + 2, (uint16_t)(len - hl));
			sum = ref_sum(tail, 4, sum);
		}
	} else {
		hl = 40;
		sum = ref_sum(ip + 8, 32, 0);
		put16(tail + 2, (uint16_t)(len - hl));
		tail[7] = ip[6];
		sum = ref_sum(tail, 8, sum);
	}
	return ref_fold(ref_sum(ip + hl, len - hl, sum));
}

static void fix_v4_header(uint8_t *p)
{
	put16(p + 10, 0);
	put16(p + 10, ref_fold(ref_sum(p, (size_t)(p[0] & 0xf) * 4, 0)));
}

/* IPv4 packet around l4 (l4_len bytes; l4 may be NULL for a pattern). */
static size_t build_v4(uint8_t *out, const char *src, const char *dst, uint8_t proto, uint8_t ttl,
		       uint16_t frag, const uint8_t *l4, size_t l4_len)
{
	struct ip_addr s = ipa(src), d = ipa(dst);
	struct tl_ip h = { AF_INET, s.bytes, d.bytes, .proto = proto, .ttl = ttl, .id = 0x1111,
			   .frag = frag };
	tl_ip_header(out, &h, l4_len);
	for (size_t i = 0; i < l4_len; i++)
		out[20 + i] = l4 ? l4[i] : (uint8_t)(i * 13 + 5);
	return 20 + l4_len;
}

static size_t build_v6(uint8_t *out, const char *src, const char *dst, uint8_t nh, uint8_t hlim,
		       const uint8_t *l4, size_t l4_len)
{
	struct ip_addr s = ipa(src), d = ipa(dst);
	struct tl_ip h = { AF_INET6, s.bytes, d.bytes, .proto = nh, .ttl = hlim };
	tl_ip_header(out, &h, l4_len);
	out[1] = 0x0a;   /* traffic class / flow label bits must survive */
	out[3] = 0x77;
	for (size_t i = 0; i < l4_len; i++)
		out[40 + i] = l4 ? l4[i] : (uint8_t)(i * 11 + 3);
	return 40 + l4_len;
}

static bool is_v6(const char *addr) { return strchr(addr, ':') != NULL; }

/* A UDP datagram of total length len to port 33434 (traceroute's), valid checksums. */
static size_t udp(uint8_t *out, const char *src, const char *dst, uint8_t ttl, uint16_t frag,
		  size_t len)
{
	bool v6 = is_v6(src);
	size_t hl = v6 ? 40 : 20;
	size_t n = v6 ? build_v6(out, src, dst, IPPROTO_UDP, ttl, NULL, len - hl)
		      : build_v4(out, src, dst, IPPROTO_UDP, ttl, frag, NULL, len - hl);
	uint8_t *u = out + hl;
	put16(u, 40001);
	put16(u + 2, 33434);
	put16(u + 4, (uint16_t)(len - hl));
	put16(u + 6, 0);
	put16(u + 6, ref_l4_csum(out, n));
	return n;
}

/* An ICMP(v6) echo request (or other type) with a 56-byte payload, valid checksums. */
static size_t icmp_msg(uint8_t *out, const char *src, const char *dst, uint8_t type, uint8_t ttl)
{
	bool v6 = is_v6(src);
	size_t hl = v6 ? 40 : 20;
	size_t n = v6 ? build_v6(out, src, dst, IPPROTO_ICMPV6, ttl, NULL, 64)
		      : build_v4(out, src, dst, IPPROTO_ICMP, ttl, 0, NULL, 64);
	uint8_t *m = out + hl;
	m[0] = type;
	m[1] = 0;
	put16(m + 2, 0);
	put16(m + 4, 0x4321);
	put16(m + 6, 1);
	put16(m + 2, ref_l4_csum(out, n));
	return n;
}

static size_t ping(uint8_t *out, const char *src, const char *dst, uint8_t ttl)
{
	return icmp_msg(out, src, dst, is_v6(src) ? 128 : 8, ttl);
}

/* A TCP SYN with MSS 1460, SACK-permitted, timestamps; valid checksums. */
static size_t syn(uint8_t *out, const char *src, const char *dst, size_t payload)
{
	static const uint8_t opts[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
					  1, 3, 3, 7 };
	bool v6 = is_v6(src);
	size_t hl = v6 ? 40 : 20;
	size_t seg = 40 + payload;
	size_t n = v6 ? build_v6(out, src, dst, IPPROTO_TCP, 64, NULL, seg)
		      : build_v4(out, src, dst, IPPROTO_TCP, 64, IP_DF, NULL, seg);
	uint8_t *t = out + hl;
	memset(t, 0, 40);
	put16(t, 50000);
	put16(t + 2, 179);
	put16(t + 4, 0x1234);
	t[12] = 10 << 4;
	t[13] = TH_SYN;
	put16(t + 14, 64240);
	memcpy(t + 20, opts, 20);
	put16(t + 16, ref_l4_csum(out, n));
	return n;
}

/* ---- the fake interfaces and the router ---- */

struct sent {
	struct netif *nif;
	struct pbuf *b;
	struct ip_addr nexthop;
};

static struct sent sent[256];
static size_t n_sent;

static void record_output(struct netif *nif, struct pbuf *b, const struct ip_addr *nexthop)
{
	assert_true(n_sent < sizeof(sent) / sizeof(sent[0]));
	sent[n_sent++] = (struct sent){ .nif = nif, .b = b, .nexthop = *nexthop };
}

static const struct netif_ops record_ops = { .output = record_output };

static void clear_sent(void)
{
	for (size_t i = 0; i < n_sent; i++)
		pbuf_free(sent[i].b);
	n_sent = 0;
}

static struct loop loop;
static struct ip_router router;
static struct netif wg0, wg1, wg2;
static struct ip_prefix addrs0[3], addrs1[3], addrs2[2];
static uint64_t allocated_before;

#define T0 (1000 * NSEC_PER_SEC)

static void prefix(struct ip_prefix *p, const char *text)
{
	assert_int_equal(ip_prefix_parse(text, p), 0);
}

static void make_netif(struct netif *n, const char *name, uint16_t mtu, struct ip_prefix *a,
		       size_t na)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->mtu = mtu;
	n->addrs = a;
	n->n_addrs = na;
	n->ops = &record_ops;
	assert_int_equal(ip_router_add_netif(&router, n), 0);
}

static void add_route(const char *pfx, uint8_t type, uint32_t ifindex, const char *gw)
{
	struct fib_route rt;
	memset(&rt, 0, sizeof(rt));
	prefix(&rt.prefix, pfx);
	rt.type = type;
	rt.ifindex = ifindex;
	if (gw)
		rt.gateway = ipa(gw);
	rt.protocol = FIB_PROTO_STATIC;
	assert_int_equal(fib_add(router.fib, &rt, 0), 0);
}

static int setup(void **state)
{
	(void)state;
	struct pbuf_stats st;
	pbuf_pool_stats(&st);
	allocated_before = st.allocated;
	log_set_level(LOG_ERROR);
	assert_int_equal(loop_init(&loop), 0);
	loop_use_manual_clock(&loop, T0);
	assert_int_equal(ip_router_init(&router, &loop), 0);
	prefix(&addrs0[0], "172.20.1.1/32");
	prefix(&addrs0[1], "fe80::1/64");
	prefix(&addrs0[2], "fd42:1::1/64");
	prefix(&addrs1[0], "172.20.2.1/24");
	prefix(&addrs1[1], "fe80::1/64");
	prefix(&addrs1[2], "fd42:2::1/64");
	prefix(&addrs2[0], "10.0.0.1/30");
	prefix(&addrs2[1], "fe80::3/64");
	make_netif(&wg0, "wg0", 1420, addrs0, 3);
	make_netif(&wg1, "wg1", 1280, addrs1, 3);
	make_netif(&wg2, "wg2", 576, addrs2, 2);
	/* ifindex 1 is the loopback. */
	assert_int_equal(wg0.ifindex, IP_LOOPBACK_IFINDEX + 1);
	assert_int_equal(wg1.ifindex, IP_LOOPBACK_IFINDEX + 2);
	assert_int_equal(wg2.ifindex, IP_LOOPBACK_IFINDEX + 3);
	add_route("172.20.9.0/24", FIB_TYPE_UNICAST, wg0.ifindex, NULL);
	add_route("fd42:9::/32", FIB_TYPE_UNICAST, wg0.ifindex, NULL);
	add_route("172.21.0.0/16", FIB_TYPE_UNICAST, wg1.ifindex, NULL);
	add_route("fd42:50::/32", FIB_TYPE_UNICAST, wg1.ifindex, NULL);
	add_route("10.1.0.0/16", FIB_TYPE_UNICAST, wg2.ifindex, NULL);
	for (size_t k = 0; k < N_ROUTE_KINDS; k++)
		add_route(route_kinds[k].prefix, route_kinds[k].type, 0, route_kinds[k].gateway);
	n_sent = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	clear_sent();
	ip_router_free(&router);
	loop_free(&loop);
	struct pbuf_stats st;
	pbuf_pool_stats(&st);
	assert_int_equal(st.allocated, allocated_before);   /* nothing leaked */
	return 0;
}

static void inject(struct netif *in, const uint8_t *data, size_t len)
{
	struct pbuf *b = pbuf_alloc();
	assert_non_null(b);
	uint8_t *p = pbuf_put(b, len);
	assert_non_null(p);
	memcpy(p, data, len);
	netif_input(in, b);
}

static void send_local(const uint8_t *data, size_t len, struct netif *hint)
{
	struct pbuf *b = pbuf_alloc();
	assert_non_null(b);
	memcpy(pbuf_put(b, len), data, len);
	ip_router_output_local(&router, b, hint);
}

static void assert_addr(const uint8_t *bytes, const char *text)
{
	struct ip_addr a = ipa(text);
	assert_memory_equal(bytes, a.bytes, ip_addr_size(&a));
}

static void assert_nexthop(const struct sent *s, const char *text)
{
	struct ip_addr a = ipa(text);
	assert_int_equal(s->nexthop.family, a.family);
	assert_memory_equal(s->nexthop.bytes, a.bytes, ip_addr_size(&a));
}

static uint64_t total_drops(const struct netif *n, enum netif_drop_reason why)
{
	return n->stats.drops[why];
}

/*
 * Checks sent[i] is an ICMP error of type/code from src to dst, quoting orig
 * (as much as fits: 576 bytes in all for v4, 1280 for v6), and returns the
 * 32-bit word after the checksum (MTU for too-big errors).
 */
static uint32_t assert_icmp_error(size_t i, struct netif *out, const char *src, const char *dst,
				  uint8_t type, uint8_t code, const uint8_t *orig, size_t orig_len)
{
	assert_true(i < n_sent);
	assert_ptr_equal(sent[i].nif, out);
	const uint8_t *p = pbuf_data(sent[i].b);
	size_t len = sent[i].b->len;
	bool v6 = is_v6(src);
	size_t hl = v6 ? 40 : 20;
	size_t max = v6 ? 1280 : 576;
	size_t quote = orig_len < max - hl - 8 ? orig_len : max - hl - 8;
	assert_int_equal(len, hl + 8 + quote);
	if (v6) {
		assert_int_equal(p[0] >> 4, 6);
		assert_int_equal(get16(p + 4), 8 + quote);
		assert_int_equal(p[6], IPPROTO_ICMPV6);
		assert_int_equal(p[7], 64);
		assert_addr(p + 8, src);
		assert_addr(p + 24, dst);
	} else {
		assert_int_equal(p[0], 0x45);
		assert_int_equal(get16(p + 2), len);
		assert_int_equal(p[8], 64);
		assert_int_equal(p[9], IPPROTO_ICMP);
		assert_addr(p + 12, src);
		assert_addr(p + 16, dst);
		assert_int_equal(ref_fold(ref_sum(p, 20, 0)), 0);
	}
	assert_int_equal(p[hl], type);
	assert_int_equal(p[hl + 1], code);
	assert_int_equal(ref_l4_csum(p, len), 0);
	assert_memory_equal(p + hl + 8, orig, quote);
	return (uint32_t)get16(p + hl + 4) << 16 | get16(p + hl + 6);
}

/* ---- local delivery ---- */

static void check_echo_reply(size_t i, struct netif *out, const char *from, const char *to,
			     const char *nexthop)
{
	assert_true(i < n_sent);
	assert_ptr_equal(sent[i].nif, out);
	assert_nexthop(&sent[i], nexthop);
	uint8_t want[200];
	size_t n = icmp_msg(want, from, to, is_v6(from) ? 129 : 0, 64);
	assert_int_equal(sent[i].b->len, n);
	assert_memory_equal(pbuf_data(sent[i].b), want, n);
}

/*
 * Injects a UDP packet src -> dst (TTL ttl, IP flags frag, len bytes) on in and
 * checks that exactly one ICMP error type/code went back out of in, from
 * `from` to src, quoting it. Returns the word after the checksum; sent[] is
 * left for the caller to look at and clear.
 */
static uint32_t udp_gets_icmp_error(struct netif *in, const char *src, const char *dst, uint8_t ttl,
				    uint16_t frag, size_t len, const char *from, uint8_t type,
				    uint8_t code)
{
	uint8_t p[1500];
	size_t n = udp(p, src, dst, ttl, frag, len);
	inject(in, p, n);
	assert_int_equal(n_sent, 1);
	return assert_icmp_error(0, in, from, src, type, code, p, n);
}

/*
 * A hop-limit-1 packet from behind wg2, which has no global IPv6 address: the
 * one ICMPv6 error that goes back out of wg2 (still in sent[0]).
 */
static const uint8_t *error_from_behind_wg2(void)
{
	uint8_t p[300];
	add_route("fd42:60::/32", FIB_TYPE_UNICAST, wg2.ifindex, NULL);
	inject(&wg2, p, udp(p, "fd42:60::7", "fd42:9::9", 1, 0, 200));
	assert_int_equal(n_sent, 1);
	assert_ptr_equal(sent[0].nif, &wg2);
	return pbuf_data(sent[0].b);
}

static void test_echo_to_each_address(void **state)
{
	(void)state;
	uint8_t p[200];
	size_t n;
	/* Every global address answers from any interface, replies routed back. */
	static const char *const v4[] = { "172.20.1.1", "172.20.2.1", "10.0.0.1" };
	static const char *const v6[] = { "fd42:1::1", "fd42:2::1" };
	struct netif *ins[] = { &wg0, &wg1, &wg2 };
	for (size_t k = 0; k < 3; k++)
		for (size_t a = 0; a < 3; a++) {
			n = ping(p, "172.20.9.9", v4[a], 3);
			inject(ins[k], p, n);
			assert_int_equal(n_sent, 1);
			check_echo_reply(0, &wg0, v4[a], "172.20.9.9", "172.20.9.9");
			clear_sent();
		}
	for (size_t a = 0; a < 2; a++) {
		n = ping(p, "fd42:50::7", v6[a], 1);   /* hop limit 1 is fine for us */
		inject(&wg0, p, n);
		assert_int_equal(n_sent, 1);
		check_echo_reply(0, &wg1, v6[a], "fd42:50::7", "fd42:50::7");
		clear_sent();
	}
	assert_int_equal(router.stats.echo_replies, 11);
	assert_int_equal(router.stats.local_delivered, 11);
	assert_int_equal(router.stats.forwarded, 0);
	/* A sender with no route back: the reply leaves by the interface it came in on. */
	n = ping(p, "192.0.2.55", "172.20.1.1", 64);
	inject(&wg2, p, n);
	assert_int_equal(n_sent, 1);
	check_echo_reply(0, &wg2, "172.20.1.1", "192.0.2.55", "192.0.2.55");
	clear_sent();
}

static void test_echo_link_local(void **state)
{
	(void)state;
	uint8_t p[200];
	size_t n;
	/* fe80::1 belongs to wg0 and wg1: each answers on its own link. */
	n = ping(p, "fe80::2", "fe80::1", 255);
	inject(&wg0, p, n);
	assert_int_equal(n_sent, 1);
	check_echo_reply(0, &wg0, "fe80::1", "fe80::2", "fe80::2");
	clear_sent();
	inject(&wg1, p, n);
	assert_int_equal(n_sent, 1);
	check_echo_reply(0, &wg1, "fe80::1", "fe80::2", "fe80::2");
	clear_sent();
	/* fe80::3 is wg2's: asked on wg0 it is not ours, and link-local is never forwarded. */
	n = ping(p, "fe80::2", "fe80::3", 255);
	inject(&wg0, p, n);
	assert_int_equal(n_sent, 0);
	assert_int_equal(total_drops(&wg0, DROP_MARTIAN), 1);
	inject(&wg2, p, n);
	assert_int_equal(n_sent, 1);
	check_echo_reply(0, &wg2, "fe80::3", "fe80::2", "fe80::2");
	clear_sent();
	assert_ptr_equal(ip_router_local_netif(&router, &(struct ip_addr){ 0 }, NULL), NULL);
	struct ip_addr ll = ipa("fe80::1");
	assert_ptr_equal(ip_router_local_netif(&router, &ll, &wg1), &wg1);
	assert_ptr_equal(ip_router_local_netif(&router, &ll, &wg2), NULL);
	assert_ptr_equal(ip_router_local_netif(&router, &ll, NULL), NULL);
}

static void test_local_udp_port_unreachable(void **state)
{
	(void)state;
	uint8_t p[200];
	/* From the address it was sent to? RFC 1812 4.3.2.4 allows any of ours; we use wg0's. */
	udp_gets_icmp_error(&wg0, "172.20.9.9", "172.20.2.1", 1, 0, 60, "172.20.1.1", 3, 3);
	clear_sent();
	udp_gets_icmp_error(&wg0, "fd42:9::9", "fd42:1::1", 64, 0, 100, "fd42:1::1", 1, 4);
	clear_sent();
	/* Both UDP datagrams were dropped as unsupported after the error. */
	assert_int_equal(total_drops(&wg0, DROP_UNSUPPORTED), 2);
	/* TCP to us with nobody listening: dropped silently (no handler). */
	size_t n = syn(p, "172.20.9.9", "172.20.1.1", 0);
	inject(&wg0, p, n);
	assert_int_equal(n_sent, 0);
	assert_int_equal(total_drops(&wg0, DROP_UNSUPPORTED), 3);
	/* A first fragment to us waits for the rest (ip/reasm.c): nothing sent, nothing dropped. */
	n = udp(p, "172.20.9.9", "172.20.1.1", 64, IP_MF, 100);
	inject(&wg0, p, n);
	assert_int_equal(n_sent, 0);
	assert_int_equal(total_drops(&wg0, DROP_UNSUPPORTED), 3);
	assert_non_null(router.reasm);
	assert_int_equal(ip_reasm_stats(router.reasm)->queues, 1);
}

static int handled;
static bool take_udp(void *ctx, struct netif *in, struct pbuf *b, struct ip_packet *pkt)
{
	assert_ptr_equal(ctx, &handled);
	assert_ptr_equal(in, &wg1);
	if (pkt->proto != IPPROTO_UDP)
		return false;
	handled++;
	pbuf_free(b);
	return true;
}

static void test_local_handler(void **state)
{
	(void)state;
	uint8_t p[200];
	ip_router_set_local_handler(&router, take_udp, &handled);
	handled = 0;
	size_t n = udp(p, "172.21.3.3", "172.20.1.1", 64, 0, 60);
	inject(&wg1, p, n);
	assert_int_equal(handled, 1);
	assert_int_equal(n_sent, 0);
	/* Echo is still answered by the router, not the handler. */
	n = ping(p, "172.21.3.3", "172.20.1.1", 64);
	inject(&wg1, p, n);
	assert_int_equal(handled, 1);
	assert_int_equal(n_sent, 1);
	check_echo_reply(0, &wg1, "172.20.1.1", "172.21.3.3", "172.21.3.3");
	clear_sent();
	/* A refused protocol falls through to the drop. */
	n = syn(p, "172.21.3.3", "172.20.1.1", 0);
	inject(&wg1, p, n);
	assert_int_equal(n_sent, 0);
	assert_int_equal(total_drops(&wg1, DROP_UNSUPPORTED), 1);
}

/* ---- forwarding ---- */

static void test_forward_v4(void **state)
{
	(void)state;
	uint8_t p[1500], want[1500];
	size_t n = udp(p, "172.20.9.9", "172.21.5.5", 64, IP_DF, 300);
	memcpy(want, p, n);
	want[8] = 63;
	fix_v4_header(want);
	inject(&wg0, p, n);
	assert_int_equal(n_sent, 1);
	assert_ptr_equal(sent[0].nif, &wg1);
	assert_nexthop(&sent[0], "172.21.5.5");
	assert_int_equal(sent[0].b->len, n);
	assert_memory_equal(pbuf_data(sent[0].b), want, n);
	assert_int_equal(ref_fold(ref_sum(pbuf_data(sent[0].b), 20, 0)), 0);
	assert_int_equal(router.stats.forwarded, 1);
	clear_sent();
	/* Every TTL from 2 to 255 comes out one lower with a valid checksum. */
	for (unsigned ttl = 2; ttl < 256; ttl++) {
		n = udp(p, "172.20.9.9", "10.1.2.3", (uint8_t)ttl, 0, 100);
		inject(&wg0, p, n);
		assert_int_equal(n_sent, 1);
		assert_ptr_equal(sent[0].nif, &wg2);
		const uint8_t *q = pbuf_data(sent[0].b);
		assert_int_equal(q[8], ttl - 1);
		assert_int_equal(ref_fold(ref_sum(q, 20, 0)), 0);
		clear_sent();
	}
	/* WireGuard padding after the packet is not forwarded. */
	n = udp(p, "172.20.9.9", "172.21.5.5", 64, 0, 61);
	memset(p + n, 0, 3);
	inject(&wg0, p, n + 3);
	assert_int_equal(n_sent, 1);
	assert_int_equal(sent[0].b->len, 61);
	clear_sent();
}

static void test_forward_v6(void **state)
{
	(void)state;
	uint8_t p[1500], want[1500];
	size_t n = udp(p, "fd42:9::9", "fd42:50::1", 2, 0, 1280);
	memcpy(want, p, n);
	want[7] = 1;
	inject(&wg0, p, n);
	assert_int_equal(n_sent, 1);
	assert_ptr_equal(sent[0].nif, &wg1);
	assert_nexthop(&sent[0], "fd42:50::1");
	assert_memory_equal(pbuf_data(sent[0].b), want, n);
	assert_int_equal(ref_l4_csum(pbuf_data(sent[0].b), n), 0);
	clear_sent();
	/* And back the other way. */
	n = ping(p, "fd42:50::1", "fd42:9::1", 64);
	inject(&wg1, p, n);
	assert_int_equal(n_sent, 1);
	assert_ptr_equal(sent[0].nif, &wg0);
	assert_int_equal(pbuf_data(sent[0].b)[7], 63);
	clear_sent();
}

static void test_gateway_route(void **state)
{
	(void)state;
	uint8_t p[200];
	size_t n = udp(p, "172.20.9.9", "172.22.1.1", 64, 0, 80);
	inject(&wg0, p, n);
	assert_int_equal(n_sent, 1);
	assert_ptr_equal(sent[0].nif, &wg1);           /* resolved through 172.20.2.0/24 */
	assert_nexthop(&sent[0], "172.20.2.2");        /* the gateway, not the destination */
	clear_sent();
	n = udp(p, "fd42:9::9", "fd42:70::1", 64, 0, 80);
	inject(&wg0, p, n);
	assert_int_equal(n_sent, 1);
	assert_ptr_equal(sent[0].nif, &wg1);
	assert_nexthop(&sent[0], "fd42:2::2");
	clear_sent();
	/* A gateway with an interface given is used as is. */
	add_route("172.26.0.0/16", FIB_TYPE_UNICAST, wg2.ifindex, "10.0.0.2");
	n = udp(p, "172.20.9.9", "172.26.0.9", 64, 0, 80);
	inject(&wg0, p, n);
	assert_int_equal(n_sent, 1);
	assert_ptr_equal(sent[0].nif, &wg2);
	assert_nexthop(&sent[0], "10.0.0.2");
	clear_sent();
	/* A gateway nothing routes to: no route. */
	add_route("172.27.0.0/16", FIB_TYPE_UNICAST, 0, "192.0.2.1");
	udp_gets_icmp_error(&wg0, "172.20.9.9", "172.27.0.9", 64, 0, 80, "172.20.1.1", 3, 0);
	clear_sent();
	/* The egress lookup helper agrees. */
	struct ip_addr d = ipa("172.22.9.9");
	assert_ptr_equal(ip_router_route_netif(&router, &d, 0), &wg1);
	d = ipa("172.25.0.1");
	assert_ptr_equal(ip_router_route_netif(&router, &d, 0), NULL);
	d = ipa("fe80::5");
	assert_ptr_equal(ip_router_route_netif(&router, &d, wg2.ifindex), &wg2);
}

static void test_time_exceeded(void **state)
{
	(void)state;
	/* TTL 1 and 0, from behind wg1: the error comes from wg1's address, quotes the
	 * packet as it arrived (TTL not decremented) and goes back by the route. */
	for (uint8_t ttl = 0; ttl <= 1; ttl++) {
		udp_gets_icmp_error(&wg1, "172.21.7.7", "172.20.9.9", ttl, 0, 100,
				    "172.20.2.1", 11, 0);
		assert_nexthop(&sent[0], "172.21.7.7");
		clear_sent();
	}
	/* A long packet is quoted up to 576 bytes in all. */
	udp_gets_icmp_error(&wg0, "172.20.9.9", "172.21.7.7", 1, 0, 1400, "172.20.1.1", 11, 0);
	clear_sent();
	udp_gets_icmp_error(&wg1, "fd42:50::7", "fd42:9::9", 1, 0, 1280, "fd42:2::1", 3, 0);
	clear_sent();
	/* wg2 has no global IPv6 address: any global address of the router will do. */
	const uint8_t *e = error_from_behind_wg2();
	assert_int_equal(e[40], 3);
	struct ip_addr src;
	ip_addr_from_v6(&src, e + 8);
	assert_false(ip_addr_is_link_local(&src));
	assert_non_null(ip_router_local_netif(&router, &src, NULL));
	clear_sent();
	assert_int_equal(total_drops(&wg1, DROP_TTL_EXCEEDED), 3);
	assert_int_equal(router.stats.icmp_errors_sent, 5);
	assert_int_equal(router.stats.forwarded, 0);
}

static void test_unreachable(void **state)
{
	(void)state;
	uint8_t p[1500];
	struct { const char *dst; uint8_t type, code; } v4[] = {
		{ "198.51.100.1", 3, 0 },   /* no route */
		{ "172.23.0.1", 3, 1 },     /* unreachable route */
		{ "172.24.0.1", 3, 13 },    /* prohibit route */
		{ "172.25.0.1", 0, 0 },     /* blackhole: silence */
	}, v6[] = {
		{ "2001:db8::1", 1, 0 },
		{ "fd42:23::1", 1, 3 },
		{ "fd42:24::1", 1, 1 },
		{ "fd42:25::1", 0, 0 },
	};
	for (size_t i = 0; i < 4; i++) {
		size_t n = udp(p, "172.20.9.9", v4[i].dst, 64, 0, 200);
		inject(&wg0, p, n);
		if (v4[i].type) {
			assert_int_equal(n_sent, 1);
			assert_icmp_error(0, &wg0, "172.20.1.1", "172.20.9.9", v4[i].type,
					  v4[i].code, p, n);
		} else {
			assert_int_equal(n_sent, 0);
		}
		clear_sent();
		n = udp(p, "fd42:9::9", v6[i].dst, 64, 0, 200);
		inject(&wg0, p, n);
		if (v6[i].type) {
			assert_int_equal(n_sent, 1);
			assert_icmp_error(0, &wg0, "fd42:1::1", "fd42:9::9", v6[i].type,
					  v6[i].code, p, n);
		} else {
			assert_int_equal(n_sent, 0);
		}
		clear_sent();
	}
	assert_int_equal(total_drops(&wg0, DROP_NO_ROUTE), 2);
	assert_int_equal(total_drops(&wg0, DROP_ROUTE_REJECT), 6);
	/* No error about an ICMP error, even with no route. */
	size_t n = icmp_msg(p, "172.20.9.9", "198.51.100.1", 3, 64);
	inject(&wg0, p, n);
	n = icmp_msg(p, "fd42:9::9", "2001:db8::1", 1, 64);
	inject(&wg0, p, n);
	/* Nor about a non-first fragment. */
	n = udp(p, "172.20.9.9", "198.51.100.1", 64, 20, 200);
	inject(&wg0, p, n);
	assert_int_equal(n_sent, 0);
	assert_int_equal(total_drops(&wg0, DROP_NO_ROUTE), 5);
}

static void test_too_big(void **state)
{
	(void)state;
	uint8_t p[1500];
	/* DF set, 1400 bytes toward wg1 (mtu 1280): frag needed with the MTU, nothing sent on. */
	uint32_t w = udp_gets_icmp_error(&wg0, "172.20.9.9", "172.21.5.5", 64, IP_DF, 1400,
					 "172.20.1.1", 3, 4);
	assert_int_equal(w, 1280);    /* bytes 6-7: next-hop MTU; bytes 4-5 zero */
	clear_sent();
	/* Exactly the MTU passes. */
	size_t n = udp(p, "172.20.9.9", "172.21.5.5", 64, IP_DF, 1280);
	inject(&wg0, p, n);
	assert_int_equal(n_sent, 1);
	assert_ptr_equal(sent[0].nif, &wg1);
	clear_sent();
	/* IPv6: packet too big with a 32-bit MTU. */
	w = udp_gets_icmp_error(&wg0, "fd42:9::9", "fd42:50::1", 64, 0, 1400, "fd42:1::1", 2, 0);
	assert_int_equal(w, 1280);
	clear_sent();
	assert_int_equal(total_drops(&wg0, DROP_TOO_BIG), 2);
	assert_int_equal(router.stats.forwarded, 1);
}

static void test_fragment_on_egress(void **state)
{
	(void)state;
	uint8_t p[1500];
	size_t n = udp(p, "172.20.9.9", "10.1.0.9", 64, 0, 1400);
	inject(&wg0, p, n);
	/* wg2's MTU is 576: 552 + 552 + 276 bytes of payload. */
	assert_int_equal(n_sent, 3);
	size_t off = 0;
	for (size_t i = 0; i < n_sent; i++) {
		assert_ptr_equal(sent[i].nif, &wg2);
		assert_nexthop(&sent[i], "10.1.0.9");
		const uint8_t *q = pbuf_data(sent[i].b);
		size_t len = sent[i].b->len;
		assert_true(len <= 576);
		assert_int_equal(get16(q + 2), len);
		assert_int_equal(q[8], 63);                         /* decremented once */
		assert_int_equal(ref_fold(ref_sum(q, 20, 0)), 0);
		assert_int_equal(get16(q + 4), get16(p + 4));
		uint16_t f = get16(q + 6);
		assert_int_equal((size_t)(f & 0x1fff) * 8, off);
		assert_int_equal(!!(f & IP_MF), i + 1 < n_sent);
		assert_memory_equal(q + 20, p + 20 + off, len - 20);
		off += len - 20;
	}
	assert_int_equal(off, n - 20);
	assert_int_equal(router.stats.fragmented, 1);
	assert_int_equal(router.stats.forwarded, 1);
	clear_sent();
}

static void test_martians(void **state)
{
	(void)state;
	uint8_t p[200];
	static const char *const bad4[][2] = {
		{ "127.0.0.1", "172.21.0.1" }, { "0.0.0.0", "172.21.0.1" },
		{ "224.0.0.5", "172.21.0.1" }, { "169.254.1.1", "172.21.0.1" },
		{ "255.255.255.255", "172.21.0.1" },
		{ "172.20.9.9", "127.0.0.1" }, { "172.20.9.9", "0.1.2.3" },
		{ "172.20.9.9", "255.255.255.255" },
		{ "172.20.9.9", "169.254.0.1" }, { "172.20.9.9", "240.0.0.1" },
	};
	static const char *const bad6[][2] = {
		{ "::1", "fd42:50::1" }, { "::", "fd42:50::1" }, { "ff02::1", "fd42:50::1" },
		{ "fe80::9", "fd42:50::1" }, { "::ffff:172.20.9.9", "fd42:50::1" },
		{ "fd42:9::9", "::1" }, { "fd42:9::9", "fe80::99" },
		{ "fd42:9::9", "::ffff:172.21.0.1" }, { "fd42:9::9", "::" },
	};
	size_t want = 0;
	for (size_t i = 0; i < sizeof(bad4) / sizeof(bad4[0]); i++) {
		/* TTL 1 and no route must not tempt an ICMP error either. */
		inject(&wg0, p, udp(p, bad4[i][0], bad4[i][1], 64, 0, 60));
		inject(&wg0, p, udp(p, bad4[i][0], bad4[i][1], 1, 0, 60));
		want += 2;
	}
	for (size_t i = 0; i < sizeof(bad6) / sizeof(bad6[0]); i++) {
		inject(&wg0, p, udp(p, bad6[i][0], bad6[i][1], 64, 0, 60));
		inject(&wg0, p, udp(p, bad6[i][0], bad6[i][1], 1, 0, 60));
		want += 2;
	}
	assert_int_equal(n_sent, 0);
	assert_int_equal(total_drops(&wg0, DROP_MARTIAN), want);
	/* Multicast is never forwarded either: it goes to the sockets that joined the group,
	 * and with none (no handler here) it is dropped, without an error. */
	static const char *const mcast[][2] = { { "172.20.9.9", "224.0.0.5" },
						{ "fd42:9::9", "ff02::5" } };
	for (size_t i = 0; i < 2; i++) {
		inject(&wg0, p, udp(p, mcast[i][0], mcast[i][1], 64, 0, 60));
		inject(&wg0, p, udp(p, mcast[i][0], mcast[i][1], 1, 0, 60));
	}
	assert_int_equal(n_sent, 0);
	assert_int_equal(total_drops(&wg0, DROP_UNSUPPORTED), 4);
	assert_int_equal(router.stats.icmp_errors_sent, 0);
	assert_int_equal(router.stats.forwarded, 0);
}

static void test_martian_source_to_us(void **state)
{
	(void)state;
	uint8_t p[200];
	/*
	 * RFC 1122 3.2.1.3 / RFC 1812 5.3.7: a datagram from a source that cannot be
	 * a unicast sender is discarded, also when it is addressed to us; otherwise a
	 * spoofed ping would make us send echo replies to broadcast or loopback.
	 */
	static const char *const bad[] = { "127.0.0.1", "0.0.0.0", "224.0.0.1",
					   "255.255.255.255", "240.1.2.3", "::1", "::",
					   "ff02::1", "::ffff:172.20.9.9" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool v6 = is_v6(bad[i]);
		inject(&wg0, p, ping(p, bad[i], v6 ? "fd42:1::1" : "172.20.1.1", 64));
		inject(&wg0, p, udp(p, bad[i], v6 ? "fd42:1::1" : "172.20.1.1", 64, 0, 60));
	}
	assert_int_equal(n_sent, 0);
	assert_int_equal(router.stats.echo_replies, 0);
	assert_int_equal(total_drops(&wg0, DROP_MARTIAN), 2 * sizeof(bad) / sizeof(bad[0]));
	/* A link-local source is a fine sender to us (BGP over fe80::). */
	inject(&wg0, p, ping(p, "fe80::2", "fd42:1::1", 64));
	assert_int_equal(n_sent, 1);
	check_echo_reply(0, &wg0, "fd42:1::1", "fe80::2", "fe80::2");
	clear_sent();
	inject(&wg0, p, udp(p, "fe80::2", "fe80::1", 64, 0, 60));
	assert_int_equal(n_sent, 1);
	size_t n = udp(p, "fe80::2", "fe80::1", 64, 0, 60);
	assert_icmp_error(0, &wg0, "fe80::1", "fe80::2", 1, 4, p, n);
	assert_nexthop(&sent[0], "fe80::2");
	clear_sent();
}

static void test_invalid_input(void **state)
{
	(void)state;
	uint8_t p[200];
	size_t n = udp(p, "172.20.9.9", "172.21.0.1", 64, 0, 60);
	p[10] ^= 1;                                 /* header checksum */
	inject(&wg0, p, n);
	inject(&wg0, p, 10);                        /* short */
	memset(p, 0, 40);                           /* version 0 */
	inject(&wg0, p, 40);
	n = udp(p, "fd42:9::9", "fd42:50::1", 64, 0, 100);
	inject(&wg0, p, n - 1);                     /* v6 payload length too long */
	assert_int_equal(n_sent, 0);
	assert_int_equal(total_drops(&wg0, DROP_INVALID_PACKET), 4);
}

static void test_mss_clamp_forwarded(void **state)
{
	(void)state;
	uint8_t p[200];
	/* SYN toward wg1 (mtu 1280): MSS 1460 -> 1240 (v4) / 1220 (v6), checksums valid. */
	size_t n = syn(p, "172.20.9.9", "172.21.0.5", 0);
	inject(&wg0, p, n);
	assert_int_equal(n_sent, 1);
	const uint8_t *q = pbuf_data(sent[0].b);
	assert_int_equal(get16(q + 42), 1240);
	assert_int_equal(q[8], 63);
	assert_int_equal(ref_fold(ref_sum(q, 20, 0)), 0);
	assert_int_equal(ref_l4_csum(q, n), 0);
	clear_sent();
	n = syn(p, "fd42:9::9", "fd42:50::5", 0);
	inject(&wg0, p, n);
	assert_int_equal(n_sent, 1);
	q = pbuf_data(sent[0].b);
	assert_int_equal(get16(q + 62), 1220);
	assert_int_equal(ref_l4_csum(q, n), 0);
	clear_sent();
	assert_int_equal(router.stats.mss_clamped, 2);
	/* Toward wg0 (mtu 1420): 1380. */
	n = syn(p, "172.21.0.5", "172.20.9.9", 0);
	inject(&wg1, p, n);
	assert_int_equal(n_sent, 1);
	q = pbuf_data(sent[0].b);
	assert_int_equal(get16(q + 42), 1380);
	assert_int_equal(ref_l4_csum(q, n), 0);
	clear_sent();
}

static void test_output_local(void **state)
{
	(void)state;
	uint8_t p[1500];
	/* Routed by the FIB, SYN clamped to the egress MTU. */
	size_t n = syn(p, "172.20.1.1", "172.21.0.5", 0);
	send_local(p, n, NULL);
	assert_int_equal(n_sent, 1);
	assert_ptr_equal(sent[0].nif, &wg1);
	assert_nexthop(&sent[0], "172.21.0.5");
	const uint8_t *q = pbuf_data(sent[0].b);
	assert_int_equal(q[8], 64);                    /* our own packet: TTL untouched */
	assert_int_equal(get16(q + 42), 1240);
	assert_int_equal(ref_l4_csum(q, n), 0);
	clear_sent();
	/* Link-local goes by the hint, whatever the FIB says. */
	n = udp(p, "fe80::1", "fe80::2", 1, 0, 80);
	send_local(p, n, &wg1);
	assert_int_equal(n_sent, 1);
	assert_ptr_equal(sent[0].nif, &wg1);
	assert_nexthop(&sent[0], "fe80::2");
	clear_sent();
	/* No route: the hint; no hint: dropped. */
	n = udp(p, "172.20.1.1", "198.51.100.1", 64, 0, 80);
	send_local(p, n, &wg2);
	assert_int_equal(n_sent, 1);
	assert_ptr_equal(sent[0].nif, &wg2);
	clear_sent();
	send_local(p, n, NULL);
	assert_int_equal(n_sent, 0);
	/* A reject route wins over the hint. */
	n = udp(p, "172.20.1.1", "172.24.0.1", 64, 0, 80);
	send_local(p, n, &wg0);
	assert_int_equal(n_sent, 0);
	/* Too big for the egress: fragmented without DF, dropped with it. */
	n = udp(p, "172.20.1.1", "10.1.0.1", 64, 0, 1000);
	send_local(p, n, NULL);
	assert_int_equal(n_sent, 2);
	clear_sent();
	n = udp(p, "172.20.1.1", "10.1.0.1", 64, IP_DF, 1000);
	send_local(p, n, NULL);
	assert_int_equal(n_sent, 0);
	assert_int_equal(total_drops(&wg2, DROP_TOO_BIG), 1);
	/* Garbage is dropped. */
	memset(p, 0xff, 40);
	send_local(p, 40, &wg0);
	assert_int_equal(n_sent, 0);
}

static void test_select_source(void **state)
{
	(void)state;
	struct ip_addr out, d;
	d = ipa("172.21.0.1");
	assert_true(ip_router_select_source(&router, &d, 0, &out));
	assert_addr(out.bytes, "172.20.2.1");
	d = ipa("172.20.2.77");                       /* connected route: its prefsrc */
	assert_true(ip_router_select_source(&router, &d, 0, &out));
	assert_addr(out.bytes, "172.20.2.1");
	d = ipa("fd42:9::1");
	assert_true(ip_router_select_source(&router, &d, 0, &out));
	assert_addr(out.bytes, "fd42:1::1");
	d = ipa("fe80::9");
	assert_true(ip_router_select_source(&router, &d, wg2.ifindex, &out));
	assert_addr(out.bytes, "fe80::3");
	/* A route's prefsrc (krt_prefsrc from BIRD) wins when it is ours. */
	struct fib_route rt;
	memset(&rt, 0, sizeof(rt));
	prefix(&rt.prefix, "172.28.0.0/16");
	rt.ifindex = wg1.ifindex;
	rt.prefsrc = ipa("172.20.1.1");
	assert_int_equal(fib_add(router.fib, &rt, 0), 0);
	d = ipa("172.28.1.1");
	assert_true(ip_router_select_source(&router, &d, 0, &out));
	assert_addr(out.bytes, "172.20.1.1");
}

static void test_icmp_rate_limit(void **state)
{
	(void)state;
	uint8_t p[200];
	size_t n = udp(p, "172.20.9.9", "172.21.0.1", 1, 0, 60);
	/* A burst of 50, then nothing until time passes. */
	for (int i = 0; i < 60; i++)
		inject(&wg0, p, n);
	assert_int_equal(n_sent, ICMP_ERRORS_BURST);
	assert_int_equal(router.stats.icmp_errors_sent, 50);
	assert_int_equal(router.stats.icmp_errors_ratelimited, 10);
	assert_int_equal(total_drops(&wg0, DROP_TTL_EXCEEDED), 60);   /* all dropped */
	clear_sent();
	/* 200/s: one token per 5 ms. */
	loop_set_time(&loop, T0 + 4 * NSEC_PER_MSEC);
	inject(&wg0, p, n);
	assert_int_equal(n_sent, 0);
	loop_set_time(&loop, T0 + 5 * NSEC_PER_MSEC);
	inject(&wg0, p, n);
	inject(&wg0, p, n);
	assert_int_equal(n_sent, 1);
	clear_sent();
	/* 100 ms later: 20 more. */
	loop_set_time(&loop, T0 + 105 * NSEC_PER_MSEC);
	for (int i = 0; i < 30; i++)
		inject(&wg0, p, n);
	assert_int_equal(n_sent, 20);
	clear_sent();
	/* After a long quiet spell the bucket holds the burst, no more. */
	loop_set_time(&loop, T0 + 3600 * NSEC_PER_SEC);
	for (int i = 0; i < 80; i++)
		inject(&wg0, p, n);
	assert_int_equal(n_sent, 50);
	clear_sent();
	/*
	 * Sustained: asked every 7 ms for 2 s, the bucket should give ~200/s, not
	 * one per ask (which would be 143/s): the fraction of a token must carry over.
	 */
	uint64_t t = T0 + 3600 * NSEC_PER_SEC;
	size_t got = 0;
	for (int i = 1; i <= 286; i++) {
		loop_set_time(&loop, t + (uint64_t)i * 7 * NSEC_PER_MSEC);
		inject(&wg0, p, n);
		inject(&wg0, p, n);
		got += n_sent;
		clear_sent();
	}
	/* 2.002 s at 200/s = 400 tokens, 2 asks per 7 ms can take them all. */
	assert_in_range(got, 395, 401);
	/* Echo replies are not rate limited. */
	for (int i = 0; i < 100; i++) {
		size_t m = ping(p, "172.20.9.9", "172.20.1.1", 64);
		inject(&wg0, p, m);
	}
	assert_int_equal(n_sent, 100);
	clear_sent();
}

static void test_netif_lookup(void **state)
{
	(void)state;
	assert_ptr_equal(ip_router_netif_by_name(&router, "wg1"), &wg1);
	assert_ptr_equal(ip_router_netif_by_name(&router, "wg9"), NULL);
	assert_ptr_equal(ip_router_netif_by_index(&router, wg2.ifindex), &wg2);
	assert_ptr_equal(ip_router_netif_by_index(&router, 0), NULL);
	assert_ptr_equal(ip_router_netif_by_index(&router, 99), NULL);
	assert_ptr_equal(wg0.router, &router);
	/* Connected routes: one per address shorter than a host prefix. */
	struct ip_addr d = ipa("172.20.2.200");
	struct fib_route rt;
	assert_int_equal(fib_lookup(router.fib, &d, &rt), 0);
	assert_int_equal(rt.ifindex, wg1.ifindex);
	assert_int_equal(rt.prefix.len, 24);
	d = ipa("10.0.0.2");
	assert_int_equal(fib_lookup(router.fib, &d, &rt), 0);
	assert_int_equal(rt.ifindex, wg2.ifindex);
	d = ipa("172.20.1.2");                       /* wg0 has a /32: no connected route */
	assert_int_not_equal(fib_lookup(router.fib, &d, &rt), 0);
}

/* ---- lo, up/down, the source of ICMP errors ---- */

static void test_loopback_netif(void **state)
{
	(void)state;
	struct netif *lo = ip_router_netif_by_index(&router, IP_LOOPBACK_IFINDEX);
	assert_ptr_equal(lo, &router.loopback);
	assert_ptr_equal(ip_router_netif_by_name(&router, "lo"), lo);
	assert_int_equal(lo->ops->kind, NETIF_KIND_LOOPBACK);
	assert_ptr_equal(router.netifs[0], lo);
	/* It lives as long as the router: no delete, no down, no second "lo". */
	assert_int_equal(ip_router_del_netif(&router, lo), -EOPNOTSUPP);
	assert_int_equal(ip_router_set_up(&router, lo, false), -EOPNOTSUPP);
	ip_router_destroy_netif(&router, lo);
	assert_ptr_equal(ip_router_netif_by_index(&router, IP_LOOPBACK_IFINDEX), lo);
	struct netif dup;
	memset(&dup, 0, sizeof(dup));
	snprintf(dup.name, sizeof(dup.name), "lo");
	dup.ops = &record_ops;
	assert_int_equal(ip_router_add_netif(&router, &dup), -EEXIST);

	/* The node's address on lo is ours: echo answered back through the ingress interface. */
	struct ip_prefix node;
	prefix(&node, "172.20.0.53/32");
	assert_int_equal(ip_router_add_address(&router, lo, &node, NULL), 0);
	uint8_t p[200];
	size_t n = ping(p, "172.20.9.9", "172.20.0.53", 64);
	inject(&wg0, p, n);
	assert_int_equal(n_sent, 1);
	assert_ptr_equal(sent[0].nif, &wg0);
	const uint8_t *r = pbuf_data(sent[0].b);
	assert_addr(r + 12, "172.20.0.53");
	assert_int_equal(r[20], 0);   /* echo reply */
	clear_sent();
	assert_int_equal(router.stats.echo_replies, 1);
	/* Used as a route's preferred source. */
	struct fib_route rt;
	memset(&rt, 0, sizeof(rt));
	prefix(&rt.prefix, "172.26.0.0/16");
	rt.type = FIB_TYPE_UNICAST;
	rt.ifindex = wg1.ifindex;
	rt.prefsrc = ipa("172.20.0.53");
	assert_int_equal(fib_add(router.fib, &rt, 0), 0);
	struct ip_addr src, dst = ipa("172.26.1.1");
	assert_true(ip_router_select_source(&router, &dst, 0, &src));
	assert_addr(src.bytes, "172.20.0.53");
}

static void test_icmp_error_source(void **state)
{
	(void)state;
	/* A route back to the sender with a preferred source that is ours (BIRD's krt_prefsrc):
	 * the error comes from it, not from the ingress interface (Linux's default). */
	struct ip_prefix node4, node6;
	prefix(&node4, "172.20.0.53/32");
	prefix(&node6, "fd42:53::1/128");
	assert_int_equal(ip_router_add_address(&router, &router.loopback, &node4, NULL), 0);
	assert_int_equal(ip_router_add_address(&router, &router.loopback, &node6, NULL), 0);
	struct fib_route rt;
	memset(&rt, 0, sizeof(rt));
	prefix(&rt.prefix, "172.21.7.0/24");
	rt.type = FIB_TYPE_UNICAST;
	rt.ifindex = wg1.ifindex;
	rt.prefsrc = ipa("172.20.0.53");
	assert_int_equal(fib_add(router.fib, &rt, 0), 0);
	udp_gets_icmp_error(&wg1, "172.21.7.7", "172.20.9.9", 1, 0, 100, "172.20.0.53", 11, 0);
	clear_sent();
	/* No such route (172.21/16 has no prefsrc): the ingress interface's address. */
	udp_gets_icmp_error(&wg1, "172.21.8.8", "172.20.9.9", 1, 0, 100, "172.20.2.1", 11, 0);
	clear_sent();
	/* wg2 has no global IPv6 address: lo's node address comes first. */
	const uint8_t *e = error_from_behind_wg2();
	assert_addr(e + 8, "fd42:53::1");
	clear_sent();
}

static void test_set_down_up(void **state)
{
	(void)state;
	uint8_t p[200];
	/* Down: the connected route and every route through wg1 go, its addresses are not ours,
	 * it neither receives nor sends. */
	assert_int_equal(ip_router_set_up(&router, &wg1, false), 0);
	assert_true(wg1.down);
	struct fib_route rt;
	struct ip_addr d = ipa("172.20.2.200");
	assert_int_not_equal(fib_lookup(router.fib, &d, &rt), 0);
	d = ipa("172.21.1.1");
	assert_int_not_equal(fib_lookup(router.fib, &d, &rt), 0);
	d = ipa("172.20.2.1");
	assert_null(ip_router_local_netif(&router, &d, NULL));
	size_t n = ping(p, "172.21.7.7", "172.20.1.1", 64);
	inject(&wg1, p, n);
	assert_int_equal(n_sent, 0);
	/* A link-local destination through the down interface (no route needed): dropped. */
	n = ping(p, "fe80::1", "fe80::9", 64);
	send_local(p, n, &wg1);
	assert_int_equal(n_sent, 0);
	/* Up: the connected route is back (routes of others are theirs to re-add). */
	assert_int_equal(ip_router_set_up(&router, &wg1, true), 0);
	d = ipa("172.20.2.200");
	assert_int_equal(fib_lookup(router.fib, &d, &rt), 0);
	assert_int_equal(rt.ifindex, wg1.ifindex);
	d = ipa("172.20.2.1");
	assert_ptr_equal(ip_router_local_netif(&router, &d, NULL), &wg1);
	inject(&wg1, p, ping(p, "172.20.2.9", "172.20.2.1", 64));
	assert_int_equal(n_sent, 1);
	clear_sent();
}

/* ---- the index of our own addresses ---- */

static void test_local_address_index(void **state)
{
	(void)state;
	struct netif *lo = &router.loopback;
	char text[64];
	/* Many addresses (the index grows), each found on its interface. */
	for (int i = 0; i < 100; i++) {
		struct ip_prefix p4, p6;
		snprintf(text, sizeof(text), "192.0.2.%d/32", i);
		prefix(&p4, text);
		snprintf(text, sizeof(text), "2001:db8::%x/128", i);
		prefix(&p6, text);
		assert_int_equal(ip_router_add_address(&router, lo, &p4, NULL), 0);
		assert_int_equal(ip_router_add_address(&router, lo, &p6, NULL), 0);
	}
	assert_true(router.local_addrs_ok);
	for (int i = 0; i < 100; i++) {
		snprintf(text, sizeof(text), "192.0.2.%d", i);
		struct ip_addr a = ipa(text);
		assert_ptr_equal(ip_router_local_netif(&router, &a, NULL), lo);
		snprintf(text, sizeof(text), "2001:db8::%x", i);
		a = ipa(text);
		assert_ptr_equal(ip_router_local_netif(&router, &a, NULL), lo);
	}
	struct ip_addr a = ipa("192.0.2.100");
	assert_null(ip_router_local_netif(&router, &a, NULL));
	/* IPv4 and IPv6 with the same leading bytes are different addresses. */
	struct ip_prefix p;
	prefix(&p, "c000:264::/128");   /* starts with the bytes of 192.0.2.100 */
	assert_int_equal(ip_router_add_address(&router, lo, &p, NULL), 0);
	assert_null(ip_router_local_netif(&router, &a, NULL));
	a = ipa("c000:264::");
	assert_ptr_equal(ip_router_local_netif(&router, &a, NULL), lo);

	/* The same address on two interfaces: the first in interface order, as the scan found it. */
	a = ipa("172.20.2.1");
	assert_ptr_equal(ip_router_local_netif(&router, &a, NULL), &wg1);
	prefix(&p, "172.20.2.1/32");
	assert_int_equal(ip_router_add_address(&router, lo, &p, NULL), 0);
	assert_ptr_equal(ip_router_local_netif(&router, &a, NULL), lo);
	assert_int_equal(ip_router_del_address(&router, lo, &p), 0);
	assert_ptr_equal(ip_router_local_netif(&router, &a, NULL), &wg1);
	/* Down and up again, removed, as the API changes them. */
	assert_int_equal(ip_router_set_up(&router, &wg1, false), 0);
	assert_null(ip_router_local_netif(&router, &a, NULL));
	assert_int_equal(ip_router_set_up(&router, &wg1, true), 0);
	assert_ptr_equal(ip_router_local_netif(&router, &a, NULL), &wg1);
	prefix(&p, "192.0.2.7/32");
	assert_int_equal(ip_router_del_address(&router, lo, &p), 0);
	a = ipa("192.0.2.7");
	assert_null(ip_router_local_netif(&router, &a, NULL));
	/* Link-local: only on the ingress interface, never from the index. */
	a = ipa("fe80::1");
	assert_null(ip_router_local_netif(&router, &a, NULL));
	assert_ptr_equal(ip_router_local_netif(&router, &a, &wg1), &wg1);
	assert_null(ip_router_local_netif(&router, &a, &wg2));
	/* An interface that leaves takes its addresses along. */
	assert_int_equal(ip_router_del_netif(&router, &wg2), 0);
	a = ipa("10.0.0.1");
	assert_null(ip_router_local_netif(&router, &a, NULL));
	assert_int_equal(ip_router_add_netif(&router, &wg2), 0);
	assert_ptr_equal(ip_router_local_netif(&router, &a, NULL), &wg2);

	/* The index itself: first value stays, at most half full. */
	struct addr_index ix = { 0 };
	assert_int_equal(addr_index_reset(&ix, 2), 0);
	a = ipa("10.1.1.1");
	int one, two;
	assert_int_equal(addr_index_put(&ix, &a, &one), 0);
	assert_int_equal(addr_index_put(&ix, &a, &two), 0);
	assert_ptr_equal(addr_index_get(&ix, &a), &one);
	int put = 0;
	for (int i = 0; i < 10; i++) {
		snprintf(text, sizeof(text), "10.2.0.%d", i);
		struct ip_addr b = ipa(text);
		if (addr_index_put(&ix, &b, &two) == 0)
			put++;
	}
	assert_true(put > 0 && 2 * (put + 1) <= (int)ix.cap);
	struct ip_addr none = { 0 };
	assert_null(addr_index_get(&ix, &none));
	addr_index_free(&ix);
	assert_null(addr_index_get(&ix, &a));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_echo_to_each_address),
		T(test_echo_link_local),
		T(test_local_udp_port_unreachable),
		T(test_local_handler),
		T(test_forward_v4),
		T(test_forward_v6),
		T(test_gateway_route),
		T(test_time_exceeded),
		T(test_unreachable),
		T(test_too_big),
		T(test_fragment_on_egress),
		T(test_martians),
		T(test_martian_source_to_us),
		T(test_invalid_input),
		T(test_mss_clamp_forwarded),
		T(test_output_local),
		T(test_select_source),
		T(test_icmp_rate_limit),
		T(test_netif_lookup),
		T(test_loopback_netif),
		T(test_icmp_error_source),
		T(test_set_down_up),
		T(test_local_address_index),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
