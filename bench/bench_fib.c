/*
 * FIB benchmark: a full-Internet-sized table (1M IPv4 + 250k IPv6 prefixes,
 * random but with a realistic length mix, fixed seed), timed for insert,
 * lookup and delete, with memory from fib_memory() and the RSS. The same
 * operations run against a reference in the same process: one hash table
 * per prefix length, probed from the longest length down (the textbook
 * alternative to a trie), and lookups are cross-checked against it.
 *
 * Output: "name value" lines, e.g. "fib_v4_insert_per_sec 2.1e6".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ip/fib.h"
#include "ip/lpm.h"

#include "bench_common.h"

#define N_V4 1000000
#define N_V6 250000
#define N_LOOKUPS 10000000
#define N_REF_LOOKUPS 2000000        /* the reference is slower; rates are per second anyway */
#define N_CHECK 200000
#define N_NEXTHOPS 16                /* peers the routes are learnt from */

static uint64_t rng = 0x5eed5eed12345678ull;
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1Dull;
}

static long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/* Addresses as two 64-bit words, most significant first; IPv4 in the top of hi. */
struct key {
	uint64_t hi, lo;
};

struct pfx {
	struct key k;
	uint8_t len;
};

static struct key key_mask(struct key k, unsigned len)
{
	struct key m;
	m.hi = len == 0 ? 0 : len >= 64 ? k.hi : k.hi & ~(~0ull >> len);
	m.lo = len <= 64 ? 0 : len >= 128 ? k.lo : k.lo & ~(~0ull >> (len - 64));
	return m;
}

static void key_bytes(struct key k, int family, uint8_t out[16])
{
	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t)(k.hi >> (56 - 8 * i));
		out[8 + i] = (uint8_t)(k.lo >> (56 - 8 * i));
	}
	(void)family;
}

/* A band of a prefix-length distribution: draws under `below` (of 1000) get base + rnd() % spread. */
struct len_band {
	unsigned below, base, spread;    /* spread 0: exactly base */
};

/* Roughly the shape of a real IPv4 table: ~60 % /24, ~35 % /16-/23. */
static const struct len_band v4_bands[] = {
	{ 600, 24, 0 }, { 950, 16, 8 }, { 965, 8, 8 }, { 1000, 25, 8 },
};

/* ~50 % /48, ~30 % /32-/47, ~12 % /64, the rest /20-/31 and /49-/63. */
static const struct len_band v6_bands[] = {
	{ 500, 48, 0 }, { 800, 32, 16 }, { 920, 64, 0 }, { 960, 20, 12 }, { 1000, 49, 15 },
};

static unsigned draw_len(const struct len_band *band)
{
	unsigned p = (unsigned)(rnd() % 1000);
	while (p >= band->below)
		band++;
	return band->base + (band->spread ? (unsigned)(rnd() % band->spread) : 0);
}

static struct pfx gen(int family)
{
	struct pfx p;
	if (family == AF_INET) {
		p.len = (uint8_t)draw_len(v4_bands);
		/* Unicast space 1.0.0.0-223.255.255.255. */
		uint64_t a = 0x01000000u + rnd() % (0xe0000000u - 0x01000000u);
		p.k.hi = a << 32;
		p.k.lo = 0;
	} else {
		p.len = (uint8_t)draw_len(v6_bands);
		p.k.hi = (rnd() & ~(7ull << 61)) | (1ull << 61);       /* 2000::/3 */
		p.k.lo = rnd();
	}
	p.k = key_mask(p.k, p.len);
	return p;
}

/* An address inside p with random host bits, so lookups hit real routes. */
static struct key inside(const struct pfx *p, int family)
{
	struct key r = { rnd(), rnd() }, k = p->k;
	if (family == AF_INET) {
		r.hi &= 0xffffffff00000000ull;
		r.lo = 0;
	}
	struct key net = key_mask((struct key){ ~0ull, ~0ull }, p->len);
	k.hi |= r.hi & ~net.hi;
	k.lo |= r.lo & ~net.lo;
	return k;
}

/* ---- the reference: one open-addressing hash table per prefix length ---- */

struct ref_slot {
	struct key k;
	void *val;                       /* NULL: empty */
};

struct ref_len {
	struct ref_slot *slots;
	size_t n, mask;
};

struct ref {
	struct ref_len len[129];
	unsigned lens[129], nlens;       /* lengths in use, longest first */
	size_t bytes;
};

static uint64_t ref_hash(struct key k)
{
	/* splitmix64's finalizer: IPv4 keys have 32 zero low bits, which must not survive. */
	uint64_t h = k.hi ^ (k.lo * 0x9E3779B97F4A7C15ull);
	h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ull;
	h = (h ^ (h >> 27)) * 0x94D049BB133111EBull;
	return h ^ (h >> 31);
}

static void ref_lens(struct ref *r)
{
	r->nlens = 0;
	for (int l = 128; l >= 0; l--)
		if (r->len[l].n)
			r->lens[r->nlens++] = (unsigned)l;
}

static struct ref_slot *ref_find(const struct ref_len *t, struct key k)
{
	if (!t->slots)
		return NULL;
	for (size_t i = ref_hash(k) & t->mask;; i = (i + 1) & t->mask) {
		struct ref_slot *s = &t->slots[i];
		if (!s->val)
			return NULL;
		if (s->k.hi == k.hi && s->k.lo == k.lo)
			return s;
	}
}

static void ref_put(struct ref_len *t, struct key k, void *val)
{
	size_t i = ref_hash(k) & t->mask;
	while (t->slots[i].val)
		i = (i + 1) & t->mask;
	t->slots[i].k = k;
	t->slots[i].val = val;
}

static void ref_insert(struct ref *r, const struct pfx *p, void *val)
{
	struct ref_len *t = &r->len[p->len];
	struct ref_slot *s = ref_find(t, p->k);
	if (s) {
		s->val = val;
		return;
	}
	if (!t->slots || (t->n + 1) * 2 > t->mask + 1) {        /* keep the load under 1/2 */
		size_t cap = t->slots ? (t->mask + 1) * 2 : 16;
		struct ref_len nt = { calloc(cap, sizeof(struct ref_slot)), t->n, cap - 1 };
		if (!nt.slots) {
			perror("calloc");
			exit(1);
		}
		for (size_t i = 0; t->slots && i <= t->mask; i++)
			if (t->slots[i].val)
				ref_put(&nt, t->slots[i].k, t->slots[i].val);
		r->bytes += cap * sizeof(struct ref_slot) - (t->slots ? (t->mask + 1) : 0) * sizeof(struct ref_slot);
		free(t->slots);
		*t = nt;
	}
	ref_put(t, p->k, val);
	if (t->n++ == 0)
		ref_lens(r);
}

static void ref_remove(struct ref *r, const struct pfx *p)
{
	struct ref_len *t = &r->len[p->len];
	struct ref_slot *s = ref_find(t, p->k);
	if (!s)
		return;
	/* Backward-shift deletion keeps linear probing tombstone-free. */
	size_t i = (size_t)(s - t->slots), j = i;
	for (;;) {
		j = (j + 1) & t->mask;
		if (!t->slots[j].val)
			break;
		size_t k = ref_hash(t->slots[j].k) & t->mask;
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		t->slots[i] = t->slots[j];
		i = j;
	}
	t->slots[i].val = NULL;
	if (--t->n == 0)
		ref_lens(r);
}

static void *ref_lookup(const struct ref *r, struct key k)
{
	for (unsigned i = 0; i < r->nlens; i++) {
		struct ref_slot *s = ref_find(&r->len[r->lens[i]], key_mask(k, r->lens[i]));
		if (s)
			return s->val;
	}
	return NULL;
}

static void ref_free(struct ref *r)
{
	for (int l = 0; l <= 128; l++)
		free(r->len[l].slots);
}

/* ---- the run ---- */

/* One family's run: its prefixes and lookups, the three tables, and the rates the ratios use. */
struct run {
	int family;
	const char *fam;             /* "v4" or "v6", in every output name */
	size_t n;                    /* prefixes */
	struct pfx *ps;
	struct key *look;            /* N_LOOKUPS addresses inside them */
	uint32_t *ifx;               /* each prefix's next hop */
	struct fib *fib;
	struct lpm *lpm;
	struct ref *ref;
	size_t fib_mem;              /* bytes the FIB grew by */
	size_t ref_mem;              /* bytes the reference holds, all inserted */
	double fib_insert, fib_lookup, fib_delete, lpm_lookup, ref_insert, ref_lookup, ref_delete;
	uint64_t sum;                /* of lookup results, so that no loop is optimised away */
};

/* Prints "<table>_<fam>_<op>_per_sec" for count operations in secs; returns the rate. */
static double report_rate(const struct run *r, const char *table, const char *op, double count,
			  double secs)
{
	printf("%s_%s_%s_per_sec %.3g\n", table, r->fam, op, count / secs);
	return count / secs;
}

static void *must_alloc(void *p, const char *what)
{
	if (!p) {
		perror(what);
		exit(1);
	}
	return p;
}

/* A route with nothing but prefix i in it. */
static void route_of(const struct run *r, size_t i, struct fib_route *rt)
{
	memset(rt, 0, sizeof(*rt));
	rt->prefix.addr.family = (uint8_t)r->family;
	key_bytes(r->ps[i].k, r->family, rt->prefix.addr.bytes);
	rt->prefix.len = r->ps[i].len;
}

/* The random prefixes, their next hops, and the addresses to look up. */
static void run_generate(struct run *r)
{
	r->ps = must_alloc(malloc(r->n * sizeof(*r->ps)), "malloc");
	r->look = must_alloc(malloc(N_LOOKUPS * sizeof(*r->look)), "malloc");
	r->ifx = must_alloc(malloc(r->n * sizeof(*r->ifx)), "malloc");
	for (size_t i = 0; i < r->n; i++) {
		r->ps[i] = gen(r->family);
		r->ifx[i] = 1 + (uint32_t)(rnd() % N_NEXTHOPS);
	}
	for (size_t i = 0; i < N_LOOKUPS; i++)
		r->look[i] = inside(&r->ps[rnd() % r->n], r->family);
}

/* FIB insert, as BIRD's routes come: memory and RSS too. */
static void run_fib_insert(struct run *r)
{
	long rss0 = rss_bytes();
	r->fib = fib_new();
	size_t mem0 = fib_memory(r->fib);
	double t0 = bench_now();
	for (size_t i = 0; i < r->n; i++) {
		struct fib_route rt;
		route_of(r, i, &rt);
		rt.gateway.family = AF_INET6;
		rt.gateway.bytes[0] = 0xfe;
		rt.gateway.bytes[1] = 0x80;
		rt.gateway.bytes[15] = (uint8_t)r->ifx[i];
		rt.ifindex = r->ifx[i];
		rt.protocol = FIB_PROTO_BIRD;
		rt.priority = 32;
		int ret = fib_add(r->fib, &rt, FIB_REPLACE);
		if (ret) {
			fprintf(stderr, "fib_add: %s\n", strerror(-ret));
			exit(1);
		}
	}
	double t1 = bench_now();
	size_t routes = fib_count(r->fib, r->family);
	long rss1 = rss_bytes();
	r->fib_mem = fib_memory(r->fib) - mem0;
	r->fib_insert = report_rate(r, "fib", "insert", (double)r->n, t1 - t0);
	printf("fib_%s_routes %zu\n", r->fam, routes);
	printf("fib_%s_duplicates_replaced %zu\n", r->fam, r->n - routes);
	printf("fib_%s_memory_bytes %zu\n", r->fam, r->fib_mem);
	printf("fib_%s_bytes_per_route %.1f\n", r->fam, (double)r->fib_mem / (double)routes);
	printf("fib_%s_rss_delta_bytes %ld\n", r->fam, rss1 - rss0);
}

/* FIB lookup (copies the route out, as the forwarding plane will). */
static void run_fib_lookup(struct run *r)
{
	struct fib_route out;
	double t0 = bench_now();
	for (size_t i = 0; i < N_LOOKUPS; i++) {
		struct ip_addr a;
		a.family = (uint8_t)r->family;
		key_bytes(r->look[i], r->family, a.bytes);
		if (fib_lookup(r->fib, &a, &out) == 0)
			r->sum += out.ifindex;
	}
	r->fib_lookup = report_rate(r, "fib", "lookup", N_LOOKUPS, bench_now() - t0);
}

/* The bare trie, same prefixes (values: next-hop numbers): insert, then lookup. */
static void run_lpm(struct run *r)
{
	r->lpm = must_alloc(lpm_new(r->family), "lpm_new");
	double t0 = bench_now();
	for (size_t i = 0; i < r->n; i++) {
		uint8_t b[16];
		key_bytes(r->ps[i].k, r->family, b);
		if (lpm_insert(r->lpm, b, r->ps[i].len, (void *)(uintptr_t)r->ifx[i], NULL)) {
			fprintf(stderr, "lpm_insert failed\n");
			exit(1);
		}
	}
	report_rate(r, "lpm", "insert", (double)r->n, bench_now() - t0);
	printf("lpm_%s_memory_bytes %zu\n", r->fam, lpm_memory(r->lpm));
	t0 = bench_now();
	for (size_t i = 0; i < N_LOOKUPS; i++) {
		uint8_t b[16];
		key_bytes(r->look[i], r->family, b);
		r->sum += (uintptr_t)lpm_lookup(r->lpm, b);
	}
	r->lpm_lookup = report_rate(r, "lpm", "lookup", N_LOOKUPS, bench_now() - t0);
}

/* The reference: insert, then lookup. */
static void run_ref(struct run *r)
{
	r->ref = must_alloc(calloc(1, sizeof(*r->ref)), "calloc");
	double t0 = bench_now();
	for (size_t i = 0; i < r->n; i++)
		ref_insert(r->ref, &r->ps[i], (void *)(uintptr_t)r->ifx[i]);
	r->ref_insert = report_rate(r, "ref", "insert", (double)r->n, bench_now() - t0);
	r->ref_mem = r->ref->bytes;
	printf("ref_%s_memory_bytes %zu\n", r->fam, r->ref_mem);
	t0 = bench_now();
	for (size_t i = 0; i < N_REF_LOOKUPS; i++)
		r->sum += (uintptr_t)ref_lookup(r->ref, r->look[i]);
	r->ref_lookup = report_rate(r, "ref", "lookup", N_REF_LOOKUPS, bench_now() - t0);
}

/* Cross-check: the trie, the FIB and the reference agree. */
static void run_cross_check(const struct run *r)
{
	struct fib_route out;
	size_t bad = 0;
	for (size_t i = 0; i < N_CHECK; i++) {
		uint8_t b[16];
		struct ip_addr a = { .family = (uint8_t)r->family };
		key_bytes(r->look[i], r->family, b);
		memcpy(a.bytes, b, 16);
		uintptr_t want = (uintptr_t)ref_lookup(r->ref, r->look[i]);
		uintptr_t got = (uintptr_t)lpm_lookup(r->lpm, b);
		uintptr_t got_fib = fib_lookup(r->fib, &a, &out) == 0 ? out.ifindex : 0;
		bad += want != got || want != got_fib;
	}
	printf("fib_%s_lookup_mismatches %zu\n", r->fam, bad);
}

/* Deletes everything from the FIB and the reference, in a random order. */
static void run_delete(struct run *r)
{
	for (size_t i = r->n - 1; i > 0; i--) {
		size_t j = (size_t)(rnd() % (i + 1));
		struct pfx tp = r->ps[i];
		r->ps[i] = r->ps[j];
		r->ps[j] = tp;
	}
	double t0 = bench_now();
	for (size_t i = 0; i < r->n; i++) {
		struct fib_route m;
		route_of(r, i, &m);
		int ret = fib_del(r->fib, &m);
		if (ret && ret != -ESRCH) {    /* ESRCH: a duplicate already gone */
			fprintf(stderr, "fib_del: %s\n", strerror(-ret));
			exit(1);
		}
	}
	r->fib_delete = report_rate(r, "fib", "delete", (double)r->n, bench_now() - t0);
	printf("fib_%s_routes_after_delete %zu\n", r->fam, fib_count(r->fib, r->family));
	t0 = bench_now();
	for (size_t i = 0; i < r->n; i++)
		ref_remove(r->ref, &r->ps[i]);
	r->ref_delete = report_rate(r, "ref", "delete", (double)r->n, bench_now() - t0);
}

static void run_print_ratios(const struct run *r)
{
	printf("ratio_%s_lpm_lookup_vs_ref %.2f\n", r->fam, r->lpm_lookup / r->ref_lookup);
	printf("ratio_%s_fib_lookup_vs_ref %.2f\n", r->fam, r->fib_lookup / r->ref_lookup);
	printf("ratio_%s_fib_insert_vs_ref %.2f\n", r->fam, r->fib_insert / r->ref_insert);
	printf("ratio_%s_fib_delete_vs_ref %.2f\n", r->fam, r->fib_delete / r->ref_delete);
	printf("ratio_%s_fib_memory_vs_ref %.2f\n", r->fam,
	       (double)r->fib_mem / (double)r->ref_mem);
}

static void run_free(struct run *r)
{
	lpm_free(r->lpm, NULL, NULL);
	fib_free(r->fib);
	ref_free(r->ref);
	free(r->ref);
	free(r->ps);
	free(r->look);
	free(r->ifx);
	malloc_trim(0);                  /* so the next family's RSS delta starts from a clean heap */
}

static void bench_family(int family, size_t n)
{
	struct run r = { .family = family, .fam = family == AF_INET ? "v4" : "v6", .n = n };
	run_generate(&r);
	run_fib_insert(&r);
	run_fib_lookup(&r);
	run_lpm(&r);
	run_ref(&r);
	run_cross_check(&r);
	run_delete(&r);
	run_print_ratios(&r);
	run_free(&r);
}

int main(void)
{
	double t0 = bench_now();
	bench_family(AF_INET, N_V4);
	bench_family(AF_INET6, N_V6);
	printf("bench_fib_seconds %.1f\n", bench_now() - t0);
	return 0;
}
