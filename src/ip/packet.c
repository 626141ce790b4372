#include "ip/packet.h"

#include <arpa/inet.h>
#include <string.h>

#include "ip/checksum.h"

void ip_header_write(uint8_t *hdr, const struct ip_addr *src, const struct ip_addr *dst,
		     uint8_t proto, uint8_t ttl, uint8_t tos, uint16_t id, uint16_t frag_off,
		     size_t payload_len)
{
	if (src->family == AF_INET) {
		struct iphdr ip = {
			.version = 4, .ihl = 5, .tos = tos,
			.tot_len = htons((uint16_t)(sizeof(ip) + payload_len)), .id = htons(id),
			.frag_off = htons(frag_off), .ttl = ttl, .protocol = proto,
		};
		memcpy(&ip.saddr, src->bytes, 4);
		memcpy(&ip.daddr, dst->bytes, 4);
		ip.check = csum_fold(csum_partial(&ip, sizeof(ip), 0));
		memcpy(hdr, &ip, sizeof(ip));
		return;
	}
	struct ip6_hdr ip6;
	memset(&ip6, 0, sizeof(ip6));
	ip6.ip6_flow = htonl(6u << 28 | (uint32_t)tos << 20);
	ip6.ip6_plen = htons((uint16_t)payload_len);
	ip6.ip6_nxt = proto;
	ip6.ip6_hlim = ttl;
	memcpy(&ip6.ip6_src, src->bytes, 16);
	memcpy(&ip6.ip6_dst, dst->bytes, 16);
	memcpy(hdr, &ip6, sizeof(ip6));
}

int ip_packet_source(const uint8_t *data, size_t len, struct ip_addr *src)
{
	size_t tot;
	if (len >= sizeof(struct iphdr) && (data[0] >> 4) == 4) {
		tot = (size_t)data[2] << 8 | data[3];
		if (tot < sizeof(struct iphdr) || tot > len)
			return -1;
		ip_addr_from_v4(src, data + offsetof(struct iphdr, saddr));
		return (int)tot;
	}
	if (len >= sizeof(struct ip6_hdr) && (data[0] >> 4) == 6) {
		tot = sizeof(struct ip6_hdr) + ((size_t)data[4] << 8 | data[5]);
		if (tot > len)
			return -1;
		ip_addr_from_v6(src, data + offsetof(struct ip6_hdr, ip6_src));
		return (int)tot;
	}
	return -1;
}

static int parse_v4(struct pbuf *b, struct ip_packet *pkt)
{
	uint8_t *p = pbuf_data(b);
	if (b->len < sizeof(struct iphdr))
		return -1;
	const struct iphdr *ip = (const struct iphdr *)p;
	size_t ihl = (size_t)ip->ihl * 4;
	size_t tot = ntohs(ip->tot_len);
	if (ihl < sizeof(struct iphdr) || tot < ihl || tot > b->len)
		return -1;
	if (csum_fold(csum_partial(p, ihl, 0)) != 0)
		return -1;
	pbuf_trim(b, tot);
	pkt->family = AF_INET;
	pkt->hdr = p;
	pkt->hdr_len = ihl;
	pkt->total_len = tot;
	pkt->proto = ip->protocol;
	ip_addr_from_v4(&pkt->src, &ip->saddr);
	ip_addr_from_v4(&pkt->dst, &ip->daddr);
	return 0;
}

static int parse_v6(struct pbuf *b, struct ip_packet *pkt)
{
	uint8_t *p = pbuf_data(b);
	if (b->len < sizeof(struct ip6_hdr))
		return -1;
	const struct ip6_hdr *ip6 = (const struct ip6_hdr *)p;
	size_t tot = sizeof(struct ip6_hdr) + ntohs(ip6->ip6_plen);
	if (tot > b->len)
		return -1;
	pbuf_trim(b, tot);
	pkt->family = AF_INET6;
	pkt->hdr = p;
	pkt->hdr_len = sizeof(struct ip6_hdr);
	pkt->total_len = tot;
	pkt->proto = ip6->ip6_nxt;
	ip_addr_from_v6(&pkt->src, &ip6->ip6_src);
	ip_addr_from_v6(&pkt->dst, &ip6->ip6_dst);
	return 0;
}

int ip_packet_parse(struct pbuf *b, struct ip_packet *pkt)
{
	if (b->len < 1)
		return -1;
	switch (pbuf_data(b)[0] >> 4) {
	case 4: return parse_v4(b, pkt);
	case 6: return parse_v6(b, pkt);
	default: return -1;
	}
}
