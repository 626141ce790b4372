#include "core/pbuf.h"

#include <stdlib.h>

/* Enough cached buffers for a few full recvmmsg batches; the rest go back to malloc. */
#define PBUF_CACHE_MAX 512

static struct pbuf *free_list;
static struct pbuf_stats stats;

struct pbuf *pbuf_alloc(void)
{
	struct pbuf *b = free_list;
	if (b) {
		free_list = b->next;
		stats.cached--;
	} else {
		b = malloc(sizeof(*b));
		if (!b) {
			stats.alloc_failures++;
			return NULL;
		}
	}
	stats.allocated++;
	b->next = NULL;
	b->off = PBUF_HEADROOM;
	b->len = 0;
	b->ifindex = 0;
	b->peer = NULL;
	return b;
}

void pbuf_free(struct pbuf *b)
{
	if (!b)
		return;
	stats.allocated--;
	if (stats.cached >= PBUF_CACHE_MAX) {
		free(b);
		return;
	}
	b->next = free_list;
	free_list = b;
	stats.cached++;
}

void pbuf_pool_stats(struct pbuf_stats *out) { *out = stats; }

void pbuf_pool_trim(void)
{
	while (free_list) {
		struct pbuf *b = free_list;
		free_list = b->next;
		free(b);
	}
	stats.cached = 0;
}

void pbuf_queue_init(struct pbuf_queue *q) { *q = (struct pbuf_queue){ 0 }; }

void pbuf_queue_push(struct pbuf_queue *q, struct pbuf *b)
{
	b->next = NULL;
	if (q->tail)
		q->tail->next = b;
	else
		q->head = b;
	q->tail = b;
	q->len++;
}

struct pbuf *pbuf_queue_pop(struct pbuf_queue *q)
{
	struct pbuf *b = q->head;
	if (!b)
		return NULL;
	q->head = b->next;
	if (!q->head)
		q->tail = NULL;
	q->len--;
	b->next = NULL;
	return b;
}

void pbuf_queue_purge(struct pbuf_queue *q)
{
	struct pbuf *b;
	while ((b = pbuf_queue_pop(q)))
		pbuf_free(b);
}
