/*
 * DOC: Theory of operation
 *
 * Each table holds two lpm tries (IPv4, IPv6). The value stored for a prefix
 * is the head of a singly linked list of fib_entry, best first: ascending
 * priority, and in insertion order among equal priorities, so a lookup is one
 * trie lookup plus reading the head.
 *
 * A struct fib_route is ~84 bytes, too big to keep a million of. Routes learnt
 * from a few peers share a handful of next hops, so (type, gateway, ifindex,
 * protocol, scope, prefsrc) is interned in a hash table with a reference
 * count, like the kernel's fib_info, and an entry is 24 bytes from a slab.
 * The prefix is the trie key and the table is implied by the trie, so a route
 * is rebuilt from these parts when it is looked up, walked or reported.
 */
#include "ip/fib.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ip/lpm.h"

struct fib_nh {
	struct fib_nh *hnext;            /* hash chain */
	uint32_t refcnt;
	uint32_t hash;
	uint32_t ifindex;
	uint8_t type, protocol, scope;
	struct ip_addr gateway;          /* unused bytes zero, so memcmp works */
	struct ip_addr prefsrc;
};

struct fib_entry {
	struct fib_entry *next;          /* same prefix, next best; free list when unused */
	struct fib_nh *nh;
	uint32_t priority;
};

#define SLAB_ENTRIES 1022            /* a slab is then just under 24 KiB */

struct entry_slab {
	struct entry_slab *next;
	struct fib_entry e[SLAB_ENTRIES];
};

struct fib_table {
	uint32_t id;
	struct lpm *lpm[2];              /* [0] IPv4, [1] IPv6 */
};

struct fib {
	struct fib_table **tables;       /* sorted by id */
	size_t n_tables;
	size_t count[2];
	struct fib_nh **nh_buckets;
	size_t nh_nbuckets, nh_count;
	struct entry_slab *slabs;
	size_t n_slabs;
	struct fib_entry *free_entries;
	void (*observer)(void *ctx, int event, const struct fib_route *r);
	void *observer_ctx;
};

static int fam_index(int family)
{
	return family == AF_INET ? 0 : family == AF_INET6 ? 1 : -1;
}

/* ---- interned next hops ---- */

static void canon_addr(struct ip_addr *out, const struct ip_addr *in)
{
	memset(out, 0, sizeof(*out));
	if (in->family == AF_INET || in->family == AF_INET6) {
		out->family = in->family;
		memcpy(out->bytes, in->bytes, ip_addr_size(in));
	}
}

static void nh_key(struct fib_nh *k, const struct fib_route *r)
{
	memset(k, 0, sizeof(*k));
	k->ifindex = r->ifindex;
	k->type = r->type;
	k->protocol = r->protocol;
	k->scope = r->scope;
	canon_addr(&k->gateway, &r->gateway);
	canon_addr(&k->prefsrc, &r->prefsrc);
}

static uint32_t nh_hash(const struct fib_nh *k)
{
	/* FNV-1a over the key fields. */
	uint32_t h = 2166136261u;
	const uint8_t *parts[] = { (const uint8_t *)&k->ifindex, &k->type, &k->protocol, &k->scope,
				   (const uint8_t *)&k->gateway, (const uint8_t *)&k->prefsrc };
	const size_t lens[] = { sizeof(k->ifindex), 1, 1, 1, sizeof(k->gateway), sizeof(k->prefsrc) };
	for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++)
		for (size_t i = 0; i < lens[p]; i++)
			h = (h ^ parts[p][i]) * 16777619u;
	return h;
}

static bool nh_equal(const struct fib_nh *a, const struct fib_nh *b)
{
	return a->ifindex == b->ifindex && a->type == b->type && a->protocol == b->protocol &&
	       a->scope == b->scope && !memcmp(&a->gateway, &b->gateway, sizeof(a->gateway)) &&
	       !memcmp(&a->prefsrc, &b->prefsrc, sizeof(a->prefsrc));
}

static void nh_rehash(struct fib *fib)
{
	size_t nb = fib->nh_nbuckets ? fib->nh_nbuckets * 2 : 16;
	struct fib_nh **b = calloc(nb, sizeof(*b));
	if (!b)
		return;                  /* longer chains, still correct */
	for (size_t i = 0; i < fib->nh_nbuckets; i++) {
		struct fib_nh *n = fib->nh_buckets[i], *next;
		for (; n; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(fib->nh_buckets);
	fib->nh_buckets = b;
	fib->nh_nbuckets = nb;
}

static struct fib_nh *nh_get(struct fib *fib, const struct fib_route *r)
{
	struct fib_nh key;
	nh_key(&key, r);
	key.hash = nh_hash(&key);
	if (fib->nh_nbuckets) {
		struct fib_nh *n = fib->nh_buckets[key.hash & (fib->nh_nbuckets - 1)];
		for (; n; n = n->hnext) {
			if (n->hash == key.hash && nh_equal(n, &key)) {
				n->refcnt++;
				return n;
			}
		}
	}
	if (fib->nh_count >= fib->nh_nbuckets)
		nh_rehash(fib);
	if (!fib->nh_nbuckets)
		return NULL;
	struct fib_nh *n = malloc(sizeof(*n));
	if (!n)
		return NULL;
	*n = key;
	n->refcnt = 1;
	n->hnext = fib->nh_buckets[key.hash & (fib->nh_nbuckets - 1)];
	fib->nh_buckets[key.hash & (fib->nh_nbuckets - 1)] = n;
	fib->nh_count++;
	return n;
}

static void nh_put(struct fib *fib, struct fib_nh *n)
{
	if (--n->refcnt)
		return;
	struct fib_nh **pp = &fib->nh_buckets[n->hash & (fib->nh_nbuckets - 1)];
	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	fib->nh_count--;
	free(n);
}

/* ---- entries ---- */

static struct fib_entry *entry_alloc(struct fib *fib)
{
	if (!fib->free_entries) {
		struct entry_slab *s = malloc(sizeof(*s));
		if (!s)
			return NULL;
		s->next = fib->slabs;
		fib->slabs = s;
		fib->n_slabs++;
		for (size_t i = SLAB_ENTRIES; i-- > 0;) {
			s->e[i].next = fib->free_entries;
			fib->free_entries = &s->e[i];
		}
	}
	struct fib_entry *e = fib->free_entries;
	fib->free_entries = e->next;
	memset(e, 0, sizeof(*e));
	return e;
}

static void entry_free(struct fib *fib, struct fib_entry *e)
{
	nh_put(fib, e->nh);
	e->nh = NULL;
	e->next = fib->free_entries;
	fib->free_entries = e;
}

/* ---- tables ---- */

static struct fib_table *table_find(const struct fib *fib, uint32_t id)
{
	size_t lo = 0, hi = fib->n_tables;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (fib->tables[mid]->id == id)
			return fib->tables[mid];
		if (fib->tables[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct fib_table *table_get(struct fib *fib, uint32_t id)
{
	struct fib_table *t = table_find(fib, id);
	if (t)
		return t;
	struct fib_table **arr = realloc(fib->tables, (fib->n_tables + 1) * sizeof(*arr));
	if (!arr)
		return NULL;
	fib->tables = arr;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->id = id;
	t->lpm[0] = lpm_new(AF_INET);
	t->lpm[1] = lpm_new(AF_INET6);
	if (!t->lpm[0] || !t->lpm[1]) {
		lpm_free(t->lpm[0], NULL, NULL);
		lpm_free(t->lpm[1], NULL, NULL);
		free(t);
		return NULL;
	}
	size_t i = fib->n_tables;
	while (i > 0 && fib->tables[i - 1]->id > id) {
		fib->tables[i] = fib->tables[i - 1];
		i--;
	}
	fib->tables[i] = t;
	fib->n_tables++;
	return t;
}

static uint32_t table_id(uint32_t table)
{
	return table ? table : FIB_TABLE_MAIN;
}

/* ---- public ---- */

struct fib *fib_new(void)
{
	struct fib *fib = calloc(1, sizeof(*fib));
	if (!fib)
		return NULL;
	if (!table_get(fib, FIB_TABLE_MAIN)) {
		free(fib);
		return NULL;
	}
	return fib;
}

void fib_free(struct fib *fib)
{
	if (!fib)
		return;
	for (size_t i = 0; i < fib->n_tables; i++) {
		lpm_free(fib->tables[i]->lpm[0], NULL, NULL);
		lpm_free(fib->tables[i]->lpm[1], NULL, NULL);
		free(fib->tables[i]);
	}
	free(fib->tables);
	for (size_t i = 0; i < fib->nh_nbuckets; i++) {
		struct fib_nh *n = fib->nh_buckets[i], *next;
		for (; n; n = next) {
			next = n->hnext;
			free(n);
		}
	}
	free(fib->nh_buckets);
	while (fib->slabs) {
		struct entry_slab *s = fib->slabs;
		fib->slabs = s->next;
		free(s);
	}
	free(fib);
}

void fib_set_observer(struct fib *fib,
		      void (*cb)(void *ctx, int event, const struct fib_route *r), void *ctx)
{
	fib->observer = cb;
	fib->observer_ctx = ctx;
}

/* Clears the host bits of a prefix of the given family. */
static void mask_prefix(struct ip_addr *out, const struct ip_addr *in, unsigned plen)
{
	canon_addr(out, in);
	unsigned alen = ip_addr_size(out);
	for (unsigned i = 0; i < alen; i++) {
		if (plen >= 8 * (i + 1))
			continue;
		unsigned keep = plen > 8 * i ? plen - 8 * i : 0;
		out->bytes[i] &= (uint8_t)(0xff00u >> keep);
	}
}

static void materialize(struct fib_route *out, const struct ip_addr *prefix, unsigned plen,
			uint32_t table, const struct fib_entry *e)
{
	memset(out, 0, sizeof(*out));
	mask_prefix(&out->prefix.addr, prefix, plen);
	out->prefix.len = (uint8_t)plen;
	out->type = e->nh->type;
	out->gateway = e->nh->gateway;
	out->ifindex = e->nh->ifindex;
	out->priority = e->priority;
	out->protocol = e->nh->protocol;
	out->scope = e->nh->scope;
	out->prefsrc = e->nh->prefsrc;
	out->table = table;
}

static void notify(struct fib *fib, int event, const struct ip_addr *prefix, unsigned plen,
		   uint32_t table, const struct fib_entry *e)
{
	if (!fib->observer)
		return;
	struct fib_route r;
	materialize(&r, prefix, plen, table, e);
	fib->observer(fib->observer_ctx, event, &r);
}

static int check_route(const struct fib_route *r)
{
	int fi = fam_index(r->prefix.addr.family);
	if (fi < 0 || r->prefix.len > ip_family_bits(r->prefix.addr.family))
		return -EINVAL;
	if (r->type > FIB_TYPE_PROHIBIT)
		return -EINVAL;
	if (r->gateway.family && fam_index(r->gateway.family) < 0)
		return -EINVAL;
	/* RFC 8950 next hops: an IPv6 gateway may serve IPv4, not the reverse. */
	if (fi == 1 && r->gateway.family == AF_INET)
		return -EINVAL;
	if (r->prefsrc.family && r->prefsrc.family != r->prefix.addr.family)
		return -EINVAL;
	return 0;
}

int fib_add(struct fib *fib, const struct fib_route *r, unsigned flags)
{
	int err = check_route(r);
	if (err)
		return err;
	int fi = fam_index(r->prefix.addr.family);
	uint32_t tid = table_id(r->table);
	struct fib_table *t = table_get(fib, tid);
	if (!t)
		return -ENOMEM;
	struct lpm *lpm = t->lpm[fi];
	const uint8_t *key = r->prefix.addr.bytes;
	unsigned plen = r->prefix.len;
	struct fib_entry *head = lpm_get(lpm, key, plen), *e;

	if (flags & (FIB_REPLACE | FIB_EXCL)) {
		for (e = head; e && e->priority < r->priority; e = e->next)
			;
		if (e && e->priority == r->priority) {
			if (flags & FIB_EXCL)
				return -EEXIST;
			struct fib_nh *nh = nh_get(fib, r);
			if (!nh)
				return -ENOMEM;
			struct fib_route gone;
			bool tell = fib->observer != NULL;
			if (tell)
				materialize(&gone, &r->prefix.addr, plen, tid, e);
			nh_put(fib, e->nh);
			e->nh = nh;
			if (tell) {
				fib->observer(fib->observer_ctx, FIB_REMOVED, &gone);
				notify(fib, FIB_ADDED, &r->prefix.addr, plen, tid, e);
			}
			return 0;
		}
	} else {
		struct fib_nh k;
		nh_key(&k, r);
		for (e = head; e && e->priority <= r->priority; e = e->next)
			if (e->priority == r->priority && nh_equal(e->nh, &k))
				return -EEXIST;
	}

	struct fib_entry *n = entry_alloc(fib);
	if (!n)
		return -ENOMEM;
	if (!(n->nh = nh_get(fib, r))) {
		n->nh = NULL;
		n->next = fib->free_entries;
		fib->free_entries = n;
		return -ENOMEM;
	}
	n->priority = r->priority;
	/* After every route of lower or equal priority: earliest wins a tie. */
	struct fib_entry **pp = &head;
	while (*pp && (*pp)->priority <= r->priority)
		pp = &(*pp)->next;
	n->next = *pp;
	if (pp == &head) {
		if ((err = lpm_insert(lpm, key, plen, n, NULL)) < 0) {
			entry_free(fib, n);
			return err;
		}
	} else {
		*pp = n;
	}
	fib->count[fi]++;
	notify(fib, FIB_ADDED, &r->prefix.addr, plen, tid, n);
	return 0;
}

static bool addr_match(const struct ip_addr *want, const struct ip_addr *have)
{
	if (!want->family)
		return true;
	return want->family == have->family &&
	       !memcmp(want->bytes, have->bytes, ip_addr_size(want));
}

static bool entry_matches(const struct fib_entry *e, const struct fib_route *m)
{
	const struct fib_nh *nh = e->nh;
	if (m->priority && m->priority != e->priority)
		return false;
	if (m->type != FIB_TYPE_UNICAST && m->type != nh->type)
		return false;
	if (m->ifindex && m->ifindex != nh->ifindex)
		return false;
	if (m->protocol && m->protocol != nh->protocol)
		return false;
	if (m->scope != FIB_SCOPE_UNIVERSE && m->scope != FIB_SCOPE_NOWHERE && m->scope != nh->scope)
		return false;
	return addr_match(&m->gateway, &nh->gateway) && addr_match(&m->prefsrc, &nh->prefsrc);
}

/* Unlinks and frees e from the list at addr/plen whose head is head. */
static void remove_entry(struct fib *fib, struct fib_table *t, int fi, const struct ip_addr *addr,
			 unsigned plen, struct fib_entry *head, struct fib_entry *e)
{
	struct lpm *lpm = t->lpm[fi];
	if (e == head) {
		/* Replacing an existing key allocates nothing, so it cannot fail. */
		if (e->next)
			lpm_insert(lpm, addr->bytes, plen, e->next, NULL);
		else
			lpm_remove(lpm, addr->bytes, plen, NULL);
	} else {
		struct fib_entry *p = head;
		while (p->next != e)
			p = p->next;
		p->next = e->next;
	}
	fib->count[fi]--;
	notify(fib, FIB_REMOVED, addr, plen, t->id, e);
	entry_free(fib, e);
}

int fib_del(struct fib *fib, const struct fib_route *match)
{
	int fi = fam_index(match->prefix.addr.family);
	if (fi < 0 || match->prefix.len > ip_family_bits(match->prefix.addr.family))
		return -ESRCH;
	struct fib_table *t = table_find(fib, table_id(match->table));
	if (!t)
		return -ESRCH;
	struct fib_entry *head = lpm_get(t->lpm[fi], match->prefix.addr.bytes, match->prefix.len);
	for (struct fib_entry *e = head; e; e = e->next) {
		if (entry_matches(e, match)) {
			remove_entry(fib, t, fi, &match->prefix.addr, match->prefix.len, head, e);
			return 0;
		}
	}
	return -ESRCH;
}

struct pfx {
	uint8_t addr[16];
	uint8_t plen;
};

struct collect {
	uint32_t ifindex;
	struct pfx *v;
	size_t n, cap;
	bool full;
};

static int collect_ifindex(const uint8_t *addr, unsigned plen, void *value, void *ctx)
{
	struct collect *c = ctx;
	struct fib_entry *e;
	for (e = value; e && e->nh->ifindex != c->ifindex; e = e->next)
		;
	if (!e)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct pfx *v = realloc(c->v, cap * sizeof(*v));
		if (!v) {
			c->full = true;  /* handle what we have, then walk again */
			return 1;
		}
		c->v = v;
		c->cap = cap;
	}
	memcpy(c->v[c->n].addr, addr, 16);
	c->v[c->n++].plen = (uint8_t)plen;
	return 0;
}

size_t fib_del_by_ifindex(struct fib *fib, uint32_t ifindex)
{
	size_t removed = 0;
	if (!ifindex)
		return 0;
	for (size_t ti = 0; ti < fib->n_tables; ti++) {
		struct fib_table *t = fib->tables[ti];
		for (int fi = 0; fi < 2; fi++) {
			struct collect c = { .ifindex = ifindex, .full = true };
			while (c.full) {
				c.full = false;
				c.n = 0;
				lpm_walk(t->lpm[fi], collect_ifindex, &c);
				for (size_t i = 0; i < c.n; i++) {
					struct ip_addr a = { .family = fi ? AF_INET6 : AF_INET };
					memcpy(a.bytes, c.v[i].addr, fi ? 16 : 4);
					struct fib_entry *head, *e, *next;
					head = lpm_get(t->lpm[fi], a.bytes, c.v[i].plen);
					for (e = head; e; e = next) {
						next = e->next;
						if (e->nh->ifindex != ifindex)
							continue;
						remove_entry(fib, t, fi, &a, c.v[i].plen, head, e);
						removed++;
						head = lpm_get(t->lpm[fi], a.bytes, c.v[i].plen);
					}
				}
				if (c.full && c.n == 0)
					break;   /* no memory for even one: give up */
			}
			free(c.v);
		}
	}
	return removed;
}

int fib_lookup_table(const struct fib *fib, uint32_t table, const struct ip_addr *dst,
		     struct fib_route *out)
{
	int fi = fam_index(dst->family);
	const struct fib_table *t = table_find(fib, table_id(table));
	if (fi < 0 || !t)
		return -ENETUNREACH;
	unsigned plen;
	const struct fib_entry *e = lpm_lookup_prefix(t->lpm[fi], dst->bytes, &plen);
	if (!e)
		return -ENETUNREACH;
	materialize(out, dst, plen, t->id, e);
	return 0;
}

int fib_lookup(const struct fib *fib, const struct ip_addr *dst, struct fib_route *out)
{
	return fib_lookup_table(fib, FIB_TABLE_MAIN, dst, out);
}

struct walk_ctx {
	int family;
	uint32_t table;
	int (*cb)(const struct fib_route *r, void *ctx);
	void *ctx;
};

static int walk_prefix(const uint8_t *addr, unsigned plen, void *value, void *ctx)
{
	struct walk_ctx *w = ctx;
	struct ip_addr a = { .family = (uint8_t)w->family };
	memcpy(a.bytes, addr, ip_addr_size(&a));
	for (const struct fib_entry *e = value; e; e = e->next) {
		struct fib_route r;
		materialize(&r, &a, plen, w->table, e);
		int ret = w->cb(&r, w->ctx);
		if (ret)
			return ret;
	}
	return 0;
}

int fib_walk(const struct fib *fib, int family, int (*cb)(const struct fib_route *r, void *ctx),
	     void *ctx)
{
	for (int fi = 0; fi < 2; fi++) {
		int fam = fi ? AF_INET6 : AF_INET;
		if (family != AF_UNSPEC && family != fam)
			continue;
		for (size_t ti = 0; ti < fib->n_tables; ti++) {
			struct walk_ctx w = { fam, fib->tables[ti]->id, cb, ctx };
			int ret = lpm_walk(fib->tables[ti]->lpm[fi], walk_prefix, &w);
			if (ret)
				return ret;
		}
	}
	return 0;
}

size_t fib_count(const struct fib *fib, int family)
{
	int fi = fam_index(family);
	if (fi < 0)
		return fib->count[0] + fib->count[1];
	return fib->count[fi];
}

size_t fib_memory(const struct fib *fib)
{
	size_t m = sizeof(*fib) + fib->n_tables * (sizeof(struct fib_table) + sizeof(void *));
	for (size_t i = 0; i < fib->n_tables; i++)
		m += lpm_memory(fib->tables[i]->lpm[0]) + lpm_memory(fib->tables[i]->lpm[1]);
	m += fib->n_slabs * sizeof(struct entry_slab);
	m += fib->nh_count * sizeof(struct fib_nh) + fib->nh_nbuckets * sizeof(void *);
	return m;
}
