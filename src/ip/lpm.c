/*
 * DOC: Theory of operation
 *
 * A multibit trie with stride 6 whose nodes are compressed with bitmaps, in
 * the manner of Tree Bitmap (Eatherton, Varghese, Dittia 2004) and poptrie
 * (Asai, Ohara 2015), plus leaf compression. Keys are handled as 128-bit
 * integers, the address top-aligned (an IPv4 address in the top 32 bits). A
 * node at depth d consumes key bits [6d, 6d+6): its "slot".
 *
 * A prefix of length L >= 1 lives in the node at depth d = (L-1)/6, with
 * r = L - 6d in 1..6 bits inside that node:
 *   - r = 1..5: bit (1 << r | top r bits of the slot) of pfx_lo ("heap index"
 *     2..63: a prefix's heap index is always larger than that of any shorter
 *     prefix covering the same slot);
 *   - r = 6: bit slot of pfx_hi (so /6, /12, /24, /48 ... cost one bit).
 * The prefixes covering slot s are the heap indexes in cover[s]; the longest
 * present one is the highest set bit of pfx_lo & cover[s]. Values sit in a
 * dense array in heap-index order (pfx_lo bits then pfx_hi bits), found by
 * popcount. Children sit in a dense array of nodes (not pointers) in slot
 * order, found by popcount over child_bm. /0 is kept apart in the table.
 *
 * Leaf compression: a subtree holding a single prefix is one "leaf" node in
 * its parent's child array (bit 0 of pfx_lo set: heap indexes 0 and 1 are
 * never used), carrying the whole key and length, so a sparse table (random
 * IPv6 /48s) costs no chain of one-child nodes. Invariant, kept by
 * normalize() after every change: an inner node below the root holds at
 * least two prefixes in its subtree.
 *
 * A lookup reads one 40-byte node per 6 bits (at most 6 for IPv4, 22 for
 * IPv6; fewer where a leaf ends the path) and one value at the end. Updates
 * touch one node's arrays plus the nodes on the path; nothing is expanded,
 * so churn of a short prefix costs the same as a long one.
 */
#include "ip/lpm.h"

#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define STRIDE 6
#define MAX_DEPTH 22                 /* ceil(128 / 6) */
#define LEAF 1ull                    /* pfx_lo bit 0: this node is a leaf */

typedef unsigned __int128 u128;

struct lpm_node {
	uint64_t pfx_lo;                 /* heap indexes 2..63: prefixes of 1..5 bits here;
					    leaf: LEAF | plen << 8 */
	union {
		uint64_t pfx_hi;         /* bit s: the 6-bit prefix equal to slot s */
		uint64_t key_hi;         /* leaf: key bits 0..63 */
	};
	union {
		uint64_t child_bm;       /* bit s: a child node continues below slot s */
		uint64_t key_lo;         /* leaf: key bits 64..127 */
	};
	union {
		struct lpm_node *children;   /* popcount(child_bm) nodes in slot order */
		void *leaf_val;
	};
	void **vals;                     /* popcount(pfx_lo) + popcount(pfx_hi) values */
};

struct lpm {
	struct lpm_node root;            /* never a leaf */
	void *default_val;               /* the /0 entry, NULL if none */
	int family;
	unsigned bits, alen;
	size_t count;
	size_t bytes;                    /* malloc chunk estimate of everything allocated */
};

/* Heap indexes covering each slot; heap descendants and slot ranges of each index. */
static uint64_t cover[64];
static uint64_t desc_lo[64];
static uint64_t slot_range[64];
static bool tables_ready;

static void init_tables(void)
{
	if (tables_ready)
		return;
	for (unsigned s = 0; s < 64; s++) {
		uint64_t m = 0;
		for (unsigned r = 1; r <= 5; r++)
			m |= 1ull << ((1u << r) | (s >> (STRIDE - r)));
		cover[s] = m;
	}
	for (unsigned r = 0; r <= 5; r++) {
		for (unsigned x = 0; x < (1u << r); x++) {
			unsigned h = (1u << r) | x;
			uint64_t d = 0;
			for (unsigned r2 = r; r2 <= 5; r2++)
				for (unsigned y = x << (r2 - r); y < (x + 1) << (r2 - r); y++)
					if (r2 >= 1)
						d |= 1ull << ((1u << r2) | y);
			desc_lo[h] = d;
			unsigned lo = x << (STRIDE - r), n = 1u << (STRIDE - r);
			slot_range[h] = (n == 64 ? ~0ull : ((1ull << n) - 1) << lo);
		}
	}
	tables_ready = true;
}

/* glibc's chunk size for a malloc of n bytes, so lpm_memory matches the RSS. */
static size_t chunk(size_t n)
{
	if (n == 0)
		return 0;
	size_t c = (n + 8 + 15) & ~(size_t)15;
	return c < 32 ? 32 : c;
}

static inline u128 load_key(const struct lpm *t, const uint8_t *a)
{
	if (t->alen == 4) {
		uint32_t v;
		memcpy(&v, a, 4);
		return (u128)be32toh(v) << 96;
	}
	uint64_t hi, lo;
	memcpy(&hi, a, 8);
	memcpy(&lo, a + 8, 8);
	return (u128)be64toh(hi) << 64 | be64toh(lo);
}

static void store_key(const struct lpm *t, u128 k, uint8_t out[16])
{
	uint64_t hi = htobe64((uint64_t)(k >> 64)), lo = htobe64((uint64_t)k);
	memcpy(out, &hi, 8);
	memcpy(out + 8, &lo, 8);
	if (t->alen == 4)
		memset(out + 4, 0, 12);
}

static inline u128 pmask(unsigned plen)
{
	return plen ? ~(u128)0 << (128 - plen) : 0;
}

/* Key bits [off, off+6), bits past 128 reading as zero. */
static inline unsigned slot_of(u128 k, unsigned off)
{
	return off <= 122 ? (unsigned)(k >> (122 - off)) & 63 : (unsigned)(k << (off - 122)) & 63;
}

static inline u128 with_slot(u128 k, unsigned off, unsigned s)
{
	return off <= 122 ? k | (u128)s << (122 - off) : k | (u128)s >> (off - 122);
}

static inline uint64_t below(unsigned s)
{
	return (1ull << s) - 1;
}

static inline bool is_leaf(const struct lpm_node *n)
{
	return n->pfx_lo & LEAF;
}

static inline unsigned leaf_plen(const struct lpm_node *n)
{
	return (unsigned)(n->pfx_lo >> 8);
}

static inline u128 leaf_key(const struct lpm_node *n)
{
	return (u128)n->key_hi << 64 | n->key_lo;
}

static void make_leaf(struct lpm_node *n, u128 key, unsigned plen, void *value)
{
	n->pfx_lo = LEAF | (uint64_t)plen << 8;
	n->key_hi = (uint64_t)(key >> 64);
	n->key_lo = (uint64_t)key;
	n->leaf_val = value;
	n->vals = NULL;
}

static inline unsigned nvals(const struct lpm_node *n)
{
	return (unsigned)(__builtin_popcountll(n->pfx_lo) + __builtin_popcountll(n->pfx_hi));
}

static inline unsigned nchildren(const struct lpm_node *n)
{
	return (unsigned)__builtin_popcountll(n->child_bm);
}

/* Position p: 2..63 = heap index in pfx_lo, 64..127 = 64 + slot in pfx_hi. */
static inline bool has_pos(const struct lpm_node *n, unsigned p)
{
	return p < 64 ? (n->pfx_lo >> p) & 1 : (n->pfx_hi >> (p - 64)) & 1;
}

static inline unsigned rank_pos(const struct lpm_node *n, unsigned p)
{
	if (p < 64)
		return (unsigned)__builtin_popcountll(n->pfx_lo & below(p));
	return (unsigned)(__builtin_popcountll(n->pfx_lo) +
			  __builtin_popcountll(n->pfx_hi & below(p - 64)));
}

static inline unsigned pos_bits(unsigned p)
{
	return p >= 64 ? 6 : 31 - (unsigned)__builtin_clz(p);
}

static inline void toggle_pos(struct lpm_node *n, unsigned p)
{
	if (p < 64)
		n->pfx_lo ^= 1ull << p;
	else
		n->pfx_hi ^= 1ull << (p - 64);
}

/* The key of position p in the node at depth d reached by path. */
static u128 key_of_pos(u128 path, unsigned d, unsigned p)
{
	unsigned off = d * STRIDE, r = pos_bits(p);
	unsigned x = p >= 64 ? p - 64 : p - (1u << r);
	return (path & pmask(off)) | (u128)x << (128 - off - r);
}

static inline bool node_empty(const struct lpm_node *n)
{
	return !(n->pfx_lo | n->pfx_hi | n->child_bm);
}

/* Resizes *arr from oldn to newn elements; a failed shrink keeps the old block. */
static int arr_resize(struct lpm *t, void **arr, size_t oldn, size_t newn, size_t elem)
{
	if (newn == 0) {
		free(*arr);
		*arr = NULL;
	} else {
		void *p = realloc(*arr, newn * elem);
		if (!p) {
			if (newn > oldn)
				return -ENOMEM;
		} else {
			*arr = p;
		}
	}
	t->bytes = t->bytes - chunk(oldn * elem) + chunk(newn * elem);
	return 0;
}

/* Where a prefix of plen >= 1 lives: depth and position inside that node. */
static void locate(u128 key, unsigned plen, unsigned *depth, unsigned *pos)
{
	unsigned d = (plen - 1) / STRIDE, r = plen - d * STRIDE;
	unsigned s = slot_of(key, d * STRIDE);
	*depth = d;
	*pos = r == STRIDE ? 64 + s : (1u << r) | (s >> (STRIDE - r));
}

/* The key of the prefix addr/plen (plen >= 1, host bits cleared), and where it lives (locate). */
static u128 locate_prefix(const struct lpm *t, const uint8_t *addr, unsigned plen, unsigned *depth,
			  unsigned *pos)
{
	u128 key = load_key(t, addr) & pmask(plen);
	locate(key, plen, depth, pos);
	return key;
}

struct lpm *lpm_new(int family)
{
	if (family != AF_INET && family != AF_INET6)
		return NULL;
	init_tables();
	struct lpm *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->family = family;
	t->bits = family == AF_INET ? 32 : 128;
	t->alen = t->bits / 8;
	t->bytes = chunk(sizeof(*t));
	return t;
}

static void free_node(struct lpm_node *n, void (*free_value)(void *, void *), void *ctx)
{
	if (is_leaf(n)) {
		if (free_value)
			free_value(n->leaf_val, ctx);
		return;
	}
	unsigned nc = nchildren(n), nv = nvals(n);
	for (unsigned i = 0; i < nc; i++)
		free_node(&n->children[i], free_value, ctx);
	if (free_value)
		for (unsigned i = 0; i < nv; i++)
			free_value(n->vals[i], ctx);
	free(n->children);
	free(n->vals);
}

void lpm_free(struct lpm *t, void (*free_value)(void *value, void *ctx), void *ctx)
{
	if (!t)
		return;
	free_node(&t->root, free_value, ctx);
	if (free_value && t->default_val)
		free_value(t->default_val, ctx);
	free(t);
}

int lpm_family(const struct lpm *t)
{
	return t->family;
}

size_t lpm_count(const struct lpm *t)
{
	return t->count;
}

size_t lpm_memory(const struct lpm *t)
{
	return t->bytes;
}

static struct lpm_node *child_of(const struct lpm_node *n, unsigned s)
{
	if (!((n->child_bm >> s) & 1))
		return NULL;
	return &n->children[__builtin_popcountll(n->child_bm & below(s))];
}

static int add_child(struct lpm *t, struct lpm_node *n, unsigned s)
{
	unsigned nc = nchildren(n), i = (unsigned)__builtin_popcountll(n->child_bm & below(s));
	void *arr = n->children;
	int err = arr_resize(t, &arr, nc, nc + 1, sizeof(struct lpm_node));
	if (err)
		return err;
	n->children = arr;
	memmove(&n->children[i + 1], &n->children[i], (nc - i) * sizeof(struct lpm_node));
	memset(&n->children[i], 0, sizeof(struct lpm_node));
	n->child_bm |= 1ull << s;
	return 0;
}

static void del_child(struct lpm *t, struct lpm_node *n, unsigned s)
{
	unsigned nc = nchildren(n), i = (unsigned)__builtin_popcountll(n->child_bm & below(s));
	memmove(&n->children[i], &n->children[i + 1], (nc - i - 1) * sizeof(struct lpm_node));
	n->child_bm &= ~(1ull << s);
	void *arr = n->children;
	arr_resize(t, &arr, nc, nc - 1, sizeof(struct lpm_node));
	n->children = arr;
}

/* Turns leaf c, at depth d, into an inner node holding the same prefix. */
static int push_down(struct lpm *t, struct lpm_node *c, unsigned d)
{
	struct lpm_node leaf = *c;
	u128 key = leaf_key(&leaf);
	unsigned plen = leaf_plen(&leaf), depth, pos;
	locate(key, plen, &depth, &pos);
	struct lpm_node n = { 0 };
	if (depth == d) {
		void *arr = NULL;
		if (arr_resize(t, &arr, 0, 1, sizeof(void *)) < 0)
			return -ENOMEM;
		n.vals = arr;
		n.vals[0] = leaf.leaf_val;
		toggle_pos(&n, pos);
	} else {
		if (add_child(t, &n, slot_of(key, d * STRIDE)) < 0)
			return -ENOMEM;
		n.children[0] = leaf;
	}
	*c = n;
	return 0;
}

static bool collapsible(const struct lpm_node *n)
{
	unsigned nv = nvals(n);
	if (nv == 1)
		return n->child_bm == 0;
	return nv == 0 && nchildren(n) == 1 && is_leaf(&n->children[0]);
}

/* Replaces inner node n at depth d (reached by path) by a leaf for its one prefix. */
static void collapse(struct lpm *t, struct lpm_node *n, unsigned d, u128 path)
{
	if (n->child_bm) {
		struct lpm_node leaf = n->children[0];
		void *arr = n->children;
		arr_resize(t, &arr, 1, 0, sizeof(struct lpm_node));
		*n = leaf;
		return;
	}
	unsigned p = n->pfx_lo ? (unsigned)__builtin_ctzll(n->pfx_lo)
			       : 64 + (unsigned)__builtin_ctzll(n->pfx_hi);
	void *val = n->vals[0];
	void *arr = n->vals;
	arr_resize(t, &arr, 1, 0, sizeof(void *));
	make_leaf(n, key_of_pos(path, d, p), d * STRIDE + pos_bits(p), val);
}

/*
 * Restores the invariant along a path after a change at depth `depth`:
 * empty nodes go, one-prefix nodes become leaves. path[0] is the root.
 */
static void normalize(struct lpm *t, struct lpm_node **path, unsigned depth, u128 key)
{
	for (unsigned i = depth; i > 0; i--) {
		struct lpm_node *n = path[i];
		if (node_empty(n))
			del_child(t, path[i - 1], slot_of(key, (i - 1) * STRIDE));
		else if (collapsible(n))
			collapse(t, n, i, key);
		else
			break;
	}
}

int lpm_insert(struct lpm *t, const uint8_t *addr, unsigned plen, void *value, void **old)
{
	if (old)
		*old = NULL;
	if (plen > t->bits || !value)
		return -EINVAL;
	if (plen == 0) {
		if (old)
			*old = t->default_val;
		if (!t->default_val)
			t->count++;
		t->default_val = value;
		return 0;
	}
	struct lpm_node *path[MAX_DEPTH];
	unsigned depth, pos;
	u128 key = locate_prefix(t, addr, plen, &depth, &pos);

	struct lpm_node *n = &t->root;
	int err;
	path[0] = n;
	for (unsigned d = 0; d < depth; d++) {
		unsigned s = slot_of(key, d * STRIDE);
		struct lpm_node *c = child_of(n, s);
		if (!c) {
			/* Nothing below: the whole rest of the path is one leaf. */
			if ((err = add_child(t, n, s)) < 0) {
				normalize(t, path, d, key);
				return err;
			}
			make_leaf(child_of(n, s), key, plen, value);
			t->count++;
			return 0;
		}
		if (is_leaf(c)) {
			if (leaf_plen(c) == plen && leaf_key(c) == key) {
				if (old)
					*old = c->leaf_val;
				c->leaf_val = value;
				return 0;
			}
			if ((err = push_down(t, c, d + 1)) < 0) {
				normalize(t, path, d, key);
				return err;
			}
		}
		n = c;
		path[d + 1] = n;
	}

	unsigned i = rank_pos(n, pos);
	if (has_pos(n, pos)) {
		if (old)
			*old = n->vals[i];
		n->vals[i] = value;
		return 0;
	}
	unsigned nv = nvals(n);
	void *arr = n->vals;
	if ((err = arr_resize(t, &arr, nv, nv + 1, sizeof(void *))) < 0) {
		normalize(t, path, depth, key);
		return err;
	}
	n->vals = arr;
	memmove(&n->vals[i + 1], &n->vals[i], (nv - i) * sizeof(void *));
	n->vals[i] = value;
	toggle_pos(n, pos);
	t->count++;
	return 0;
}

int lpm_remove(struct lpm *t, const uint8_t *addr, unsigned plen, void **old)
{
	if (old)
		*old = NULL;
	if (plen > t->bits)
		return -EINVAL;
	if (plen == 0) {
		if (!t->default_val)
			return -ENOENT;
		if (old)
			*old = t->default_val;
		t->default_val = NULL;
		t->count--;
		return 0;
	}
	struct lpm_node *path[MAX_DEPTH];
	unsigned depth, pos;
	u128 key = locate_prefix(t, addr, plen, &depth, &pos);

	struct lpm_node *n = &t->root;
	path[0] = n;
	for (unsigned d = 0; d < depth; d++) {
		unsigned s = slot_of(key, d * STRIDE);
		struct lpm_node *c = child_of(n, s);
		if (!c)
			return -ENOENT;
		if (is_leaf(c)) {
			if (leaf_plen(c) != plen || leaf_key(c) != key)
				return -ENOENT;
			if (old)
				*old = c->leaf_val;
			del_child(t, n, s);
			t->count--;
			normalize(t, path, d, key);
			return 0;
		}
		n = c;
		path[d + 1] = n;
	}
	if (!has_pos(n, pos))
		return -ENOENT;

	unsigned i = rank_pos(n, pos), nv = nvals(n);
	if (old)
		*old = n->vals[i];
	memmove(&n->vals[i], &n->vals[i + 1], (nv - i - 1) * sizeof(void *));
	toggle_pos(n, pos);
	void *arr = n->vals;
	arr_resize(t, &arr, nv, nv - 1, sizeof(void *));
	n->vals = arr;
	t->count--;
	normalize(t, path, depth, key);
	return 0;
}

void *lpm_get(const struct lpm *t, const uint8_t *addr, unsigned plen)
{
	if (plen > t->bits)
		return NULL;
	if (plen == 0)
		return t->default_val;
	unsigned depth, pos;
	u128 key = locate_prefix(t, addr, plen, &depth, &pos);
	const struct lpm_node *n = &t->root;
	for (unsigned d = 0; d < depth; d++) {
		if (!(n = child_of(n, slot_of(key, d * STRIDE))))
			return NULL;
		if (is_leaf(n))
			return leaf_plen(n) == plen && leaf_key(n) == key ? n->leaf_val : NULL;
	}
	if (!has_pos(n, pos))
		return NULL;
	return n->vals[rank_pos(n, pos)];
}

void *lpm_lookup_prefix(const struct lpm *t, const uint8_t *addr, unsigned *plen_out)
{
	u128 key = load_key(t, addr);
	const struct lpm_node *n = &t->root, *best = NULL;
	unsigned off = 0, best_off = 0, best_pos = 0;
	for (;;) {
		unsigned s = slot_of(key, off);
		uint64_t bit = 1ull << s;
		if (n->pfx_hi & bit) {
			best = n;
			best_pos = 64 + s;
			best_off = off;
		} else {
			uint64_t m = n->pfx_lo & cover[s];
			if (m) {
				best = n;
				best_pos = 63 - (unsigned)__builtin_clzll(m);
				best_off = off;
			}
		}
		if (!(n->child_bm & bit))
			break;
		n = &n->children[__builtin_popcountll(n->child_bm & (bit - 1))];
		if (is_leaf(n)) {
			/* Longer than anything above, if it matches at all. */
			unsigned plen = leaf_plen(n);
			if (((key ^ leaf_key(n)) & pmask(plen)) == 0) {
				if (plen_out)
					*plen_out = plen;
				return n->leaf_val;
			}
			break;
		}
		off += STRIDE;
	}
	if (!best) {
		if (plen_out)
			*plen_out = 0;
		return t->default_val;
	}
	if (plen_out)
		*plen_out = best_off + pos_bits(best_pos);
	return best->vals[rank_pos(best, best_pos)];
}

void *lpm_lookup(const struct lpm *t, const uint8_t *addr)
{
	return lpm_lookup_prefix(t, addr, NULL);
}

struct walk {
	const struct lpm *t;
	int (*cb)(const uint8_t *addr, unsigned plen, void *value, void *ctx);
	void *ctx;
};

static int walk_node(struct walk *w, const struct lpm_node *n, unsigned d, u128 path);

static int walk_emit(struct walk *w, u128 key, unsigned plen, void *value)
{
	uint8_t a[16];
	store_key(w->t, key, a);
	return w->cb(a, plen, value, w->ctx);
}

/* Visits the part of node n (depth d) under its r-bit prefix x, in prefix order. */
static int walk_sub(struct walk *w, const struct lpm_node *n, unsigned d, u128 path, unsigned r,
		    unsigned x)
{
	int ret;
	if (r == STRIDE) {
		unsigned p = 64 + x;
		if (((n->pfx_hi >> x) & 1) &&
		    (ret = walk_emit(w, key_of_pos(path, d, p), d * STRIDE + r, n->vals[rank_pos(n, p)])))
			return ret;
		if ((n->child_bm >> x) & 1) {
			const struct lpm_node *c = child_of(n, x);
			if (is_leaf(c))
				return walk_emit(w, leaf_key(c), leaf_plen(c), c->leaf_val);
			return walk_node(w, c, d + 1, with_slot(path, d * STRIDE, x));
		}
		return 0;
	}
	unsigned h = (1u << r) | x;
	if (!(n->pfx_lo & desc_lo[h]) && !((n->pfx_hi | n->child_bm) & slot_range[h]))
		return 0;
	if (r >= 1 && ((n->pfx_lo >> h) & 1) &&
	    (ret = walk_emit(w, key_of_pos(path, d, h), d * STRIDE + r, n->vals[rank_pos(n, h)])))
		return ret;
	if ((ret = walk_sub(w, n, d, path, r + 1, x << 1)))
		return ret;
	return walk_sub(w, n, d, path, r + 1, x << 1 | 1);
}

static int walk_node(struct walk *w, const struct lpm_node *n, unsigned d, u128 path)
{
	return walk_sub(w, n, d, path, 0, 0);
}

int lpm_walk(const struct lpm *t,
	     int (*cb)(const uint8_t *addr, unsigned plen, void *value, void *ctx), void *ctx)
{
	struct walk w = { .t = t, .cb = cb, .ctx = ctx };
	int ret;
	if (t->default_val && (ret = walk_emit(&w, 0, 0, t->default_val)))
		return ret;
	return walk_node(&w, &t->root, 0, 0);
}

/* Post-order: children first, so a child emptied here can be pruned by its parent. */
static void remove_value_node(struct lpm *t, struct lpm_node *n, unsigned d, u128 path,
			      void *value)
{
	for (int s = 63; s >= 0; s--) {
		if (!((n->child_bm >> s) & 1))
			continue;
		struct lpm_node *c = child_of(n, (unsigned)s);
		if (is_leaf(c)) {
			if (c->leaf_val == value) {
				del_child(t, n, (unsigned)s);
				t->count--;
			}
			continue;
		}
		u128 cpath = with_slot(path, d * STRIDE, (unsigned)s);
		remove_value_node(t, c, d + 1, cpath, value);
		if (node_empty(c))
			del_child(t, n, (unsigned)s);
		else if (collapsible(c))
			collapse(t, c, d + 1, cpath);
	}
	unsigned nv = nvals(n), k = 0, j = 0;
	if (!nv)
		return;
	for (unsigned p = 2; p < 128; p++) {
		if (!has_pos(n, p))
			continue;
		void *v = n->vals[j++];
		if (v == value) {
			toggle_pos(n, p);
			t->count--;
		} else {
			n->vals[k++] = v;
		}
	}
	if (k != nv) {
		void *arr = n->vals;
		arr_resize(t, &arr, nv, k, sizeof(void *));
		n->vals = arr;
	}
}

void lpm_remove_value(struct lpm *t, void *value)
{
	if (!value)
		return;
	if (t->default_val == value) {
		t->default_val = NULL;
		t->count--;
	}
	remove_value_node(t, &t->root, 0, 0, value);
}
