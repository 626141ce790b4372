#include "ip/frag.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "ip/checksum.h"

/* Options that must be copied into every fragment have the high bit set (RFC 791). */
static size_t copy_options_for_later_fragments(const uint8_t *opts, size_t len, uint8_t *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		uint8_t type = opts[i];
		if (type == IPOPT_EOL)
			break;
		if (type == IPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len || opts[i + 1] < 2 || i + opts[i + 1] > len)
			break;
		size_t olen = opts[i + 1];
		if (type & IPOPT_COPY) {
			memcpy(out + o, opts + i, olen);
			o += olen;
		}
		i += olen;
	}
	while (o % 4)
		out[o++] = IPOPT_EOL;
	return o;
}

int ip4_fragment(struct pbuf *b, const struct ip_packet *pkt, uint16_t mtu,
		 void (*emit)(void *ctx, struct pbuf *frag), void *ctx)
{
	const struct iphdr *ip = (const struct iphdr *)pkt->hdr;
	size_t hlen = pkt->hdr_len;
	uint8_t later_hdr[60];
	memcpy(later_hdr, pkt->hdr, 20);
	size_t later_hlen = 20 + copy_options_for_later_fragments(pkt->hdr + 20, hlen - 20,
								  later_hdr + 20);
	if (mtu < hlen + 8 || mtu < later_hlen + 8) {
		pbuf_free(b);
		return -1;
	}
	uint16_t frag_field = ntohs(ip->frag_off);
	size_t base_offset = (size_t)(frag_field & IP_OFFMASK) * 8;
	bool more_after = frag_field & IP_MF;
	const uint8_t *payload = pkt->hdr + hlen;
	size_t payload_len = pkt->total_len - hlen;
	/* A fragment reaching past the 65535-byte datagram limit is invalid (the
	 * "ping of death"); split, its later offsets would overflow 13 bits into
	 * the MF/DF flags. */
	if (base_offset + payload_len > IP_MAXPACKET - sizeof(struct iphdr)) {
		pbuf_free(b);
		return -1;
	}

	/* Build every fragment first so that running out of memory emits nothing. At MTU 68
	 * a full packet takes a few hundred fragments (RFC 791 requires going that low). */
	size_t max_frags = payload_len / ((mtu - later_hlen) / 8 * 8) + 2;
	struct pbuf *stack_frags[64];
	struct pbuf **frags = max_frags <= 64 ? stack_frags : calloc(max_frags, sizeof(*frags));
	if (!frags) {
		pbuf_free(b);
		return -1;
	}
	int n = 0;
	for (size_t off = 0; off < payload_len; n++) {
		const uint8_t *hdr = n == 0 ? pkt->hdr : later_hdr;
		size_t this_hlen = n == 0 ? hlen : later_hlen;
		size_t room = ((mtu - this_hlen) / 8) * 8;
		size_t chunk = payload_len - off < room ? payload_len - off : room;
		bool last = off + chunk == payload_len;
		struct pbuf *f = (size_t)n < max_frags ? pbuf_alloc() : NULL;
		uint8_t *p = f ? pbuf_put(f, this_hlen + chunk) : NULL;
		if (!p) {
			if (f)
				pbuf_free(f);
			for (int i = 0; i < n; i++)
				pbuf_free(frags[i]);
			if (frags != stack_frags)
				free(frags);
			pbuf_free(b);
			return -1;
		}
		memcpy(p, hdr, this_hlen);
		memcpy(p + this_hlen, payload + off, chunk);
		struct iphdr *fh = (struct iphdr *)p;
		fh->ihl = (uint8_t)(this_hlen / 4);
		fh->tot_len = htons((uint16_t)(this_hlen + chunk));
		uint16_t field = (uint16_t)((base_offset + off) / 8);
		if (!last || more_after)
			field |= IP_MF;
		fh->frag_off = htons(field);
		fh->check = 0;
		fh->check = csum_fold(csum_partial(p, this_hlen, 0));
		frags[n] = f;
		off += chunk;
	}
	pbuf_free(b);
	for (int i = 0; i < n; i++)
		emit(ctx, frags[i]);
	if (frags != stack_frags)
		free(frags);
	return n;
}
