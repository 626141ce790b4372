/*
 * ip/reasm.c (reassembly of datagrams to the router) and ip/frag_local.c
 * (fragments of datagrams the router sends): fragments are built here by
 * hand, byte by byte, and the round trip frag_local -> reasm must give the
 * datagram back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pbuf.h"
#include "ip/frag_local.h"
#include "ip/packet.h"
#include "ip/reasm.h"
#include "testlib.h"

#define S 1000000000ull

static uint8_t payload[70000];

static int setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + i / 251);
	return 0;
}

/* An IPv4 fragment: data = payload[off, off + len) of datagram id. */
static size_t frag4(uint8_t *p, const char *src, const char *dst, uint16_t id, size_t off,
		    size_t len, bool more)
{
	struct ip_addr s = ipa(src), d = ipa(dst);
	struct tl_ip h = { AF_INET, s.bytes, d.bytes, .proto = 17, .ttl = 64, .id = id,
			   .frag = (uint16_t)((more ? 0x2000 : 0) | (off / 8)) };
	tl_ip_header(p, &h, len);
	memcpy(p + 20, payload + off, len);
	return 20 + len;
}

/* An IPv6 fragment, optionally with a Destination Options header before the Fragment header. */
static size_t frag6(uint8_t *p, const char *src, const char *dst, uint32_t id, size_t off,
		    size_t len, bool more, bool dstopts)
{
	struct ip_addr s = ipa(src), d = ipa(dst);
	struct tl_ip ip6 = { AF_INET6, s.bytes, d.bytes, .proto = dstopts ? 60 : 44, .ttl = 64 };
	size_t h = tl_ip_header(p, &ip6, 0);   /* payload length set below */
	if (dstopts) {
		memset(p + h, 0, 8);
		p[h] = 44;        /* next: Fragment */
		p[h + 1] = 0;     /* 8 bytes */
		p[h + 2] = 1;     /* PadN, 4 bytes of padding */
		p[h + 3] = 4;
		h += 8;
	}
	p[h] = 17;
	p[h + 1] = 0;
	put16(p + h + 2, (uint16_t)(off | (more ? 1 : 0)));
	p[h + 4] = (uint8_t)(id >> 24);
	p[h + 5] = (uint8_t)(id >> 16);
	p[h + 6] = (uint8_t)(id >> 8);
	p[h + 7] = (uint8_t)id;
	h += 8;
	memcpy(p + h, payload + off, len);
	put16(p + 4, (uint16_t)(h - 40 + len));
	return h + len;
}

static struct pbuf *held;   /* the last fragment's buffer (the module copies) */

static enum ip_reasm_result feed(struct ip_reasm *r, const uint8_t *p, size_t n, uint64_t now,
				 uint8_t **out, size_t *out_len)
{
	if (held)
		pbuf_free(held);
	held = pbuf_alloc();
	assert_non_null(held);
	memcpy(pbuf_put(held, n), p, n);
	struct ip_packet pkt;
	assert_int_equal(ip_packet_parse(held, &pkt), 0);
	assert_true(ip_reasm_is_fragment(&pkt));
	return ip_reasm_input(r, &pkt, 2, now, out, out_len);
}

static void check_v4_whole(const uint8_t *out, size_t len, size_t plen)
{
	assert_int_equal(len, 20 + plen);
	assert_int_equal(get16(out + 2), 20 + plen);
	assert_int_equal(get16(out + 6) & 0x3fff, 0);   /* no MF, no offset */
	assert_int_equal(ref_fold(ref_sum(out, 20, 0)), 0);
	assert_memory_equal(out + 20, payload, plen);
}

static void test_v4_in_order(void **state)
{
	(void)state;
	struct ip_reasm *r = ip_reasm_new();
	uint8_t p[2000], *out;
	size_t n, len;
	n = frag4(p, "172.20.0.2", "172.20.0.1", 7, 0, 1400, true);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	n = frag4(p, "172.20.0.2", "172.20.0.1", 7, 1400, 1400, true);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	n = frag4(p, "172.20.0.2", "172.20.0.1", 7, 2800, 333, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DONE);
	check_v4_whole(out, len, 3133);
	free(out);
	assert_int_equal(ip_reasm_stats(r)->reassembled, 1);
	assert_int_equal(ip_reasm_stats(r)->queues, 0);
	assert_int_equal(ip_reasm_stats(r)->bytes, 0);
	ip_reasm_free(r);
}

static void test_v6_out_of_order(void **state)
{
	(void)state;
	struct ip_reasm *r = ip_reasm_new();
	uint8_t p[2000], *out;
	size_t n, len;
	n = frag6(p, "fd42::2", "fd42::1", 0xdeadbeef, 2464, 100, false, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	n = frag6(p, "fd42::2", "fd42::1", 0xdeadbeef, 0, 1232, true, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	n = frag6(p, "fd42::2", "fd42::1", 0xdeadbeef, 1232, 1232, true, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DONE);
	assert_int_equal(len, 40 + 2564);
	assert_int_equal(get16(out + 4), 2564);
	assert_int_equal(out[6], 17);   /* the Fragment header is gone */
	assert_memory_equal(out + 40, payload, 2564);
	free(out);
	ip_reasm_free(r);
}

static void test_v6_extension_header_kept(void **state)
{
	(void)state;
	struct ip_reasm *r = ip_reasm_new();
	uint8_t p[2000], *out;
	size_t n, len;
	n = frag6(p, "fd42::2", "fd42::1", 5, 0, 1000, true, true);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	n = frag6(p, "fd42::2", "fd42::1", 5, 1000, 10, false, true);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DONE);
	assert_int_equal(len, 48 + 1010);
	assert_int_equal(get16(out + 4), 8 + 1010);
	assert_int_equal(out[6], 60);     /* still the Destination Options header */
	assert_int_equal(out[40], 17);    /* which now points at UDP */
	assert_memory_equal(out + 48, payload, 1010);
	free(out);
	ip_reasm_free(r);
}

static void test_interleaved_datagrams(void **state)
{
	(void)state;
	struct ip_reasm *r = ip_reasm_new();
	uint8_t p[2000], *out;
	size_t n, len;
	/* same id, different sources; and same source, different ids */
	n = frag4(p, "172.20.0.2", "172.20.0.1", 9, 0, 800, true);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	n = frag4(p, "172.20.0.3", "172.20.0.1", 9, 0, 800, true);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	n = frag4(p, "172.20.0.2", "172.20.0.1", 10, 800, 8, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	assert_int_equal(ip_reasm_stats(r)->queues, 3);
	n = frag4(p, "172.20.0.3", "172.20.0.1", 9, 800, 8, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DONE);
	check_v4_whole(out, len, 808);
	assert_memory_equal(out + 12, ipa("172.20.0.3").bytes, 4);
	free(out);
	assert_int_equal(ip_reasm_stats(r)->queues, 2);
	ip_reasm_free(r);   /* frees the queues left */
}

static void test_overlap_v6_discards_datagram(void **state)
{
	(void)state;
	struct ip_reasm *r = ip_reasm_new();
	uint8_t p[2000], *out;
	size_t n, len;
	n = frag6(p, "fd42::2", "fd42::1", 1, 0, 1232, true, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	/* RFC 5722: a fragment overlapping another drops the whole datagram... */
	n = frag6(p, "fd42::2", "fd42::1", 1, 1224, 1232, true, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DROPPED);
	assert_int_equal(ip_reasm_stats(r)->overlaps, 1);
	/* ...and the fragments still to come of it */
	n = frag6(p, "fd42::2", "fd42::1", 1, 1232, 1232, true, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DROPPED);
	n = frag6(p, "fd42::2", "fd42::1", 1, 2464, 8, false, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DROPPED);
	assert_int_equal(ip_reasm_stats(r)->reassembled, 0);
	/* the dead queue goes at its timeout, without an ICMP error */
	assert_int_equal(ip_reasm_expire(r, S + REASM_TIMEOUT6_NS + 1, NULL, NULL), 0);
	assert_int_equal(ip_reasm_stats(r)->queues, 0);
	assert_int_equal(ip_reasm_stats(r)->timeouts, 0);
	ip_reasm_free(r);
}

static void test_overlap_v4_and_conflicting_ends(void **state)
{
	(void)state;
	struct ip_reasm *r = ip_reasm_new();
	uint8_t p[2000], *out;
	size_t n, len;
	n = frag4(p, "172.20.0.2", "172.20.0.1", 3, 800, 800, true);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	n = frag4(p, "172.20.0.2", "172.20.0.1", 3, 0, 808, true);   /* covers 800..808 again */
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DROPPED);
	assert_int_equal(ip_reasm_stats(r)->overlaps, 1);
	/* two last fragments that disagree on the end */
	n = frag4(p, "172.20.0.2", "172.20.0.1", 4, 800, 16, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	n = frag4(p, "172.20.0.2", "172.20.0.1", 4, 800, 24, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DROPPED);
	/* data beyond a known end */
	n = frag4(p, "172.20.0.2", "172.20.0.1", 5, 800, 16, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	n = frag4(p, "172.20.0.2", "172.20.0.1", 5, 816, 8, true);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DROPPED);
	assert_int_equal(ip_reasm_stats(r)->overlaps, 3);
	ip_reasm_free(r);
}

static void test_duplicates_ignored(void **state)
{
	(void)state;
	struct ip_reasm *r = ip_reasm_new();
	uint8_t p[2000], *out;
	size_t n, len;
	n = frag4(p, "172.20.0.2", "172.20.0.1", 11, 0, 1000, true);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	assert_int_equal(ip_reasm_stats(r)->duplicates, 1);
	n = frag4(p, "172.20.0.2", "172.20.0.1", 11, 1000, 5, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DONE);
	check_v4_whole(out, len, 1005);
	free(out);
	ip_reasm_free(r);
}

static int n_expired;
static uint8_t expired_first[2000];
static size_t expired_len;
static void on_expired(void *ctx, const uint8_t *first, size_t len, uint32_t ifindex)
{
	assert_ptr_equal(ctx, &n_expired);
	assert_int_equal(ifindex, 2);
	n_expired++;
	memcpy(expired_first, first, len);
	expired_len = len;
}

static void test_timeouts(void **state)
{
	(void)state;
	struct ip_reasm *r = ip_reasm_new();
	uint8_t p[2000], first[2000], *out;
	size_t n, nf, len;
	n_expired = 0;
	nf = frag4(first, "172.20.0.2", "172.20.0.1", 12, 0, 1000, true);
	assert_int_equal(feed(r, first, nf, S, &out, &len), REASM_HELD);
	n = frag6(p, "fd42::2", "fd42::1", 12, 0, 1000, true, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	/* a datagram whose first fragment never came: given up without an error */
	n = frag4(p, "172.20.0.2", "172.20.0.1", 13, 1000, 8, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	assert_int_equal(ip_reasm_expire(r, S + 29 * S, on_expired, &n_expired), S + 30 * S);
	assert_int_equal(n_expired, 0);
	/* 30 s for IPv4: the error quotes the first fragment as it came */
	assert_int_equal(ip_reasm_expire(r, S + 30 * S, on_expired, &n_expired), S + 60 * S);
	assert_int_equal(n_expired, 1);
	assert_int_equal(expired_len, nf);
	assert_memory_equal(expired_first, first, nf);
	assert_int_equal(ip_reasm_stats(r)->queues, 1);
	/* 60 s for IPv6 */
	assert_int_equal(ip_reasm_expire(r, S + 60 * S, on_expired, &n_expired), 0);
	assert_int_equal(n_expired, 2);
	assert_int_equal(ip_reasm_stats(r)->timeouts, 3);
	assert_int_equal(ip_reasm_stats(r)->queues, 0);
	assert_int_equal(ip_reasm_stats(r)->bytes, 0);
	/* a late fragment starts afresh */
	n = frag4(p, "172.20.0.2", "172.20.0.1", 12, 1000, 8, false);
	assert_int_equal(feed(r, p, n, 62 * S, &out, &len), REASM_HELD);
	ip_reasm_free(r);
}

static void test_too_many_fragments(void **state)
{
	(void)state;
	struct ip_reasm *r = ip_reasm_new();
	uint8_t p[200], *out;
	size_t n, len;
	for (size_t i = 0; i < REASM_MAX_FRAGS; i++) {
		n = frag6(p, "fd42::2", "fd42::1", 77, i * 16, 8, true, false);   /* every other slot */
		assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	}
	n = frag6(p, "fd42::2", "fd42::1", 77, REASM_MAX_FRAGS * 16, 8, true, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DROPPED);
	assert_int_equal(ip_reasm_stats(r)->too_many, 1);
	ip_reasm_free(r);
}

static void test_too_big_and_malformed(void **state)
{
	(void)state;
	struct ip_reasm *r = ip_reasm_new();
	uint8_t p[2000], *out;
	size_t n, len;
	/* IPv4: offset 65528 + 16 bytes passes 65535 with the header */
	n = frag4(p, "172.20.0.2", "172.20.0.1", 20, 65528, 16, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DROPPED);
	/* IPv6: offset 65528 + 16 bytes passes the 65535-byte payload */
	n = frag6(p, "fd42::2", "fd42::1", 20, 65528, 16, false, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DROPPED);
	assert_int_equal(ip_reasm_stats(r)->too_big, 2);
	/* a fragment that is not the last must carry a multiple of 8 bytes */
	n = frag4(p, "172.20.0.2", "172.20.0.1", 21, 0, 1001, true);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DROPPED);
	n = frag6(p, "fd42::2", "fd42::1", 21, 8, 0, true, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DROPPED);
	assert_int_equal(ip_reasm_stats(r)->too_big, 4);
	assert_int_equal(ip_reasm_stats(r)->queues, 0);
	ip_reasm_free(r);
}

static void test_per_source_limit(void **state)
{
	(void)state;
	struct ip_reasm *r = ip_reasm_new();
	uint8_t p[2000], *out;
	size_t n, len;
	for (uint16_t id = 0; id < REASM_MAX_PER_SRC; id++) {
		n = frag4(p, "172.20.0.66", "172.20.0.1", id, 0, 8, true);
		assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	}
	n = frag4(p, "172.20.0.66", "172.20.0.1", 999, 0, 8, true);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DROPPED);
	assert_int_equal(ip_reasm_stats(r)->no_room, 1);
	/* another source still gets a queue */
	n = frag4(p, "172.20.0.2", "172.20.0.1", 999, 0, 8, true);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	ip_reasm_free(r);
}

static void test_queue_limit(void **state)
{
	(void)state;
	struct ip_reasm *r = ip_reasm_new();
	uint8_t p[2000], *out;
	size_t n, len;
	char src[32];
	for (int i = 0; i < REASM_MAX_QUEUES; i++) {
		snprintf(src, sizeof(src), "172.20.1.%d", i + 1);
		n = frag4(p, src, "172.20.0.1", 1, 0, 8, true);
		assert_int_equal(feed(r, p, n, S, &out, &len), REASM_HELD);
	}
	n = frag4(p, "172.20.2.1", "172.20.0.1", 1, 0, 8, true);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DROPPED);
	assert_int_equal(ip_reasm_stats(r)->queues, REASM_MAX_QUEUES);
	assert_true(ip_reasm_stats(r)->bytes <= REASM_MAX_BYTES);
	ip_reasm_free(r);
}

static void test_atomic_fragment(void **state)
{
	(void)state;
	struct ip_reasm *r = ip_reasm_new();
	uint8_t p[2000], *out;
	size_t n, len;
	n = frag6(p, "fd42::2", "fd42::1", 30, 0, 300, false, false);
	assert_int_equal(feed(r, p, n, S, &out, &len), REASM_DONE);
	assert_int_equal(len, 340);
	assert_int_equal(out[6], 17);
	assert_memory_equal(out + 40, payload, 300);
	free(out);
	assert_int_equal(ip_reasm_stats(r)->queues, 0);
	ip_reasm_free(r);
}

/* ---- frag_local, and the round trip into reasm ---- */

struct collected {
	struct pbuf *b[160];
	int n;
};

static void collect(void *ctx, struct pbuf *b)
{
	struct collected *c = ctx;
	assert_true(c->n < 160);
	c->b[c->n++] = b;
}

static void round_trip(const char *src, const char *dst, size_t l4len, uint16_t mtu, int want_n)
{
	struct ip_frag_spec sp = { .src = ipa(src), .dst = ipa(dst), .proto = 17, .ttl = 9,
				   .tos = 0, .df = true, .id = 0x1234abcd };
	struct collected c = { .n = 0 };
	int n = ip_frag_local(&sp, payload, l4len, mtu, collect, &c);
	assert_int_equal(n, want_n);
	assert_int_equal(c.n, n);
	bool v4 = sp.src.family == AF_INET;
	if (n == 1) {
		struct ip_packet pkt;
		assert_int_equal(ip_packet_parse(c.b[0], &pkt), 0);
		assert_false(ip_reasm_is_fragment(&pkt));
		assert_int_equal(pkt.total_len, (v4 ? 20 : 40) + l4len);
		if (v4)
			assert_int_equal(get16(pkt.hdr + 6), 0x4000);   /* DF as asked */
		assert_memory_equal(pkt.hdr + pkt.hdr_len, payload, l4len);
		pbuf_free(c.b[0]);
		return;
	}
	struct ip_reasm *r = ip_reasm_new();
	uint8_t *out = NULL;
	size_t len = 0;
	/* last to first: order does not matter */
	for (int i = n - 1; i >= 0; i--) {
		struct ip_packet pkt;
		assert_true(c.b[i]->len <= mtu);
		assert_int_equal(ip_packet_parse(c.b[i], &pkt), 0);
		assert_true(ip_reasm_is_fragment(&pkt));
		if (v4)
			assert_int_equal(get16(pkt.hdr + 6) & 0x4000, 0);   /* fragments never DF */
		enum ip_reasm_result res = ip_reasm_input(r, &pkt, 2, S, &out, &len);
		assert_int_equal(res, i ? REASM_HELD : REASM_DONE);
		pbuf_free(c.b[i]);
	}
	assert_int_equal(len, (v4 ? 20 : 40) + l4len);
	assert_int_equal(v4 ? out[9] : out[6], 17);
	assert_int_equal(v4 ? out[8] : out[7], 9);
	assert_memory_equal(out + (v4 ? 20 : 40), payload, l4len);
	free(out);
	ip_reasm_free(r);
}

static void test_frag_local_round_trip(void **state)
{
	(void)state;
	round_trip("172.20.0.1", "172.20.0.2", 1000, 1420, 1);
	round_trip("172.20.0.1", "172.20.0.2", 5181, 1420, 4);      /* 1400-byte pieces */
	round_trip("fd42::1", "fd42::2", 5181, 1420, 4);            /* 1368-byte pieces */
	round_trip("fd42::1", "fd42::2", 5181, 1280, 5);            /* IPV6_MTU 1280: 1232 */
	round_trip("172.20.0.1", "172.20.0.2", 65515, 1420, 47);    /* the largest IPv4 datagram */
	round_trip("fd42::1", "fd42::2", 65535, 1280, 54);          /* the largest IPv6 payload */
}

static void test_frag_local_limits(void **state)
{
	(void)state;
	struct ip_frag_spec sp = { .src = ipa("172.20.0.1"), .dst = ipa("172.20.0.2"),
				   .proto = 17, .ttl = 64 };
	struct collected c = { .n = 0 };
	assert_int_equal(ip_frag_local(&sp, payload, 65516, 1420, collect, &c), -EMSGSIZE);
	assert_int_equal(ip_frag_local(&sp, payload, 1000, 24, collect, &c), -EMSGSIZE);
	sp.src = ipa("fd42::1");
	sp.dst = ipa("fd42::2");
	assert_int_equal(ip_frag_local(&sp, payload, 65536, 1280, collect, &c), -EMSGSIZE);
	assert_int_equal(c.n, 0);
	assert_int_equal(ip_frag_room(AF_INET, 1420), 1400);
	assert_int_equal(ip_frag_room(AF_INET6, 1420), 1368);
	assert_int_equal(ip_frag_room(AF_INET6, 1280), 1232);
}

static int teardown(void **state)
{
	(void)state;
	if (held)
		pbuf_free(held);
	held = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_in_order),
		cmocka_unit_test(test_v6_out_of_order),
		cmocka_unit_test(test_v6_extension_header_kept),
		cmocka_unit_test(test_interleaved_datagrams),
		cmocka_unit_test(test_overlap_v6_discards_datagram),
		cmocka_unit_test(test_overlap_v4_and_conflicting_ends),
		cmocka_unit_test(test_duplicates_ignored),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_too_many_fragments),
		cmocka_unit_test(test_too_big_and_malformed),
		cmocka_unit_test(test_per_source_limit),
		cmocka_unit_test(test_queue_limit),
		cmocka_unit_test(test_atomic_fragment),
		cmocka_unit_test(test_frag_local_round_trip),
		cmocka_unit_test(test_frag_local_limits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
