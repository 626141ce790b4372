/*
 * Fragments of locally originated datagrams. Every packet is built whole
 * before any is emitted, so a failed allocation sends nothing rather than a
 * datagram that can never be reassembled.
 */
#include "ip/frag_local.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <string.h>

#include "ip/checksum.h"
#include "ip/packet.h"

#define FRAG_MAX_PIECES 128   /* 65535 bytes in 552-byte pieces (an IPv4 MTU of 576) fit */

static size_t hdr_len(int family, bool frag)
{
	return family == AF_INET ? 20 : 40 + (frag ? 8 : 0);
}

size_t ip_frag_room(int family, uint16_t mtu)
{
	size_t h = hdr_len(family, true);
	if (mtu > PBUF_MTU_MAX)
		mtu = PBUF_MTU_MAX;
	return mtu <= h ? 0 : (mtu - h) & ~(size_t)7;
}

/* One packet: IP header (+ Fragment header) and len bytes of l4 from offset off. */
static struct pbuf *build(const struct ip_frag_spec *sp, const uint8_t *l4, size_t off, size_t len,
			  bool frag, bool more)
{
	int fam = sp->src.family;
	size_t hl = hdr_len(fam, frag);
	uint8_t *p;
	struct pbuf *b = pbuf_alloc_put(hl + len, &p);
	if (!b)
		return NULL;
	if (fam == AF_INET) {
		uint16_t fo = (uint16_t)(off / 8) | (more ? IP_MF : 0) | (!frag && sp->df ? IP_DF : 0);
		ip_header_write(p, &sp->src, &sp->dst, sp->proto, sp->ttl, sp->tos, (uint16_t)sp->id,
				fo, len);
	} else {
		/* The Fragment header, if any, counts as payload and names the protocol. */
		ip_header_write(p, &sp->src, &sp->dst, frag ? IPPROTO_FRAGMENT : sp->proto, sp->ttl,
				sp->tos, 0, 0, hl - 40 + len);
		if (frag) {
			struct ip6_frag fh = {
				.ip6f_nxt = sp->proto,
				.ip6f_offlg = htons((uint16_t)(off & ~(size_t)7) | (more ? 1 : 0)),
				.ip6f_ident = htonl(sp->id),
			};
			memcpy(p + 40, &fh, sizeof(fh));
		}
	}
	memcpy(p + hl, l4 + off, len);
	return b;
}

int ip_frag_local(const struct ip_frag_spec *sp, const uint8_t *l4, size_t l4len, uint16_t mtu,
		  void (*emit)(void *ctx, struct pbuf *b), void *ctx)
{
	int fam = sp->src.family;
	if (mtu > PBUF_MTU_MAX)
		mtu = PBUF_MTU_MAX;
	if (fam == AF_INET ? l4len + 20 > IP_DATAGRAM_MAX : l4len > IP_DATAGRAM_MAX)
		return -EMSGSIZE;
	if (hdr_len(fam, false) + l4len <= mtu) {
		struct pbuf *b = build(sp, l4, 0, l4len, false, false);
		if (!b)
			return -ENOMEM;
		emit(ctx, b);
		return 1;
	}
	size_t room = ip_frag_room(fam, mtu);
	if (room < 8 || (l4len + room - 1) / room > FRAG_MAX_PIECES)
		return -EMSGSIZE;
	/* IPv6 fragments must keep the last one's offset within 16 bits (RFC 8200). */
	struct pbuf *pieces[FRAG_MAX_PIECES];
	size_t n = 0;
	for (size_t off = 0; off < l4len; off += room) {
		size_t len = l4len - off < room ? l4len - off : room;
		pieces[n] = build(sp, l4, off, len, true, off + len < l4len);
		if (!pieces[n]) {
			while (n)
				pbuf_free(pieces[--n]);
			return -ENOMEM;
		}
		n++;
	}
	for (size_t i = 0; i < n; i++)
		emit(ctx, pieces[i]);
	return (int)n;
}
