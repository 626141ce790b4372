#include "wg/index.h"

#include <stddef.h>

#include "crypto/crypto.h"

/* Sessions are few (three per peer at most); 4096 chains keep them short to ~10k peers. */
#define INDEX_BUCKETS 4096u

static struct index_entry *buckets[INDEX_BUCKETS];
static uint64_t entries;

static struct index_entry **bucket_of(uint32_t index)
{
	/* Indices are random, so their low bits already spread evenly. */
	return &buckets[index & (INDEX_BUCKETS - 1)];
}

static struct index_entry *find(uint32_t index)
{
	for (struct index_entry *e = *bucket_of(index); e; e = e->next)
		if (e->index == index)
			return e;
	return NULL;
}

void index_table_insert(struct index_entry *e, enum index_type type, struct wg_peer *peer)
{
	if (e->hashed)
		index_table_remove(e);
	uint32_t index;
	do
		crypto_random(&index, sizeof(index));
	while (find(index));
	e->index = index;
	e->type = (uint8_t)type;
	e->peer = peer;
	struct index_entry **b = bucket_of(index);
	e->next = *b;
	*b = e;
	e->hashed = 1;
	entries++;
}

void index_table_remove(struct index_entry *e)
{
	if (!e->hashed)
		return;
	for (struct index_entry **pp = bucket_of(e->index); *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	e->next = NULL;
	e->hashed = 0;
	entries--;
}

void index_table_replace(struct index_entry *old, struct index_entry *new_entry)
{
	if (!old->hashed)
		return;
	for (struct index_entry **pp = bucket_of(old->index); *pp; pp = &(*pp)->next) {
		if (*pp == old) {
			new_entry->next = old->next;
			new_entry->index = old->index;
			new_entry->hashed = 1;
			*pp = new_entry;
			break;
		}
	}
	old->next = NULL;
	old->hashed = 0;
}

struct index_entry *index_table_lookup(uint32_t index, unsigned type_mask)
{
	struct index_entry *e = find(index);
	return e && (e->type & type_mask) ? e : NULL;
}

uint64_t index_table_count(void) { return entries; }
