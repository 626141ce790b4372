/*
 * IPv4 and IPv6 reassembly of datagrams addressed to the router (RFC 791,
 * RFC 8200 4.5) with bounded memory: a fixed number of queues, a byte
 * budget for all of them, a per-source share, a fragment count per datagram
 * and a timeout (30 s IPv4, 60 s IPv6, as Linux). Overlapping fragments
 * discard the whole datagram (RFC 5722 for IPv6; IPv4 the same, as Linux
 * does since FragmentSmack); an exact duplicate is ignored.
 *
 * No I/O and no clock of its own: the caller passes the time and sends the
 * ICMP "reassembly time exceeded" the expiry callback asks for.
 */
#ifndef RR_IP_REASM_H
#define RR_IP_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ip/packet.h"

#define REASM_MAX_QUEUES   64              /* datagrams being reassembled at once */
#define REASM_MAX_PER_SRC  8               /* of them from one source address */
#define REASM_MAX_BYTES    (2u << 20)      /* buffer bytes of all queues together */
#define REASM_MAX_FRAGS    128             /* fragments of one datagram (64 KiB in 552-byte
					      pieces, an IPv4 MTU of 576, takes 119) */
#define REASM_TIMEOUT4_NS  (30ull * 1000000000ull)
#define REASM_TIMEOUT6_NS  (60ull * 1000000000ull)

struct ip_reasm_stats {
	uint64_t fragments;       /* fragments taken in */
	uint64_t reassembled;     /* datagrams completed */
	uint64_t timeouts;        /* datagrams given up (their ICMP was asked for if possible) */
	uint64_t overlaps;        /* datagrams discarded for overlapping fragments */
	uint64_t duplicates;      /* exact duplicate fragments ignored */
	uint64_t too_many;        /* datagrams discarded for more than REASM_MAX_FRAGS */
	uint64_t too_big;         /* fragments past 65535 bytes, or malformed */
	uint64_t no_room;         /* fragments refused: queue, per-source or byte limit */
	uint32_t queues, bytes;   /* now */
};

struct ip_reasm;

struct ip_reasm *ip_reasm_new(void);
void ip_reasm_free(struct ip_reasm *r);

/*
 * Is pkt a fragment? IPv4: MF or an offset. IPv6: a Fragment header after
 * the fixed header and any Hop-by-Hop / Routing / Destination options.
 */
bool ip_reasm_is_fragment(const struct ip_packet *pkt);

enum ip_reasm_result {
	REASM_HELD,      /* kept; the datagram is not complete yet */
	REASM_DONE,      /* *out is the whole datagram */
	REASM_DROPPED,   /* refused (counted in the stats) */
};

/*
 * Takes a fragment (its bytes are copied; the caller still owns pkt's
 * buffer) that arrived on ifindex at time now (ns). On REASM_DONE, *out is
 * a malloc()ed IP packet of *out_len bytes without fragmentation: an IPv4
 * header with offset and MF cleared and a new checksum, or the IPv6 header
 * chain without the Fragment header. The caller frees it.
 */
enum ip_reasm_result ip_reasm_input(struct ip_reasm *r, const struct ip_packet *pkt,
				    uint32_t ifindex, uint64_t now, uint8_t **out,
				    size_t *out_len);

/*
 * Gives up the datagrams whose time ran out before now. For each one whose
 * first fragment had arrived, expired() gets that fragment (the packet as
 * received) to quote in an ICMP time exceeded (RFC 792, RFC 8200 4.5).
 * Returns the next deadline, 0 when no queue is left.
 */
uint64_t ip_reasm_expire(struct ip_reasm *r, uint64_t now,
			 void (*expired)(void *ctx, const uint8_t *first, size_t len,
					 uint32_t ifindex),
			 void *ctx);

const struct ip_reasm_stats *ip_reasm_stats(const struct ip_reasm *r);

#endif
