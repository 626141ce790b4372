#include "ip/icmp.h"

#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <string.h>

#include "ip/checksum.h"

#define ICMP_REPLY_TTL 64

static void swap_v4_addresses(struct iphdr *ip)
{
	uint32_t t = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = t;
}

static int echo_reply_v4(struct ip_packet *pkt)
{
	struct iphdr *ip = (struct iphdr *)pkt->hdr;
	uint8_t *icmp = pkt->hdr + pkt->hdr_len;
	size_t icmp_len = pkt->total_len - pkt->hdr_len;
	if (icmp_len < 8 || icmp[0] != ICMP_ECHO || icmp[1] != 0)
		return -1;
	if (csum_fold(csum_partial(icmp, icmp_len, 0)) != 0)
		return -1;
	/* Fragments of an echo request are not reassembled: answer only whole ones. */
	if (ntohs(ip->frag_off) & (IP_MF | IP_OFFMASK))
		return -1;
	swap_v4_addresses(ip);
	ip->ttl = ICMP_REPLY_TTL;
	ip->check = 0;
	ip->check = csum_fold(csum_partial(ip, pkt->hdr_len, 0));
	icmp[0] = ICMP_ECHOREPLY;
	icmp[2] = icmp[3] = 0;
	uint16_t c = csum_fold(csum_partial(icmp, icmp_len, 0));
	memcpy(icmp + 2, &c, 2);
	return 0;
}

static int echo_reply_v6(struct ip_packet *pkt)
{
	struct ip6_hdr *ip6 = (struct ip6_hdr *)pkt->hdr;
	uint8_t *icmp = pkt->hdr + pkt->hdr_len;
	size_t icmp_len = pkt->total_len - pkt->hdr_len;
	if (pkt->proto != IPPROTO_ICMPV6 || icmp_len < 8 ||
	    icmp[0] != ICMP6_ECHO_REQUEST || icmp[1] != 0)
		return -1;
	uint32_t sum = csum_pseudo_v6(&ip6->ip6_src, &ip6->ip6_dst, IPPROTO_ICMPV6,
				      (uint32_t)icmp_len);
	if (csum_fold(csum_partial(icmp, icmp_len, sum)) != 0)
		return -1;
	struct in6_addr t = ip6->ip6_src;
	ip6->ip6_src = ip6->ip6_dst;
	ip6->ip6_dst = t;
	ip6->ip6_hlim = ICMP_REPLY_TTL;
	icmp[0] = ICMP6_ECHO_REPLY;
	icmp[2] = icmp[3] = 0;
	sum = csum_pseudo_v6(&ip6->ip6_src, &ip6->ip6_dst, IPPROTO_ICMPV6, (uint32_t)icmp_len);
	uint16_t c = csum_fold(csum_partial(icmp, icmp_len, sum));
	memcpy(icmp + 2, &c, 2);
	return 0;
}

int icmp_echo_reply_in_place(struct pbuf *b, struct ip_packet *pkt)
{
	(void)b;
	int r;
	if (pkt->family == AF_INET)
		r = pkt->proto == IPPROTO_ICMP ? echo_reply_v4(pkt) : -1;
	else
		r = echo_reply_v6(pkt);
	if (r == 0) {
		struct ip_addr t = pkt->src;
		pkt->src = pkt->dst;
		pkt->dst = t;
	}
	return r;
}

static bool v4_is_martian_source(const uint8_t *a)
{
	return a[0] == 0 || a[0] == 127 || a[0] >= 224;
}

bool icmp_error_allowed(const struct ip_packet *pkt)
{
	const uint8_t *icmp = pkt->hdr + pkt->hdr_len;
	size_t icmp_len = pkt->total_len - pkt->hdr_len;
	if (pkt->family == AF_INET) {
		const struct iphdr *ip = (const struct iphdr *)pkt->hdr;
		if (ntohs(ip->frag_off) & IP_OFFMASK)
			return false;
		if (v4_is_martian_source(pkt->src.bytes) || pkt->dst.bytes[0] >= 224 ||
		    pkt->dst.v4.s_addr == INADDR_BROADCAST)
			return false;
		if (pkt->proto == IPPROTO_ICMP) {
			/* Only queries (echo, timestamp, …) may draw an error. */
			if (icmp_len < 1)
				return false;
			uint8_t t = icmp[0];
			if (t == ICMP_DEST_UNREACH || t == ICMP_SOURCE_QUENCH || t == ICMP_REDIRECT ||
			    t == ICMP_TIME_EXCEEDED || t == ICMP_PARAMETERPROB)
				return false;
		}
		return true;
	}
	if (IN6_IS_ADDR_UNSPECIFIED(&pkt->src.v6) || IN6_IS_ADDR_MULTICAST(&pkt->src.v6) ||
	    IN6_IS_ADDR_LOOPBACK(&pkt->src.v6) || IN6_IS_ADDR_MULTICAST(&pkt->dst.v6))
		return false;
	if (pkt->proto == IPPROTO_ICMPV6 && (icmp_len < 1 || icmp[0] < 128))
		return false;
	return true;
}

static const uint8_t v4_codes[][2] = {
	[ICMP_ERR_NET_UNREACH] = { ICMP_DEST_UNREACH, ICMP_NET_UNREACH },
	[ICMP_ERR_HOST_UNREACH] = { ICMP_DEST_UNREACH, ICMP_HOST_UNREACH },
	[ICMP_ERR_PORT_UNREACH] = { ICMP_DEST_UNREACH, ICMP_PORT_UNREACH },
	[ICMP_ERR_PROHIBITED] = { ICMP_DEST_UNREACH, ICMP_PKT_FILTERED },
	[ICMP_ERR_TIME_EXCEEDED] = { ICMP_TIME_EXCEEDED, ICMP_EXC_TTL },
	[ICMP_ERR_TOO_BIG] = { ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED },
	[ICMP_ERR_REASM_TIMEOUT] = { ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME },
};

static const uint8_t v6_codes[][2] = {
	[ICMP_ERR_NET_UNREACH] = { ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOROUTE },
	[ICMP_ERR_HOST_UNREACH] = { ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADDR },
	[ICMP_ERR_PORT_UNREACH] = { ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT },
	[ICMP_ERR_PROHIBITED] = { ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_ADMIN },
	[ICMP_ERR_TIME_EXCEEDED] = { ICMP6_TIME_EXCEEDED, ICMP6_TIME_EXCEED_TRANSIT },
	[ICMP_ERR_TOO_BIG] = { ICMP6_PACKET_TOO_BIG, 0 },
	[ICMP_ERR_REASM_TIMEOUT] = { ICMP6_TIME_EXCEEDED, ICMP6_TIME_EXCEED_REASSEMBLY },
};

#define ICMP4_ERROR_MAX 576
#define ICMP6_ERROR_MAX 1280

struct pbuf *icmp_error_build(const struct ip_packet *pkt, enum icmp_error err, uint32_t mtu,
			      const struct ip_addr *src)
{
	bool v4 = pkt->family == AF_INET;
	size_t iphl = v4 ? 20 : 40, max = v4 ? ICMP4_ERROR_MAX : ICMP6_ERROR_MAX;
	size_t quote = pkt->total_len;
	if (quote > max - iphl - 8)
		quote = max - iphl - 8;
	uint8_t *p;
	struct pbuf *b = pbuf_alloc_put(iphl + 8 + quote, &p);
	if (!b)
		return NULL;
	ip_header_write(p, src, &pkt->src, v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, ICMP_REPLY_TTL, 0, 0,
			0, 8 + quote);
	uint8_t *icmp = p + iphl;
	const uint8_t *code = v4 ? v4_codes[err] : v6_codes[err];
	memset(icmp, 0, 8);
	icmp[0] = code[0];
	icmp[1] = code[1];
	if (err == ICMP_ERR_TOO_BIG && v4) {
		uint16_t m = htons((uint16_t)mtu);   /* RFC 1191: the low half of the second word */
		memcpy(icmp + 6, &m, 2);
	} else if (err == ICMP_ERR_TOO_BIG) {
		uint32_t m = htonl(mtu);
		memcpy(icmp + 4, &m, 4);
	}
	memcpy(icmp + 8, pkt->hdr, quote);
	/* ICMPv6 checksums the pseudo-header too; ICMPv4 only the message. */
	uint32_t sum = v4 ? 0 : csum_pseudo_v6(src->bytes, pkt->src.bytes, IPPROTO_ICMPV6,
					       (uint32_t)(8 + quote));
	uint16_t c = csum_fold(csum_partial(icmp, 8 + quote, sum));
	memcpy(icmp + 2, &c, 2);
	return b;
}
