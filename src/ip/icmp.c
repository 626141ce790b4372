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
