/*
 * Packet buffers. Every buffer has room in front of the data for the
 * WireGuard transport header and room behind it for the Poly1305 tag and
 * padding, so a packet is decrypted, routed and re-encrypted in place.
 * The pool is process-wide (one thread) and keeps freed buffers for reuse.
 */
#ifndef RR_CORE_PBUF_H
#define RR_CORE_PBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PBUF_HEADROOM 96
#define PBUF_TAILROOM 64
#define PBUF_MTU_MAX  1920   /* largest IP packet a buffer carries */
#define PBUF_SIZE     (PBUF_HEADROOM + PBUF_MTU_MAX + PBUF_TAILROOM)

struct pbuf {
	struct pbuf *next;
	uint16_t off;        /* start of data within buf */
	uint16_t len;        /* bytes of data */
	uint32_t ifindex;    /* interface the packet arrived on (0: local) */
	void *peer;          /* WireGuard peer it came from, if any */
	uint8_t buf[PBUF_SIZE];
};

struct pbuf_queue {
	struct pbuf *head, *tail;
	uint32_t len;
};

struct pbuf_stats {
	uint64_t allocated;   /* buffers currently handed out */
	uint64_t cached;      /* buffers on the free list */
	uint64_t alloc_failures;
};

/* NULL when memory is exhausted. Data starts after the headroom, empty. */
struct pbuf *pbuf_alloc(void);
void pbuf_free(struct pbuf *b);
void pbuf_pool_stats(struct pbuf_stats *out);
/* Releases cached free buffers (e.g. when idle or at exit). */
void pbuf_pool_trim(void);

static inline uint8_t *pbuf_data(struct pbuf *b) { return b->buf + b->off; }
static inline size_t pbuf_headroom(const struct pbuf *b) { return b->off; }
static inline size_t pbuf_tailroom(const struct pbuf *b) { return PBUF_SIZE - b->off - b->len; }

/* Prepend n bytes; NULL if the headroom is too small. */
static inline uint8_t *pbuf_push(struct pbuf *b, size_t n)
{
	if (n > b->off)
		return NULL;
	b->off -= (uint16_t)n;
	b->len += (uint16_t)n;
	return b->buf + b->off;
}

/* Drop n bytes from the front; NULL if the packet is shorter. */
static inline uint8_t *pbuf_pull(struct pbuf *b, size_t n)
{
	if (n > b->len)
		return NULL;
	b->off += (uint16_t)n;
	b->len -= (uint16_t)n;
	return b->buf + b->off;
}

/* Append n bytes; returns a pointer to them, NULL if no tailroom. */
static inline uint8_t *pbuf_put(struct pbuf *b, size_t n)
{
	if (n > pbuf_tailroom(b))
		return NULL;
	uint8_t *p = b->buf + b->off + b->len;
	b->len += (uint16_t)n;
	return p;
}

/*
 * A new pbuf holding len bytes (not initialised) at *data, for a packet we build.
 * NULL when memory is exhausted or len does not fit.
 */
static inline struct pbuf *pbuf_alloc_put(size_t len, uint8_t **data)
{
	struct pbuf *b = pbuf_alloc();
	if (!b)
		return NULL;
	*data = pbuf_put(b, len);
	if (!*data) {
		pbuf_free(b);
		return NULL;
	}
	return b;
}

static inline void pbuf_trim(struct pbuf *b, size_t len)
{
	if (len < b->len)
		b->len = (uint16_t)len;
}

static inline void pbuf_reset(struct pbuf *b, size_t headroom)
{
	b->off = (uint16_t)headroom;
	b->len = 0;
}

void pbuf_queue_init(struct pbuf_queue *q);
void pbuf_queue_push(struct pbuf_queue *q, struct pbuf *b);
struct pbuf *pbuf_queue_pop(struct pbuf_queue *q);
void pbuf_queue_purge(struct pbuf_queue *q);

#endif
