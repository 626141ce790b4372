/* Unit tests for the longest-prefix-match table, with a differential test against a naive list. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ip/lpm.h"

static void *V(uintptr_t n)
{
	return (void *)(n * 16);        /* distinct non-NULL fake values */
}

static void a4(const char *text, uint8_t out[16])
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(AF_INET, text, out), 1);
}

static void a6(const char *text, uint8_t out[16])
{
	assert_int_equal(inet_pton(AF_INET6, text, out), 1);
}

/* "addr/len" in either family. */
static unsigned pfx(int family, const char *text, uint8_t out[16])
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", text);
	char *slash = strchr(buf, '/');
	assert_non_null(slash);
	*slash = 0;
	if (family == AF_INET)
		a4(buf, out);
	else
		a6(buf, out);
	return (unsigned)atoi(slash + 1);
}

static void ins(struct lpm *t, const char *p, void *v)
{
	uint8_t a[16];
	unsigned len = pfx(lpm_family(t), p, a);
	assert_int_equal(lpm_insert(t, a, len, v, NULL), 0);
}

static void *look(struct lpm *t, const char *addr, unsigned *plen)
{
	uint8_t a[16];
	if (lpm_family(t) == AF_INET)
		a4(addr, a);
	else
		a6(addr, a);
	return lpm_lookup_prefix(t, a, plen);
}

static void test_bad_args(void **state)
{
	(void)state;
	assert_null(lpm_new(AF_UNIX));
	struct lpm *t = lpm_new(AF_INET);
	assert_non_null(t);
	uint8_t a[16] = { 10 };
	void *old = V(9);
	assert_int_equal(lpm_insert(t, a, 33, V(1), &old), -EINVAL);
	assert_null(old);
	assert_int_equal(lpm_insert(t, a, 8, NULL, NULL), -EINVAL);
	assert_int_equal(lpm_remove(t, a, 8, NULL), -ENOENT);
	assert_int_equal(lpm_remove(t, a, 0, NULL), -ENOENT);
	assert_int_equal(lpm_remove(t, a, 40, NULL), -EINVAL);
	assert_null(lpm_get(t, a, 40));
	assert_null(lpm_lookup(t, a));
	assert_int_equal(lpm_count(t), 0);
	lpm_free(t, NULL, NULL);
}

static void test_v4_basic(void **state)
{
	(void)state;
	struct lpm *t = lpm_new(AF_INET);
	unsigned plen = 99;
	ins(t, "10.0.0.0/8", V(1));
	ins(t, "10.1.0.0/16", V(2));
	ins(t, "10.1.2.3/32", V(3));
	ins(t, "10.1.2.0/24", V(4));
	ins(t, "10.1.2.128/25", V(5));
	assert_int_equal(lpm_count(t), 5);
	assert_ptr_equal(look(t, "10.9.9.9", &plen), V(1));
	assert_int_equal(plen, 8);
	assert_ptr_equal(look(t, "10.1.9.9", &plen), V(2));
	assert_int_equal(plen, 16);
	assert_ptr_equal(look(t, "10.1.2.3", &plen), V(3));
	assert_int_equal(plen, 32);
	assert_ptr_equal(look(t, "10.1.2.2", &plen), V(4));
	assert_int_equal(plen, 24);
	assert_ptr_equal(look(t, "10.1.2.4", &plen), V(4));
	assert_ptr_equal(look(t, "10.1.2.200", &plen), V(5));
	assert_int_equal(plen, 25);
	assert_null(look(t, "11.0.0.0", &plen));
	assert_int_equal(plen, 0);
	assert_null(look(t, "9.255.255.255", NULL));

	/* Host bits are ignored on insert, get and remove. */
	uint8_t a[16];
	void *old;
	a4("10.200.3.4", a);
	assert_ptr_equal(lpm_get(t, a, 8), V(1));
	assert_int_equal(lpm_insert(t, a, 8, V(6), &old), 0);
	assert_ptr_equal(old, V(1));
	assert_int_equal(lpm_count(t), 5);
	assert_ptr_equal(look(t, "10.9.9.9", NULL), V(6));
	assert_null(lpm_get(t, a, 9));
	assert_null(lpm_get(t, a, 32));
	assert_int_equal(lpm_remove(t, a, 8, &old), 0);
	assert_ptr_equal(old, V(6));
	assert_null(look(t, "10.9.9.9", NULL));
	assert_ptr_equal(look(t, "10.1.9.9", NULL), V(2));
	lpm_free(t, NULL, NULL);
}

static void test_default_and_host(void **state)
{
	(void)state;
	for (int fam = 0; fam < 2; fam++) {
		int family = fam ? AF_INET6 : AF_INET;
		struct lpm *t = lpm_new(family);
		const char *any = fam ? "::/0" : "0.0.0.0/0";
		const char *host = fam ? "2001:db8::1/128" : "192.0.2.1/32";
		const char *hit = fam ? "2001:db8::1" : "192.0.2.1";
		const char *miss = fam ? "2001:db8::" : "192.0.2.0";
		const char *miss2 = fam ? "2001:db8::3" : "192.0.2.3";
		const char *top = fam ? "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" : "255.255.255.255";
		unsigned plen;
		ins(t, host, V(1));
		assert_ptr_equal(look(t, hit, &plen), V(1));
		assert_int_equal(plen, fam ? 128 : 32);
		assert_null(look(t, miss, NULL));
		assert_null(look(t, miss2, NULL));
		ins(t, any, V(2));
		assert_ptr_equal(look(t, miss, &plen), V(2));
		assert_int_equal(plen, 0);
		assert_ptr_equal(look(t, top, NULL), V(2));
		assert_ptr_equal(look(t, hit, NULL), V(1));
		/* The all-ones host route is the deepest, last slot of the trie. */
		char tp[64];
		snprintf(tp, sizeof(tp), "%s/%d", top, fam ? 128 : 32);
		ins(t, tp, V(3));
		assert_ptr_equal(look(t, top, NULL), V(3));
		assert_int_equal(lpm_count(t), 3);
		uint8_t a[16];
		unsigned l = pfx(family, any, a);
		void *old;
		assert_int_equal(lpm_remove(t, a, l, &old), 0);
		assert_ptr_equal(old, V(2));
		assert_null(look(t, miss, NULL));
		assert_int_equal(lpm_count(t), 2);
		lpm_free(t, NULL, NULL);
	}
}

static void test_v6_overlap_delete_readd(void **state)
{
	(void)state;
	struct lpm *t = lpm_new(AF_INET6);
	size_t empty = lpm_memory(t);
	unsigned plen;
	ins(t, "fd00::/8", V(1));
	ins(t, "fd42::/16", V(2));
	ins(t, "fd42:4242:2601::/48", V(3));
	ins(t, "fd42:4242:2601:ac12::/64", V(4));
	ins(t, "fe80::/64", V(5));
	ins(t, "fe80::1/128", V(6));
	assert_ptr_equal(look(t, "fd42:4242:2601:ac12::7", &plen), V(4));
	assert_int_equal(plen, 64);
	assert_ptr_equal(look(t, "fd42:4242:2601:ac13::7", &plen), V(3));
	assert_int_equal(plen, 48);
	assert_ptr_equal(look(t, "fd42:1::", &plen), V(2));
	assert_ptr_equal(look(t, "fdff::", &plen), V(1));
	assert_ptr_equal(look(t, "fe80::2", &plen), V(5));
	assert_ptr_equal(look(t, "fe80::1", &plen), V(6));
	assert_null(look(t, "fe80:0:0:1::1", NULL));
	assert_null(look(t, "2001:db8::", NULL));

	uint8_t a[16];
	unsigned l = pfx(AF_INET6, "fd42:4242:2601::/48", a);
	assert_int_equal(lpm_remove(t, a, l, NULL), 0);
	assert_int_equal(lpm_remove(t, a, l, NULL), -ENOENT);
	assert_ptr_equal(look(t, "fd42:4242:2601:ac13::7", &plen), V(2));
	assert_int_equal(plen, 16);
	assert_ptr_equal(look(t, "fd42:4242:2601:ac12::7", &plen), V(4));
	assert_int_equal(lpm_insert(t, a, l, V(7), NULL), 0);
	assert_ptr_equal(look(t, "fd42:4242:2601:ac13::7", &plen), V(7));
	assert_int_equal(plen, 48);

	/* Removing everything frees every node. */
	const char *all[] = { "fd00::/8", "fd42::/16", "fd42:4242:2601::/48",
			      "fd42:4242:2601:ac12::/64", "fe80::/64", "fe80::1/128" };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		l = pfx(AF_INET6, all[i], a);
		assert_int_equal(lpm_remove(t, a, l, NULL), 0);
	}
	assert_int_equal(lpm_count(t), 0);
	assert_int_equal(lpm_memory(t), empty);
	assert_null(look(t, "fe80::1", NULL));
	lpm_free(t, NULL, NULL);
}

/* A one-prefix subtree is a single leaf again once its neighbour goes (both shapes). */
static void test_leaf_collapse(void **state)
{
	(void)state;
	const char *a = "fd42:4242:2601::/48", *b = "fd42:4242:2601:ac12::/64";
	for (int which = 0; which < 2; which++) {
		struct lpm *t = lpm_new(AF_INET6);
		ins(t, which ? b : a, V(1));
		size_t alone = lpm_memory(t);
		ins(t, which ? a : b, V(2));
		assert_true(lpm_memory(t) > alone);
		uint8_t k[16];
		unsigned l = pfx(AF_INET6, which ? a : b, k);
		assert_int_equal(lpm_remove(t, k, l, NULL), 0);
		assert_int_equal(lpm_memory(t), alone);
		assert_ptr_equal(look(t, "fd42:4242:2601:ac12::1", NULL), V(1));
		/* Same through remove_value. */
		ins(t, which ? a : b, V(2));
		lpm_remove_value(t, V(2));
		assert_int_equal(lpm_memory(t), alone);
		assert_ptr_equal(look(t, "fd42:4242:2601:ac12::1", NULL), V(1));
		assert_null(look(t, "fd42:4242:2602::1", NULL));
		lpm_free(t, NULL, NULL);
	}
}

static void test_remove_value(void **state)
{
	(void)state;
	struct lpm *t = lpm_new(AF_INET);
	size_t empty = lpm_memory(t);
	ins(t, "0.0.0.0/0", V(1));
	ins(t, "172.20.0.0/14", V(1));
	ins(t, "172.20.1.0/24", V(2));
	ins(t, "172.20.1.1/32", V(1));
	ins(t, "10.0.0.0/8", V(2));
	ins(t, "172.20.1.128/25", V(1));
	lpm_remove_value(t, V(1));
	assert_int_equal(lpm_count(t), 2);
	assert_ptr_equal(look(t, "172.20.1.1", NULL), V(2));
	assert_ptr_equal(look(t, "172.20.1.200", NULL), V(2));
	assert_null(look(t, "172.21.0.1", NULL));
	assert_null(look(t, "8.8.8.8", NULL));
	assert_ptr_equal(look(t, "10.2.3.4", NULL), V(2));
	lpm_remove_value(t, V(3));
	assert_int_equal(lpm_count(t), 2);
	lpm_remove_value(t, V(2));
	assert_int_equal(lpm_count(t), 0);
	assert_int_equal(lpm_memory(t), empty);
	lpm_free(t, NULL, NULL);
}

struct seen {
	char text[32][64];
	unsigned n;
	unsigned stop_after;
};

static int collect6(const uint8_t *addr, unsigned plen, void *value, void *ctx)
{
	struct seen *s = ctx;
	char a[INET6_ADDRSTRLEN];
	(void)value;
	assert_true(s->n < 32);
	assert_non_null(inet_ntop(AF_INET6, addr, a, sizeof(a)));
	snprintf(s->text[s->n++], 64, "%s/%u", a, plen);
	return s->stop_after && s->n == s->stop_after ? 7 : 0;
}

static int collect4(const uint8_t *addr, unsigned plen, void *value, void *ctx)
{
	struct seen *s = ctx;
	char a[INET_ADDRSTRLEN];
	(void)value;
	assert_true(s->n < 32);
	assert_non_null(inet_ntop(AF_INET, addr, a, sizeof(a)));
	snprintf(s->text[s->n++], 64, "%s/%u", a, plen);
	return s->stop_after && s->n == s->stop_after ? 7 : 0;
}

static void test_walk_order(void **state)
{
	(void)state;
	struct lpm *t = lpm_new(AF_INET);
	/* Inserted shuffled, with host bits set on some. */
	const char *in[] = { "11.0.0.0/8", "10.1.0.0/16", "10.0.0.0/8", "10.0.0.0/16",
			     "0.0.0.0/0", "10.0.0.0/9", "192.168.1.77/24", "10.128.0.0/9",
			     "10.0.0.1/32", "255.255.255.255/32", "10.0.0.0/24", "128.0.0.0/1",
			     "10.0.0.0/6", "10.0.0.0/7" };
	const char *want[] = { "0.0.0.0/0", "8.0.0.0/6", "10.0.0.0/7", "10.0.0.0/8",
			       "10.0.0.0/9", "10.0.0.0/16", "10.0.0.0/24", "10.0.0.1/32",
			       "10.1.0.0/16", "10.128.0.0/9", "11.0.0.0/8", "128.0.0.0/1",
			       "192.168.1.0/24", "255.255.255.255/32" };
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		ins(t, in[i], V(i + 1));
	struct seen s = { 0 };
	assert_int_equal(lpm_walk(t, collect4, &s), 0);
	assert_int_equal(s.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < s.n; i++)
		assert_string_equal(s.text[i], want[i]);
	/* A non-zero return stops the walk and is passed back. */
	struct seen s2 = { .stop_after = 3 };
	assert_int_equal(lpm_walk(t, collect4, &s2), 7);
	assert_int_equal(s2.n, 3);
	lpm_free(t, NULL, NULL);

	t = lpm_new(AF_INET6);
	ins(t, "fd42::/16", V(1));
	ins(t, "::/0", V(2));
	ins(t, "fd42::1/128", V(3));
	ins(t, "fd00::/8", V(4));
	ins(t, "fd42:0:0:1::/64", V(5));
	ins(t, "2001:db8::/32", V(6));
	const char *want6[] = { "::/0", "2001:db8::/32", "fd00::/8", "fd42::/16", "fd42::1/128",
				"fd42:0:0:1::/64" };
	struct seen s6 = { 0 };
	assert_int_equal(lpm_walk(t, collect6, &s6), 0);
	assert_int_equal(s6.n, 6);
	for (size_t i = 0; i < s6.n; i++)
		assert_string_equal(s6.text[i], want6[i]);
	lpm_free(t, NULL, NULL);
}

static unsigned freed_sum;
static void count_free(void *value, void *ctx)
{
	(void)ctx;
	freed_sum += (unsigned)((uintptr_t)value / 16);
}

static void test_free_values(void **state)
{
	(void)state;
	struct lpm *t = lpm_new(AF_INET6);
	ins(t, "::/0", V(1));
	ins(t, "fd00::/8", V(2));
	ins(t, "fd00::1/128", V(4));
	ins(t, "2001:db8::/32", V(8));
	freed_sum = 0;
	lpm_free(t, count_free, NULL);
	assert_int_equal(freed_sum, 15);
}

/* ---- differential test ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
	/* xorshift64*: deterministic on every platform, unlike rand(). */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

struct ref_entry {
	uint8_t addr[16];
	unsigned plen;
	void *value;
};

struct ref {
	struct ref_entry *e;
	size_t n;
	unsigned alen;
};

static void mask(uint8_t *a, unsigned alen, unsigned plen)
{
	for (unsigned i = 0; i < alen; i++) {
		if (plen >= 8 * (i + 1))
			continue;
		unsigned keep = plen > 8 * i ? plen - 8 * i : 0;
		a[i] &= (uint8_t)(0xff00u >> keep);
	}
}

static bool ref_match(const struct ref_entry *e, const uint8_t *a, unsigned alen)
{
	uint8_t m[16];
	memcpy(m, a, alen);
	mask(m, alen, e->plen);
	return memcmp(m, e->addr, alen) == 0;
}

static void *ref_lookup(const struct ref *r, const uint8_t *a, unsigned *plen)
{
	const struct ref_entry *best = NULL;
	for (size_t i = 0; i < r->n; i++)
		if (ref_match(&r->e[i], a, r->alen) && (!best || r->e[i].plen > best->plen))
			best = &r->e[i];
	*plen = best ? best->plen : 0;
	return best ? best->value : NULL;
}

static struct ref_entry *ref_find(struct ref *r, const uint8_t *a, unsigned plen)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->e[i].plen == plen && memcmp(r->e[i].addr, a, r->alen) == 0)
			return &r->e[i];
	return NULL;
}

static int ref_cmp(const void *x, const void *y)
{
	const struct ref_entry *a = x, *b = y;
	int c = memcmp(a->addr, b->addr, 16);
	if (c)
		return c;
	return (int)a->plen - (int)b->plen;
}

struct walk_check {
	struct ref_entry *sorted;
	size_t n, i;
	unsigned alen;
};

static int walk_check_cb(const uint8_t *addr, unsigned plen, void *value, void *ctx)
{
	struct walk_check *w = ctx;
	assert_true(w->i < w->n);
	assert_memory_equal(addr, w->sorted[w->i].addr, w->alen);
	assert_int_equal(plen, w->sorted[w->i].plen);
	assert_ptr_equal(value, w->sorted[w->i].value);
	w->i++;
	return 0;
}

/* A random address near one of a few bases, so prefixes nest and overlap a lot. */
static void rand_addr(uint8_t *a, unsigned alen, const uint8_t bases[8][16])
{
	memcpy(a, bases[rnd() % 8], 16);
	unsigned flip = (unsigned)(rnd() % (alen * 8 + 1));   /* randomize bits from here on */
	for (unsigned b = flip; b < alen * 8; b++)
		if (rnd() & 1)
			a[b / 8] ^= (uint8_t)(0x80u >> (b % 8));
}

static void differential(int family, uint64_t seed)
{
	const unsigned alen = family == AF_INET ? 4 : 16, bits = alen * 8;
	const size_t max = 3000;
	struct lpm *t = lpm_new(family);
	struct ref r = { .e = calloc(max, sizeof(struct ref_entry)), .alen = alen };
	uint8_t bases[8][16];
	size_t empty_mem = lpm_memory(t);
	assert_non_null(r.e);
	rng_state = seed;
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 16; j++)
			bases[i][j] = j < (int)alen ? (uint8_t)rnd() : 0;

	for (int round = 0; round < 6; round++) {
		/* Inserts (some replacing), then lookups, then deletions. */
		for (size_t k = 0; k < 1000 && r.n < max; k++) {
			struct ref_entry e = { 0 };
			rand_addr(e.addr, alen, bases);
			unsigned plen = (unsigned)(rnd() % (bits + 1));
			if (rnd() % 4 == 0)     /* favour the lengths that hit stride boundaries */
				plen = (unsigned)(rnd() % (bits / 6 + 1)) * 6;
			if (plen > bits)
				plen = bits;
			e.plen = plen;
			e.value = V(rnd() % 1000 + 1);
			uint8_t host[16];
			memcpy(host, e.addr, 16);
			mask(e.addr, alen, plen);
			void *old = V(12345);
			assert_int_equal(lpm_insert(t, host, plen, e.value, &old), 0);
			struct ref_entry *have = ref_find(&r, e.addr, plen);
			if (have) {
				assert_ptr_equal(old, have->value);
				have->value = e.value;
			} else {
				assert_null(old);
				r.e[r.n++] = e;
			}
			assert_int_equal(lpm_count(t), r.n);
		}
		for (int k = 0; k < 4000; k++) {
			uint8_t a[16] = { 0 };
			rand_addr(a, alen, bases);
			unsigned pl1 = 999, pl2 = 998;
			void *want = ref_lookup(&r, a, &pl2);
			void *got = lpm_lookup_prefix(t, a, &pl1);
			if (got != want || pl1 != pl2) {
				char txt[INET6_ADDRSTRLEN];
				inet_ntop(family, a, txt, sizeof(txt));
				fail_msg("lookup %s: got %p/%u want %p/%u (round %d)", txt, got, pl1,
					 want, pl2, round);
			}
			assert_ptr_equal(lpm_lookup(t, a), want);
		}
		for (size_t i = 0; i < r.n; i++)
			assert_ptr_equal(lpm_get(t, r.e[i].addr, r.e[i].plen), r.e[i].value);

		/* Walk: exactly the reference, sorted by (address, length). */
		struct ref_entry *sorted = malloc(r.n * sizeof(*sorted) + 1);
		assert_non_null(sorted);
		memcpy(sorted, r.e, r.n * sizeof(*sorted));
		qsort(sorted, r.n, sizeof(*sorted), ref_cmp);
		struct walk_check w = { sorted, r.n, 0, alen };
		assert_int_equal(lpm_walk(t, walk_check_cb, &w), 0);
		assert_int_equal(w.i, r.n);
		free(sorted);

		/* Delete about a third, some of them absent; one value wholesale. */
		size_t ndel = r.n / 3;
		for (size_t k = 0; k < ndel && r.n; k++) {
			size_t i = (size_t)(rnd() % r.n);
			void *old = NULL;
			if (rnd() % 8 == 0) {   /* a prefix that is probably not there */
				uint8_t a[16] = { 0 };
				rand_addr(a, alen, bases);
				unsigned plen = (unsigned)(rnd() % (bits + 1));
				mask(a, alen, plen);
				int ret = lpm_remove(t, a, plen, &old);
				struct ref_entry *have = ref_find(&r, a, plen);
				if (!have) {
					assert_int_equal(ret, -ENOENT);
					continue;
				}
				assert_int_equal(ret, 0);
				i = (size_t)(have - r.e);
			} else {
				assert_int_equal(lpm_remove(t, r.e[i].addr, r.e[i].plen, &old), 0);
			}
			assert_ptr_equal(old, r.e[i].value);
			r.e[i] = r.e[--r.n];
		}
		void *victim = V(rnd() % 1000 + 1);
		lpm_remove_value(t, victim);
		for (size_t i = 0; i < r.n;)
			if (r.e[i].value == victim)
				r.e[i] = r.e[--r.n];
			else
				i++;
		assert_int_equal(lpm_count(t), r.n);
	}
	/* Empty it: every node must be pruned. */
	while (r.n) {
		assert_int_equal(lpm_remove(t, r.e[r.n - 1].addr, r.e[r.n - 1].plen, NULL), 0);
		r.n--;
	}
	assert_int_equal(lpm_count(t), 0);
	assert_int_equal(lpm_memory(t), empty_mem);
	free(r.e);
	lpm_free(t, NULL, NULL);
}

static void test_differential_v4(void **state)
{
	(void)state;
	differential(AF_INET, 0x1234567887654321ull);
	differential(AF_INET, 42);
}

static void test_differential_v6(void **state)
{
	(void)state;
	differential(AF_INET6, 0x0badc0ffee15900dull);
	differential(AF_INET6, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_v4_basic),
		cmocka_unit_test(test_default_and_host),
		cmocka_unit_test(test_v6_overlap_delete_readd),
		cmocka_unit_test(test_leaf_collapse),
		cmocka_unit_test(test_remove_value),
		cmocka_unit_test(test_walk_order),
		cmocka_unit_test(test_free_values),
		cmocka_unit_test(test_differential_v4),
		cmocka_unit_test(test_differential_v6),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
