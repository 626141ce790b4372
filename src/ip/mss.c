#include "ip/mss.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <string.h>

#include "ip/checksum.h"

int tcp_mss_clamp(struct ip_packet *pkt, uint16_t mtu)
{
	if (pkt->proto != IPPROTO_TCP)
		return 0;
	if (pkt->family == AF_INET) {
		const struct iphdr *ip = (const struct iphdr *)pkt->hdr;
		if (ntohs(ip->frag_off) & IP_OFFMASK)
			return 0;
	}
	uint8_t *tcp = pkt->hdr + pkt->hdr_len;
	size_t tcp_len = pkt->total_len - pkt->hdr_len;
	if (tcp_len < sizeof(struct tcphdr))
		return 0;
	if (!(tcp[13] & TH_SYN))
		return 0;
	size_t doff = (size_t)(tcp[12] >> 4) * 4;
	if (doff < sizeof(struct tcphdr) || doff > tcp_len)
		return 0;
	size_t overhead = pkt->family == AF_INET ? 40 : 60;
	if (mtu <= overhead)
		return 0;
	uint16_t limit = (uint16_t)(mtu - overhead);
	for (size_t i = sizeof(struct tcphdr); i < doff;) {
		uint8_t kind = tcp[i];
		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= doff || tcp[i + 1] < 2 || i + tcp[i + 1] > doff)
			break;
		if (kind == TCPOPT_MAXSEG && tcp[i + 1] == TCPOLEN_MAXSEG) {
			uint16_t old_word, new_word;
			memcpy(&old_word, tcp + i + 2, 2);
			if (ntohs(old_word) <= limit)
				return 0;
			new_word = htons(limit);
			uint16_t check;
			memcpy(&check, tcp + 16, 2);
			/* The option may sit at an odd offset: checksum words align to the TCP header. */
			if ((i + 2) % 2 == 0) {
				check = csum_replace2(check, old_word, new_word);
			} else {
				uint8_t before[4], after[4];
				memcpy(before, tcp + i + 1, 4);
				memcpy(after, before, 4);
				memcpy(after + 1, &new_word, 2);
				uint16_t w0o, w1o, w0n, w1n;
				memcpy(&w0o, before, 2); memcpy(&w1o, before + 2, 2);
				memcpy(&w0n, after, 2); memcpy(&w1n, after + 2, 2);
				check = csum_replace2(check, w0o, w0n);
				check = csum_replace2(check, w1o, w1n);
			}
			memcpy(tcp + i + 2, &new_word, 2);
			memcpy(tcp + 16, &check, 2);
			return 1;
		}
		i += tcp[i + 1];
	}
	return 0;
}
