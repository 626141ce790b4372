/*
 * TCP engine: the two data structures every connection has twice. Range sets
 * hold sequence ranges (the peer's SACK blocks, our out-of-order data), up to
 * TCP_MAX_RANGES, merged as they are added. Byte rings are the send and
 * receive buffers: they grow on demand up to the socket's buffer size and are
 * freed when empty, so an idle connection holds only its TCB.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stack/tcp_int.h"

bool tcp_rs_add(struct tcp_rangeset *rs, uint32_t start, uint32_t end)
{
	if (!seq_lt(start, end))
		return true;
	unsigned i = 0;
	while (i < rs->n && seq_lt(rs->r[i].end, start))
		i++;
	/* r[i] is the first range that ends at or after start: merge from there */
	unsigned j = i;
	while (j < rs->n && seq_le(rs->r[j].start, end)) {
		start = seq_min(start, rs->r[j].start);
		end = seq_max(end, rs->r[j].end);
		j++;
	}
	if (j > i) {   /* replace r[i..j) with one range */
		rs->r[i].start = start;
		rs->r[i].end = end;
		memmove(&rs->r[i + 1], &rs->r[j], (rs->n - j) * sizeof(rs->r[0]));
		rs->n = (uint8_t)(rs->n - (j - i - 1));
		return true;
	}
	if (rs->n == TCP_MAX_RANGES) {
		if (i == rs->n)
			return false;          /* the highest: drop the newcomer */
		rs->n--;                   /* drop the highest range to keep lower ones */
	}
	memmove(&rs->r[i + 1], &rs->r[i], (rs->n - i) * sizeof(rs->r[0]));
	rs->r[i].start = start;
	rs->r[i].end = end;
	rs->n++;
	return true;
}

void tcp_rs_trim_below(struct tcp_rangeset *rs, uint32_t seq)
{
	unsigned i = 0;
	while (i < rs->n && seq_le(rs->r[i].end, seq))
		i++;
	if (i) {
		memmove(&rs->r[0], &rs->r[i], (rs->n - i) * sizeof(rs->r[0]));
		rs->n = (uint8_t)(rs->n - i);
	}
	if (rs->n && seq_lt(rs->r[0].start, seq))
		rs->r[0].start = seq;
}

/* The range containing seq, or NULL. */
const struct tcp_range *tcp_rs_find(const struct tcp_rangeset *rs, uint32_t seq)
{
	for (unsigned i = 0; i < rs->n; i++)
		if (seq_le(rs->r[i].start, seq) && seq_lt(seq, rs->r[i].end))
			return &rs->r[i];
	return NULL;
}

uint32_t tcp_rs_bytes(const struct tcp_rangeset *rs)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < rs->n; i++)
		n += rs->r[i].end - rs->r[i].start;
	return n;
}

/* Bytes of the set inside [a,b). */
uint32_t tcp_rs_bytes_in(const struct tcp_rangeset *rs, uint32_t a, uint32_t b)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < rs->n; i++) {
		uint32_t s = seq_max(rs->r[i].start, a), e = seq_min(rs->r[i].end, b);
		if (seq_lt(s, e))
			n += e - s;
	}
	return n;
}

int tcp_ring_reserve(struct tcp_ring *r, uint32_t need, uint32_t max)
{
	if (need <= r->cap)
		return 0;
	if (need > max)
		return -ENOBUFS;
	uint32_t cap = r->cap ? r->cap : TCP_RING_MIN;
	while (cap < need)
		cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
	if (cap > max)
		cap = max;
	uint8_t *nb = malloc(cap);
	if (!nb)
		return -ENOMEM;
	if (r->buf) {
		/* Copies everything, out-of-order bytes beyond len included, in logical order. */
		uint32_t first = r->cap - r->head;
		memcpy(nb, r->buf + r->head, first);
		memcpy(nb + first, r->buf, r->head);
		free(r->buf);
	}
	r->buf = nb;
	r->cap = cap;
	r->head = 0;
	return 0;
}

void tcp_ring_write_at(struct tcp_ring *r, uint32_t off, const uint8_t *src, uint32_t n)
{
	uint32_t pos = r->head + off;
	if (pos >= r->cap)
		pos -= r->cap;
	uint32_t first = min_u32(n, r->cap - pos);
	memcpy(r->buf + pos, src, first);
	memcpy(r->buf, src + first, n - first);
}

void tcp_ring_read_at(const struct tcp_ring *r, uint32_t off, uint8_t *dst, uint32_t n)
{
	uint32_t pos = r->head + off;
	if (pos >= r->cap)
		pos -= r->cap;
	uint32_t first = min_u32(n, r->cap - pos);
	memcpy(dst, r->buf + pos, first);
	memcpy(dst + first, r->buf, n - first);
}

void tcp_ring_consume(struct tcp_ring *r, uint32_t n)
{
	r->head += n;
	if (r->head >= r->cap)
		r->head -= r->cap;
	r->len -= n;
}

void tcp_ring_free(struct tcp_ring *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}
