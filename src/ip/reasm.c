/*
 * DOC: Theory of operation
 *
 * A queue per datagram, keyed (family, source, destination, identification,
 * and for IPv4 the protocol). It holds the payload bytes in one buffer that
 * grows to the highest fragment end seen, a sorted list of the byte ranges
 * received, the total length once the last fragment (MF/M clear) told it,
 * and a copy of the first fragment (offset 0), whose headers become the
 * reassembled datagram's and which an ICMP time exceeded quotes.
 *
 * The invariant: received ranges never overlap. A fragment that overlaps
 * one (other than as its exact duplicate) poisons the queue: it is emptied
 * and kept, marked dead, until its timeout so that the datagram's remaining
 * fragments are dropped too (RFC 5722 section 4). The datagram is complete
 * when the total is known and the ranges add up to it.
 *
 * Memory: at most REASM_MAX_QUEUES queues whose buffers and first-fragment
 * copies count against REASM_MAX_BYTES; a source holds at most
 * REASM_MAX_PER_SRC queues, so one sender cannot take all of them. New
 * fragments are refused when full (old queues are not evicted: a flood of
 * new ids would otherwise flush every honest datagram).
 */
#include "ip/reasm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <stdlib.h>
#include <string.h>

#include "ip/checksum.h"

struct range {
	uint32_t start, end;
};

struct reasm_queue {
	bool used, dead;
	int family;
	uint8_t proto;               /* IPv4 key part */
	uint32_t id;
	struct ip_addr src, dst;
	uint64_t deadline;
	uint32_t ifindex;            /* of the first fragment seen */
	uint32_t total;              /* payload length, 0 until the last fragment came */
	uint32_t received;           /* bytes in ranges */
	uint8_t *data;
	uint32_t cap;
	struct range ranges[REASM_MAX_FRAGS];
	uint32_t n_ranges;
	uint8_t *first;              /* the first fragment as received */
	uint32_t first_len;
	uint32_t unfrag_len;         /* of first: headers before the fragment data (IPv6: before
					the Fragment header) */
	uint32_t nh_off;             /* IPv6: offset in first of the next-header byte to patch */
	uint8_t next_proto;          /* IPv6: the Fragment header's next header */
};

struct ip_reasm {
	struct reasm_queue q[REASM_MAX_QUEUES];
	struct ip_reasm_stats stats;
};

struct ip_reasm *ip_reasm_new(void)
{
	return calloc(1, sizeof(struct ip_reasm));
}

static void queue_clear(struct ip_reasm *r, struct reasm_queue *q)
{
	r->stats.bytes -= q->cap + q->first_len;
	free(q->data);
	free(q->first);
	q->data = q->first = NULL;
	q->cap = q->first_len = 0;
	q->n_ranges = q->received = 0;
}

static void queue_release(struct ip_reasm *r, struct reasm_queue *q)
{
	queue_clear(r, q);
	memset(q, 0, sizeof(*q));
	r->stats.queues--;
}

void ip_reasm_free(struct ip_reasm *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < REASM_MAX_QUEUES; i++)
		if (r->q[i].used)
			queue_release(r, &r->q[i]);
	free(r);
}

const struct ip_reasm_stats *ip_reasm_stats(const struct ip_reasm *r)
{
	return &r->stats;
}

/* What a fragment says about itself. */
struct frag_info {
	uint32_t id;
	uint32_t offset;             /* of its data in the datagram's payload */
	uint32_t len;                /* of its data */
	bool more;
	const uint8_t *data;
	uint32_t unfrag_len;         /* header bytes before the data (IPv6: before Fragment hdr) */
	uint32_t nh_off;             /* IPv6: where the next header pointing at Fragment is */
	uint8_t next_proto;
};

/* IPv6: the Fragment header's offset in the packet, walking the headers before it; 0 if none. */
static size_t v6_frag_header(const struct ip_packet *pkt, size_t *nh_off)
{
	const uint8_t *p = pkt->hdr;
	size_t off = 40, len = pkt->total_len;
	uint8_t nh = p[6];
	*nh_off = 6;
	for (int i = 0; i < 8; i++) {
		if (nh == IPPROTO_FRAGMENT)
			return off + 8 <= len ? off : 0;
		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING && nh != IPPROTO_DSTOPTS)
			return 0;
		if (off + 8 > len)
			return 0;
		size_t el = ((size_t)p[off + 1] + 1) * 8;
		*nh_off = off;
		nh = p[off];
		off += el;
	}
	return 0;
}

bool ip_reasm_is_fragment(const struct ip_packet *pkt)
{
	if (pkt->family == AF_INET)
		return (ntohs(((const struct iphdr *)pkt->hdr)->frag_off) & (IP_MF | IP_OFFMASK)) != 0;
	size_t nh_off;
	return pkt->family == AF_INET6 && v6_frag_header(pkt, &nh_off) != 0;
}

static bool parse_fragment(const struct ip_packet *pkt, struct frag_info *f)
{
	memset(f, 0, sizeof(*f));
	if (pkt->family == AF_INET) {
		const struct iphdr *ip = (const struct iphdr *)pkt->hdr;
		uint16_t fo = ntohs(ip->frag_off);
		f->id = ntohs(ip->id);
		f->offset = (uint32_t)(fo & IP_OFFMASK) * 8;
		f->more = fo & IP_MF;
		f->unfrag_len = (uint32_t)pkt->hdr_len;
		f->len = (uint32_t)(pkt->total_len - pkt->hdr_len);
		f->data = pkt->hdr + pkt->hdr_len;
		/* the datagram's total length is limited to 65535 with the header */
		return (uint64_t)f->offset + f->len + pkt->hdr_len <= 65535;
	}
	size_t nh_off, fh = v6_frag_header(pkt, &nh_off);
	if (!fh)
		return false;
	const uint8_t *p = pkt->hdr + fh;
	uint16_t offlg = (uint16_t)(p[2] << 8 | p[3]);
	f->next_proto = p[0];
	f->offset = offlg & 0xfff8u;
	f->more = offlg & 1;
	f->id = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	f->unfrag_len = (uint32_t)fh;
	f->nh_off = (uint32_t)nh_off;
	f->len = (uint32_t)(pkt->total_len - fh - 8);
	f->data = p + 8;
	/* the unfragmentable part and all the data must fit a 65535-byte payload */
	return (uint64_t)fh - 40 + f->offset + f->len <= 65535;
}

static struct reasm_queue *find_queue(struct ip_reasm *r, const struct ip_packet *pkt,
				      const struct frag_info *f)
{
	for (size_t i = 0; i < REASM_MAX_QUEUES; i++) {
		struct reasm_queue *q = &r->q[i];
		if (q->used && q->family == pkt->family && q->id == f->id &&
		    (pkt->family == AF_INET6 || q->proto == pkt->proto) &&
		    ip_addr_equal(&q->src, &pkt->src) && ip_addr_equal(&q->dst, &pkt->dst))
			return q;
	}
	return NULL;
}

static struct reasm_queue *new_queue(struct ip_reasm *r, const struct ip_packet *pkt,
				     const struct frag_info *f, uint32_t ifindex, uint64_t now)
{
	struct reasm_queue *free_q = NULL;
	unsigned from_src = 0;
	for (size_t i = 0; i < REASM_MAX_QUEUES; i++) {
		struct reasm_queue *q = &r->q[i];
		if (!q->used) {
			if (!free_q)
				free_q = q;
		} else if (ip_addr_equal(&q->src, &pkt->src)) {
			from_src++;
		}
	}
	if (!free_q || from_src >= REASM_MAX_PER_SRC)
		return NULL;
	struct reasm_queue *q = free_q;
	memset(q, 0, sizeof(*q));
	q->used = true;
	q->family = pkt->family;
	q->proto = pkt->proto;
	q->id = f->id;
	q->src = pkt->src;
	q->dst = pkt->dst;
	q->ifindex = ifindex;
	q->deadline = now + (pkt->family == AF_INET ? REASM_TIMEOUT4_NS : REASM_TIMEOUT6_NS);
	r->stats.queues++;
	return q;
}

/* Grows q's buffer to hold end bytes, within the byte budget. */
static bool queue_room(struct ip_reasm *r, struct reasm_queue *q, uint32_t end)
{
	if (end <= q->cap)
		return true;
	uint32_t cap = q->cap ? q->cap : 2048;
	while (cap < end)
		cap *= 2;
	if (cap > 65536)
		cap = 65536;
	if (r->stats.bytes - q->cap + cap > REASM_MAX_BYTES)
		return false;
	uint8_t *d = realloc(q->data, cap);
	if (!d)
		return false;
	r->stats.bytes += cap - q->cap;
	q->data = d;
	q->cap = cap;
	return true;
}

/*
 * Inserts [start, end) into the sorted ranges. 1: added, 0: an exact
 * duplicate, -1: an overlap, -2: too many fragments.
 */
static int add_range(struct reasm_queue *q, uint32_t start, uint32_t end)
{
	uint32_t i = 0;
	while (i < q->n_ranges && q->ranges[i].end <= start)
		i++;
	if (i < q->n_ranges && q->ranges[i].start < end) {
		if (q->ranges[i].start == start && q->ranges[i].end == end)
			return 0;
		return -1;
	}
	if (q->n_ranges == REASM_MAX_FRAGS)
		return -2;
	memmove(&q->ranges[i + 1], &q->ranges[i], (q->n_ranges - i) * sizeof(q->ranges[0]));
	q->ranges[i] = (struct range){ start, end };
	q->n_ranges++;
	return 1;
}

/* The whole datagram: the first fragment's headers and the payload. */
static uint8_t *assemble(const struct reasm_queue *q, size_t *out_len)
{
	size_t hl = q->unfrag_len;
	size_t len = hl + q->total;
	uint8_t *out = malloc(len);
	if (!out)
		return NULL;
	memcpy(out, q->first, hl);
	memcpy(out + hl, q->data, q->total);
	if (q->family == AF_INET) {
		struct iphdr ip;
		memcpy(&ip, out, sizeof(ip));
		ip.tot_len = htons((uint16_t)len);
		ip.frag_off = htons(ntohs(ip.frag_off) & IP_DF);
		ip.check = 0;
		memcpy(out, &ip, sizeof(ip));
		uint16_t ck = csum_fold(csum_partial(out, hl, 0));
		memcpy(out + 10, &ck, 2);
	} else {
		uint16_t plen = htons((uint16_t)(len - 40));
		memcpy(out + 4, &plen, 2);
		out[q->nh_off] = q->next_proto;
	}
	*out_len = len;
	return out;
}

static enum ip_reasm_result drop_queue(struct ip_reasm *r, struct reasm_queue *q, uint64_t *stat)
{
	(*stat)++;
	queue_clear(r, q);
	q->dead = true;   /* until its deadline: the rest of this datagram is dropped too */
	return REASM_DROPPED;
}

enum ip_reasm_result ip_reasm_input(struct ip_reasm *r, const struct ip_packet *pkt,
				    uint32_t ifindex, uint64_t now, uint8_t **out,
				    size_t *out_len)
{
	struct frag_info f;
	*out = NULL;
	*out_len = 0;
	r->stats.fragments++;
	if (!parse_fragment(pkt, &f) || (f.more && (f.len == 0 || f.len % 8))) {
		r->stats.too_big++;
		return REASM_DROPPED;
	}
	if (pkt->family == AF_INET6 && f.offset == 0 && !f.more) {
		/* An atomic fragment (RFC 6946): it is the whole datagram, no queue. */
		struct reasm_queue one = { .family = AF_INET6, .total = f.len, .data = (uint8_t *)f.data,
					   .first = pkt->hdr, .unfrag_len = f.unfrag_len,
					   .nh_off = f.nh_off, .next_proto = f.next_proto };
		*out = assemble(&one, out_len);
		if (!*out) {
			r->stats.no_room++;
			return REASM_DROPPED;
		}
		r->stats.reassembled++;
		return REASM_DONE;
	}
	struct reasm_queue *q = find_queue(r, pkt, &f);
	if (!q && !(q = new_queue(r, pkt, &f, ifindex, now))) {
		r->stats.no_room++;
		return REASM_DROPPED;
	}
	if (q->dead)
		return REASM_DROPPED;   /* counted when the queue died */
	uint32_t end = f.offset + f.len;
	if (!f.more) {
		if (q->total && q->total != end)
			return drop_queue(r, q, &r->stats.overlaps);   /* two different ends */
		q->total = end;
	}
	if ((q->total && end > q->total) || (q->n_ranges && q->ranges[q->n_ranges - 1].end > end &&
					     !f.more))
		return drop_queue(r, q, &r->stats.overlaps);   /* data past the end */
	int added = add_range(q, f.offset, end);
	if (added == 0) {
		r->stats.duplicates++;
		return REASM_HELD;
	}
	if (added == -1)
		return drop_queue(r, q, &r->stats.overlaps);
	if (added == -2)
		return drop_queue(r, q, &r->stats.too_many);
	if (!queue_room(r, q, end)) {
		/* undo the range: the fragment was not stored */
		for (uint32_t i = 0; i < q->n_ranges; i++)
			if (q->ranges[i].start == f.offset) {
				memmove(&q->ranges[i], &q->ranges[i + 1],
					(q->n_ranges - i - 1) * sizeof(q->ranges[0]));
				q->n_ranges--;
				break;
			}
		r->stats.no_room++;
		if (!q->n_ranges && !q->first)
			queue_release(r, q);
		return REASM_DROPPED;
	}
	memcpy(q->data + f.offset, f.data, f.len);
	q->received += f.len;
	if (f.offset == 0) {
		uint32_t keep = (uint32_t)pkt->total_len;
		if (r->stats.bytes + keep > REASM_MAX_BYTES || !(q->first = malloc(keep)))
			return drop_queue(r, q, &r->stats.no_room);
		memcpy(q->first, pkt->hdr, keep);
		q->first_len = keep;
		r->stats.bytes += keep;
		q->unfrag_len = f.unfrag_len;
		q->nh_off = f.nh_off;
		q->next_proto = f.next_proto;
		q->ifindex = ifindex;
	}
	if (!q->total || q->received != q->total || !q->first)
		return REASM_HELD;
	*out = assemble(q, out_len);
	queue_release(r, q);
	if (!*out) {
		r->stats.no_room++;
		return REASM_DROPPED;
	}
	r->stats.reassembled++;
	return REASM_DONE;
}

uint64_t ip_reasm_expire(struct ip_reasm *r, uint64_t now,
			 void (*expired)(void *ctx, const uint8_t *first, size_t len,
					 uint32_t ifindex),
			 void *ctx)
{
	uint64_t next = 0;
	for (size_t i = 0; i < REASM_MAX_QUEUES; i++) {
		struct reasm_queue *q = &r->q[i];
		if (!q->used)
			continue;
		if (q->deadline > now) {
			if (!next || q->deadline < next)
				next = q->deadline;
			continue;
		}
		if (!q->dead) {
			r->stats.timeouts++;
			if (q->first && expired)
				expired(ctx, q->first, q->first_len, q->ifindex);
		}
		queue_release(r, q);
	}
	return next;
}
