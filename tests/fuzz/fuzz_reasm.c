/*
 * ip/reasm.c with fragments from arbitrary bytes. The input is a series of
 * records: a control byte (bit 0: IPv6, bits 1-2: which of 4 sources, bit 3:
 * more fragments, bits 4-5: which of 4 identifications, bit 6: an IPv6
 * Destination Options header, bit 7: let time pass to a timeout), a 16-bit
 * offset, a length byte (data = 8 * len, plus len & 7 odd bytes when the
 * offset is odd; its low bits are not an offset) and the data.
 * Few sources and ids make fragments meet in the same queues. A record may
 * also be raw (control 0xff): its bytes become a packet as they are, if they
 * parse. Nothing may crash or leak; the budgets hold; every datagram that
 * completes is consistent with its own header.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/pbuf.h"
#include "ip/checksum.h"
#include "ip/packet.h"
#include "ip/reasm.h"

static struct ip_reasm *r;
static uint64_t now = 1000000000ull;

static void check_whole(const uint8_t *out, size_t len)
{
	if ((out[0] >> 4) == 4) {
		if (len < 20 || (size_t)(out[2] << 8 | out[3]) != len || (out[6] & 0x3f) || out[7] ||
		    csum_fold(csum_partial(out, (size_t)(out[0] & 0xf) * 4, 0)) != 0)
			abort();
	} else if (len < 40 || (size_t)(out[4] << 8 | out[5]) != len - 40) {
		abort();
	}
}

static void expired(void *ctx, const uint8_t *first, size_t len, uint32_t ifindex)
{
	if (!first || len < 20 || ifindex != 2)
		abort();
}

static void feed(const uint8_t *p, size_t n)
{
	struct pbuf *b = pbuf_alloc();
	if (!b)
		return;
	uint8_t *d = pbuf_put(b, n);
	if (!d) {
		pbuf_free(b);
		return;
	}
	memcpy(d, p, n);
	struct ip_packet pkt;
	if (ip_packet_parse(b, &pkt) == 0 && ip_reasm_is_fragment(&pkt)) {
		uint8_t *out;
		size_t len;
		if (ip_reasm_input(r, &pkt, 2, now, &out, &len) == REASM_DONE) {
			check_whole(out, len);
			free(out);
		}
	}
	pbuf_free(b);
	const struct ip_reasm_stats *st = ip_reasm_stats(r);
	if (st->queues > REASM_MAX_QUEUES || st->bytes > REASM_MAX_BYTES + REASM_MAX_QUEUES * 2048u)
		abort();
}

static size_t build(uint8_t *p, uint8_t ctl, uint16_t off, const uint8_t *data, size_t len)
{
	static const uint8_t src4[4][4] = { { 172, 20, 0, 2 }, { 172, 20, 0, 3 }, { 10, 0, 0, 1 },
					    { 192, 0, 2, 9 } };
	uint8_t s = (ctl >> 1) & 3, id = (ctl >> 4) & 3;
	bool more = ctl & 8;
	if (!(ctl & 1)) {
		memset(p, 0, 20);
		p[0] = 0x45;
		p[2] = (uint8_t)((20 + len) >> 8);
		p[3] = (uint8_t)(20 + len);
		p[5] = id;
		uint16_t fo = (uint16_t)((more ? 0x2000 : 0) | ((off / 8) & 0x1fff));
		p[6] = (uint8_t)(fo >> 8);
		p[7] = (uint8_t)fo;
		p[8] = 64;
		p[9] = 17;
		memcpy(p + 12, src4[s], 4);
		memcpy(p + 16, (const uint8_t[]){ 172, 20, 0, 1 }, 4);
		uint16_t ck = csum_fold(csum_partial(p, 20, 0));
		memcpy(p + 10, &ck, 2);
		memcpy(p + 20, data, len);
		return 20 + len;
	}
	size_t h = 40;
	memset(p, 0, 40);
	p[0] = 0x60;
	p[6] = ctl & 0x40 ? 60 : 44;
	p[7] = 64;
	p[8] = 0xfd;
	p[9] = 0x42;
	p[23] = (uint8_t)(s + 2);
	p[24] = 0xfd;
	p[25] = 0x42;
	p[39] = 1;
	if (ctl & 0x40) {
		memset(p + h, 0, 8);
		p[h] = 44;
		h += 8;
	}
	p[h] = 17;
	p[h + 1] = 0;
	uint16_t ol = (uint16_t)((off & 0xfff8) | (more ? 1 : 0));
	p[h + 2] = (uint8_t)(ol >> 8);
	p[h + 3] = (uint8_t)ol;
	p[h + 7] = id;
	h += 8;
	memcpy(p + h, data, len);
	p[4] = (uint8_t)((h - 40 + len) >> 8);
	p[5] = (uint8_t)(h - 40 + len);
	return h + len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!r && !(r = ip_reasm_new()))   /* one for the whole run: it must end every input empty */
		return 0;
	uint8_t pkt[PBUF_MTU_MAX];
	size_t i = 0;
	while (i + 4 <= size) {
		uint8_t ctl = data[i];
		uint16_t off = (uint16_t)(data[i + 1] << 8 | data[i + 2]);
		size_t len = (size_t)data[i + 3] * 8 + (off & 1 ? (data[i + 3] & 7) : 0);
		i += 4;
		if (len > size - i)
			len = size - i;
		if (len > 1400)
			len = 1400;
		if (ctl == 0xff) {
			feed(data + i, len);
		} else {
			if (ctl & 0x80)
				now += 31000000000ull * (1 + (ctl & 1));
			feed(pkt, build(pkt, ctl, off, data + i, len));
			ip_reasm_expire(r, now, expired, NULL);
		}
		i += len;
	}
	now += 120000000000ull;
	ip_reasm_expire(r, now, expired, NULL);
	if (ip_reasm_stats(r)->queues || ip_reasm_stats(r)->bytes)
		abort();
	return 0;
}
