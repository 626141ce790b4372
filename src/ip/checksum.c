#include "ip/checksum.h"

#include <arpa/inet.h>
#include <string.h>

uint32_t csum_partial(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t acc = sum;
	while (len >= 8) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + 4, 4);
		acc += (uint64_t)a + b;
		p += 8;
		len -= 8;
	}
	while (len >= 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		acc += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* The odd byte is the high-order byte of a zero-padded word (network order). */
		uint16_t w = 0;
		memcpy(&w, p, 1);
		acc += w;
	}
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t csum_pseudo_v4(const void *src4, const void *dst4, uint8_t proto, uint32_t len)
{
	uint32_t sum = csum_partial(src4, 4, 0);
	sum = csum_partial(dst4, 4, sum);
	uint16_t tail[2] = { htons(proto), htons((uint16_t)len) };
	return csum_partial(tail, sizeof(tail), sum);
}

uint32_t csum_pseudo_v6(const void *src16, const void *dst16, uint8_t next_header, uint32_t len)
{
	uint32_t sum = csum_partial(src16, 16, 0);
	sum = csum_partial(dst16, 16, sum);
	uint32_t tail[2] = { htonl(len), htonl(next_header) };
	return csum_partial(tail, sizeof(tail), sum);
}

uint16_t csum_replace2(uint16_t check, uint16_t old_word, uint16_t new_word)
{
	/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') */
	uint32_t sum = (uint16_t)~check;
	sum += (uint16_t)~old_word;
	sum += new_word;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}
