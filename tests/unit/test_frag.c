/*
 * Unit tests for IPv4 fragmentation (ip/frag.c, RFC 791 3.2 and RFC 1812
 * 5.2.6): every fragment fits the MTU, offsets are in 8-byte units, MF is set
 * on all but the last, the payloads reassemble to the original, options are
 * copied by their copy bit, and re-fragmenting a fragment keeps its place.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "core/pbuf.h"
#include "ip/frag.h"
#include "ip/packet.h"
#include "testlib.h"

#define MAX_FRAGS 300

struct collected {
	struct pbuf *f[MAX_FRAGS];
	int n;
};

static void collect(void *ctx, struct pbuf *frag)
{
	struct collected *c = ctx;
	assert_true(c->n < MAX_FRAGS);
	c->f[c->n++] = frag;
}

static void free_collected(struct collected *c)
{
	for (int i = 0; i < c->n; i++)
		pbuf_free(c->f[i]);
	c->n = 0;
}

/* An IPv4 packet of total length tot, header options opts (multiple of 4 long). */
static size_t build(uint8_t *out, size_t tot, const uint8_t *opts, size_t opt_len, uint16_t frag)
{
	size_t hl = 20 + opt_len;
	memset(out, 0, hl);
	out[0] = (uint8_t)(0x40 | hl / 4);
	out[1] = 0xb8;                      /* DSCP EF: must be kept */
	put16(out + 2, (uint16_t)tot);
	put16(out + 4, 0x4242);
	put16(out + 6, frag);
	out[8] = 63;
	out[9] = IPPROTO_UDP;
	memcpy(out + 12, (uint8_t[]){ 172, 20, 9, 9 }, 4);
	memcpy(out + 16, (uint8_t[]){ 172, 21, 0, 1 }, 4);
	if (opt_len)
		memcpy(out + 20, opts, opt_len);
	put16(out + 10, ref_fold(ref_sum(out, hl, 0)));
	for (size_t i = hl; i < tot; i++)
		out[i] = (uint8_t)(i * 31 + i / 256);
	return tot;
}

/*
 * Fragments the packet orig (parsed from a buffer, or, for sizes a pbuf cannot
 * hold, described directly) and checks everything RFC 791 asks of the result.
 * later_opts is what fragments after the first must carry.
 */
static void check_fragments(const uint8_t *orig, size_t tot, uint16_t mtu,
			    const uint8_t *later_opts, size_t later_opt_len)
{
	struct ip_packet pkt;
	struct pbuf *b = pbuf_alloc();
	assert_non_null(b);
	if (tot <= PBUF_MTU_MAX) {
		uint8_t *p = pbuf_put(b, tot);
		assert_non_null(p);
		memcpy(p, orig, tot);
		assert_int_equal(ip_packet_parse(b, &pkt), 0);
	} else {
		/* ip4_fragment reads only pkt; b is just consumed. */
		memset(&pkt, 0, sizeof(pkt));
		pkt.family = AF_INET;
		pkt.hdr = (uint8_t *)orig;
		pkt.hdr_len = (size_t)(orig[0] & 0xf) * 4;
		pkt.total_len = tot;
		pkt.proto = orig[9];
	}
	size_t hl = (size_t)(orig[0] & 0xf) * 4;
	uint16_t orig_frag = get16(orig + 6);
	size_t base = (size_t)(orig_frag & 0x1fff) * 8;
	struct collected c = { .n = 0 };
	int n = ip4_fragment(b, &pkt, mtu, collect, &c);
	assert_true(n > 1);
	assert_int_equal(n, c.n);

	static uint8_t payload[4096];
	memset(payload, 0, sizeof(payload));
	size_t expect_off = 0, expect_payload = tot - hl;
	for (int i = 0; i < n; i++) {
		struct pbuf *f = c.f[i];
		const uint8_t *p = pbuf_data(f);
		size_t fhl = (size_t)(p[0] & 0xf) * 4;
		size_t flen = get16(p + 2);
		bool last = i == n - 1;
		assert_int_equal(flen, f->len);
		assert_true(flen <= mtu);
		assert_int_equal(p[0] >> 4, 4);
		assert_int_equal(ref_fold(ref_sum(p, fhl, 0)), 0);     /* header checksum valid */
		assert_int_equal(p[1], orig[1]);
		assert_int_equal(get16(p + 4), get16(orig + 4));        /* same identification */
		assert_memory_equal(p + 8, orig + 8, 2);                /* TTL, protocol */
		assert_memory_equal(p + 12, orig + 12, 8);              /* addresses */
		if (i == 0) {
			assert_int_equal(fhl, hl);
			assert_memory_equal(p + 20, orig + 20, hl - 20);    /* all options */
		} else {
			assert_int_equal(fhl, 20 + later_opt_len);
			if (later_opt_len)
				assert_memory_equal(p + 20, later_opts, later_opt_len);
		}
		uint16_t field = get16(p + 6);
		assert_int_equal(field & IP_DF, orig_frag & IP_DF);
		assert_int_equal((size_t)(field & 0x1fff) * 8, base + expect_off);
		/* MF on all but the last; on the last only if the original had it. */
		assert_int_equal(!!(field & IP_MF), last ? !!(orig_frag & IP_MF) : 1);
		size_t chunk = flen - fhl;
		if (!last) {
			assert_int_equal(chunk % 8, 0);
			/* As large as the MTU allows (fewest fragments). */
			assert_int_equal(chunk, (mtu - fhl) / 8 * 8);
		}
		assert_true(expect_off + chunk <= expect_payload);
		memcpy(payload + expect_off, p + fhl, chunk);
		expect_off += chunk;
		/* Each fragment is itself a valid packet. */
		struct ip_packet fp;
		assert_int_equal(ip_packet_parse(f, &fp), 0);
	}
	assert_int_equal(expect_off, expect_payload);
	assert_memory_equal(payload, orig + hl, expect_payload);
	free_collected(&c);
}

static void test_sizes_and_mtus(void **state)
{
	(void)state;
	static uint8_t pkt[3000];
	static const size_t sizes[] = { 3000, 1920, 1500, 1421 };
	static const uint16_t mtus[] = { 1420, 1280, 576, 68 };
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (size_t m = 0; m < sizeof(mtus) / sizeof(mtus[0]); m++) {
			if (sizes[s] <= mtus[m])
				continue;
			build(pkt, sizes[s], NULL, 0, 0);
			check_fragments(pkt, sizes[s], mtus[m], NULL, 0);
		}
}

/* ip4_fragment of a buffer holding a copy of the len-byte packet pkt, fragments into c. */
static int fragment_copy(const uint8_t *pkt, size_t len, uint16_t mtu, struct collected *c)
{
	struct pbuf *b = pbuf_alloc();
	assert_non_null(b);
	uint8_t *p = pbuf_put(b, len);
	assert_non_null(p);
	memcpy(p, pkt, len);
	struct ip_packet ip;
	assert_int_equal(ip_packet_parse(b, &ip), 0);
	return ip4_fragment(b, &ip, mtu, collect, c);
}

static void test_exact_split(void **state)
{
	(void)state;
	/* 1500 bytes at MTU 1280: 20+1256 then 20+224 (hand computed). */
	uint8_t pkt[1500];
	build(pkt, 1500, NULL, 0, 0);
	struct collected c = { .n = 0 };
	assert_int_equal(fragment_copy(pkt, 1500, 1280, &c), 2);
	assert_int_equal(c.f[0]->len, 1276);
	assert_int_equal(get16(pbuf_data(c.f[0]) + 6), IP_MF | 0);
	assert_int_equal(c.f[1]->len, 244);
	assert_int_equal(get16(pbuf_data(c.f[1]) + 6), 1256 / 8);
	free_collected(&c);
}

/* Router alert (copied), record route (not copied), NOP, LSRR (copied). */
static const uint8_t mixed_opts[20] = {
	0x94, 0x04, 0x00, 0x00,
	0x07, 0x07, 0x04, 0x00, 0x00, 0x00, 0x00,
	0x01,
	0x83, 0x07, 0x04, 0xc0, 0x00, 0x02, 0x01,
	0x00,
};
static const uint8_t mixed_later[12] = {
	0x94, 0x04, 0x00, 0x00, 0x83, 0x07, 0x04, 0xc0, 0x00, 0x02, 0x01, 0x00,
};

static void test_options_copy_bit(void **state)
{
	(void)state;
	static uint8_t pkt[3000];
	static const uint16_t mtus[] = { 1280, 576, 68 };
	for (size_t m = 0; m < 3; m++) {
		build(pkt, 1500, mixed_opts, sizeof(mixed_opts), 0);
		check_fragments(pkt, 1500, mtus[m], mixed_later, sizeof(mixed_later));
	}
	/* Only uncopied options (timestamp, record route): later fragments have none. */
	static const uint8_t uncopied[12] = { 0x44, 0x04, 0x05, 0x00,
					      0x07, 0x07, 0x04, 0, 0, 0, 0, 0x00 };
	build(pkt, 1500, uncopied, sizeof(uncopied), 0);
	check_fragments(pkt, 1500, 576, NULL, 0);
	/* 40 bytes of options, the maximum. */
	static uint8_t full[40];
	memset(full, IPOPT_NOP, sizeof(full));
	memcpy(full, (uint8_t[]){ 0x94, 0x04, 0x00, 0x00 }, 4);
	build(pkt, 1500, full, sizeof(full), 0);
	check_fragments(pkt, 1500, 576, full, 4);
	/* A malformed option list (length running past the header) copies nothing past it. */
	static const uint8_t bad[8] = { 0x94, 0x04, 0, 0, 0x83, 0x09, 0, 0 };
	build(pkt, 1500, bad, sizeof(bad), 0);
	check_fragments(pkt, 1500, 576, (const uint8_t[]){ 0x94, 0x04, 0, 0 }, 4);
}

static void test_refragment(void **state)
{
	(void)state;
	static uint8_t pkt[3000];
	/* A middle fragment (MF, offset 100 units) split again: every piece keeps MF. */
	build(pkt, 1500, NULL, 0, IP_MF | 100);
	check_fragments(pkt, 1500, 576, NULL, 0);
	/* A last fragment (offset only): the last piece has MF clear, the others set. */
	build(pkt, 1500, NULL, 0, 100);
	check_fragments(pkt, 1500, 576, NULL, 0);
	build(pkt, 1420, mixed_opts, sizeof(mixed_opts), 7);
	check_fragments(pkt, 1420, 68, mixed_later, sizeof(mixed_later));
}

static void test_mtu_too_small(void **state)
{
	(void)state;
	uint8_t pkt[200];
	struct pbuf_stats before, after;
	pbuf_pool_stats(&before);
	/* 20-byte header: 27 leaves no room for 8 bytes of payload. */
	build(pkt, 200, NULL, 0, 0);
	struct collected c = { .n = 0 };
	assert_int_equal(fragment_copy(pkt, 200, 27, &c), -1);
	assert_int_equal(c.n, 0);
	/* b was consumed: no buffer leaked. */
	pbuf_pool_stats(&after);
	assert_int_equal(after.allocated, before.allocated);
	/* With 40 bytes of options the first fragment needs 68. */
	static uint8_t full[40];
	memset(full, IPOPT_NOP, sizeof(full));
	build(pkt, 200, full, sizeof(full), 0);
	assert_int_equal(fragment_copy(pkt, 200, 67, &c), -1);
	assert_int_equal(c.n, 0);
	assert_int_equal(fragment_copy(pkt, 200, 68, &c), 4);   /* 8, then 48+48+36 */
	free_collected(&c);
	pbuf_pool_stats(&after);
	assert_int_equal(after.allocated, before.allocated);
}

static void test_too_many_fragments(void **state)
{
	(void)state;
	/*
	 * RFC 791 requires fragmenting down to 68 bytes; 1920 bytes with 40 bytes of
	 * copied options at MTU 68 is 1860 / 8 = 233 fragments, all of them emitted.
	 */
	static uint8_t pkt[1920], opts[40];
	memset(opts, IPOPT_NOP, sizeof(opts));
	opts[0] = 0x83;
	opts[1] = 39;
	opts[2] = 4;
	opts[39] = 0;
	build(pkt, 1920, opts, sizeof(opts), 0);
	struct pbuf_stats before, after;
	pbuf_pool_stats(&before);
	struct collected c = { .n = 0 };
	int n = fragment_copy(pkt, 1920, 68, &c);
	assert_int_equal(n, 233);
	assert_int_equal(c.n, 233);
	for (int i = 0; i < c.n; i++)
		assert_true(c.f[i]->len <= 68);
	free_collected(&c);
	pbuf_pool_stats(&after);
	assert_int_equal(after.allocated, before.allocated);
}

/*
 * A fragment whose end lies past the 65535-byte datagram limit (offset 8190
 * units = 65520 bytes, plus 1480 of payload) is dropped, not split: split,
 * the later offsets would overflow the 13-bit field into the MF/DF flags.
 */
static void test_offset_overflow(void **state)
{
	(void)state;
	static uint8_t pkt[1500];
	build(pkt, 1500, NULL, 0, 8190);
	struct pbuf_stats before, after;
	pbuf_pool_stats(&before);
	struct collected c = { .n = 0 };
	int n = fragment_copy(pkt, 1500, 576, &c);
	for (int i = 0; i < c.n; i++)   /* what the old code emitted: MF set by overflow */
		print_message("fragment %d field 0x%04x\n", i, get16(pbuf_data(c.f[i]) + 6));
	assert_int_equal(n, -1);
	assert_int_equal(c.n, 0);
	pbuf_pool_stats(&after);
	assert_int_equal(after.allocated, before.allocated);
	/* The largest legal end still fragments: offset 8000 units + 1480 = 65480. */
	build(pkt, 1500, NULL, 0, 8000);
	check_fragments(pkt, 1500, 576, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_and_mtus),
		cmocka_unit_test(test_exact_split),
		cmocka_unit_test(test_options_copy_bit),
		cmocka_unit_test(test_refragment),
		cmocka_unit_test(test_mtu_too_small),
		cmocka_unit_test(test_too_many_fragments),
		cmocka_unit_test(test_offset_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
