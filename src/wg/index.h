/*
 * The receiver-index table: every handshake in progress and every session
 * (keypair) is known to peers by a random 32-bit index that they echo back
 * in each message. One process-wide hash table maps it to its owner.
 */
#ifndef RR_WG_INDEX_H
#define RR_WG_INDEX_H

#include <stdint.h>

struct wg_peer;

enum index_type { INDEX_HANDSHAKE = 1, INDEX_KEYPAIR = 2 };

/* Embedded in the owner (handshake state or keypair). */
struct index_entry {
	struct index_entry *next;   /* hash chain */
	struct wg_peer *peer;
	uint32_t index;             /* host order */
	uint8_t type;
	uint8_t hashed;             /* currently in the table */
};

/* Gives the entry a fresh random index not in use and inserts it. */
void index_table_insert(struct index_entry *e, enum index_type type, struct wg_peer *peer);
/* Moves old's index to new_entry (a handshake becoming a keypair keeps its index). */
void index_table_replace(struct index_entry *old, struct index_entry *new_entry);
void index_table_remove(struct index_entry *e);
/* The entry with this index and one of the types in type_mask, or NULL. */
struct index_entry *index_table_lookup(uint32_t index, unsigned type_mask);
/* Entries currently in the table (for tests and metrics). */
uint64_t index_table_count(void);

#endif
