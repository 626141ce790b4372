/*
 * Arbitrary bytes as TCP segments into a stack that has a listener (IPv4
 * and IPv6) and an established connection. The input is a list of records:
 *
 *   ctl(1) len(2, big endian) bytes(len)
 *
 * ctl bit 0: IPv6; bit 1: aim at the established connection (its ports,
 * and seq/ack near the live values, offset by the first bytes); bit 2: aim
 * at the listener's port; bit 3: leave the checksum as given (else fixed);
 * bit 4: advance the clock by bytes[0] * 16 ms afterwards; bit 5: the
 * application sends or reads; bits 6-7: TTL choice.
 * The record's bytes are the TCP header and payload (anything at all).
 *
 * The IPv6 listener has a TCP MD5 key (RFC 2385) for the sender's prefix:
 * a segment that carries the signature option and whose checksum is fixed
 * (bit 3 clear) gets a correct signature, so the fuzzer reaches signed
 * handshakes as well as the drops of unsigned and badly signed segments.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop.h"
#include "core/pbuf.h"
#include "crypto/crypto.h"
#include "ip/addr.h"
#include "ip/checksum.h"
#include "ip/packet.h"
#include "stack/tcp.h"
#include "stack/tcp_md5.h"

#include "../unit/packet_bytes.h"

static struct {
	struct loop loop;
	struct tcp_stack *s;
	struct tcp_conn *c;
	bool have_syn;
	uint32_t iss;
	uint16_t sport;
} F;

static void f_output(void *ctx, struct pbuf *b, uint32_t scope)
{
	struct ip_packet pkt;
	if (!F.have_syn && ip_packet_parse(b, &pkt) == 0 && pkt.family == AF_INET) {
		const uint8_t *th = pkt.hdr + pkt.hdr_len;
		if (th[13] == 0x02) {
			F.iss = (uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 | (uint32_t)th[6] << 8 | th[7];
			F.sport = (uint16_t)(th[0] << 8 | th[1]);
			F.have_syn = true;
		}
	}
	pbuf_free(b);
}
static uint16_t f_mtu(void *ctx, const struct tcp_endpoint *dst) { return 1420; }
static void f_accept(void *ctx, struct tcp_listener *l)
{
	struct tcp_conn *c;
	while ((c = tcp_accept(l)))
		tcp_close(c);
}
static void f_connected(void *ctx, struct tcp_conn *c, int err) {}
static void f_readable(void *ctx, struct tcp_conn *c)
{
	uint8_t buf[512];
	bool eof;
	while (tcp_recv(c, buf, sizeof(buf), &eof))
		;
}
static void f_writable(void *ctx, struct tcp_conn *c) {}
static void f_closed(void *ctx, struct tcp_conn *c, int err)
{
	if (c == F.c)
		F.c = NULL;
	tcp_release(c);
}

static const struct tcp_ops ops = {
	.output = f_output, .path_mtu = f_mtu, .on_accept_ready = f_accept,
	.on_connected = f_connected, .on_readable = f_readable, .on_writable = f_writable,
	.on_closed = f_closed,
};

static struct ip_addr a4, b4, a6, b6;
static struct tcp_md5_keyset keys6;

static void inject(bool v6, const uint8_t *tcp, size_t len, bool fix_csum, uint8_t ttl)
{
	struct pbuf *b = pbuf_alloc();
	if (!b)
		return;
	size_t iphl = v6 ? 40 : 20;
	if (iphl + len > PBUF_MTU_MAX)
		len = PBUF_MTU_MAX - iphl;
	uint8_t *ip = pbuf_put(b, iphl + len);
	if (!ip) {
		pbuf_free(b);
		return;
	}
	const struct ip_addr *src = v6 ? &b6 : &b4, *dst = v6 ? &a6 : &a4;
	struct tl_ip h = { v6 ? AF_INET6 : AF_INET, src->bytes, dst->bytes, .proto = IPPROTO_TCP,
			   .ttl = ttl };
	tl_ip_header(ip, &h, len);
	memcpy(ip + iphl, tcp, len);
	if (fix_csum && len >= 20 && (size_t)(ip[iphl + 12] >> 4) * 4 >= 20 &&
	    (size_t)(ip[iphl + 12] >> 4) * 4 <= len) {
		uint8_t *th = ip + iphl;
		const uint8_t *sig = tcp_md5_find(th, (size_t)(th[12] >> 4) * 4);
		const struct tcp_md5_key *k = tcp_md5_keyset_lookup(&keys6, src, 0);
		if (sig && k) {
			size_t at = (size_t)(sig - th);   /* the digest's place in our writable copy */
			(void)tcp_md5_digest(k, src, dst, th, len, th + at);
		}
	}
	if (fix_csum && len >= 18) {
		uint8_t *th = ip + iphl;
		th[16] = th[17] = 0;
		uint32_t sum = v6 ? csum_pseudo_v6(src->bytes, dst->bytes, IPPROTO_TCP, (uint32_t)len)
				  : csum_pseudo_v4(src->bytes, dst->bytes, IPPROTO_TCP, (uint32_t)len);
		uint16_t ck = csum_fold(csum_partial(th, len, sum));
		memcpy(th + 16, &ck, 2);
	}
	struct ip_packet pkt;
	if (ip_packet_parse(b, &pkt) < 0) {
		pbuf_free(b);
		return;
	}
	tcp_input(F.s, b, &pkt, 1);
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	if (!init) {
		if (crypto_init() < 0)
			abort();
		ip_addr_parse("10.0.0.1", &a4);
		ip_addr_parse("10.0.0.2", &b4);
		ip_addr_parse("fd42::1", &a6);
		ip_addr_parse("fd42::2", &b6);
		if (tcp_md5_keyset_set(&keys6, &b6, 64, 0, (const uint8_t *)"fuzz", 4) < 0)
			abort();
		init = true;
	}
	memset(&F, 0, sizeof(F));
	if (loop_init(&F.loop) < 0)
		abort();
	uint64_t t0 = 1000 * NSEC_PER_SEC;
	loop_use_manual_clock(&F.loop, t0);
	F.s = tcp_stack_new(&F.loop, &ops, NULL);
	if (!F.s)
		abort();
	struct tcp_listener *l4, *l6;
	struct tcp_endpoint ep4 = { .addr = a4, .port = 179 }, ep6 = { .addr = a6, .port = 179 };
	struct tcp_options lopt = { .min_ttl = 0 }, lopt6 = { .md5 = &keys6 };
	if (tcp_listen(F.s, &ep4, false, AF_INET, 4, &lopt, &l4) < 0 ||
	    tcp_listen(F.s, &ep6, true, AF_INET6, 4, &lopt6, &l6) < 0)
		abort();
	/* an established connection 10.0.0.1:50000 -> 10.0.0.2:8000 */
	struct tcp_endpoint lo = { .addr = a4, .port = 50000 }, re = { .addr = b4, .port = 8000 };
	struct tcp_options copt = { .keepalive = true, .keepidle_s = 5, .keepintvl_s = 1, .keepcnt = 2,
				    .sndbuf = 8192, .rcvbuf = 8192 };
	if (tcp_connect(F.s, &lo, &re, &copt, &F.c) < 0 || !F.have_syn)
		abort();
	const uint32_t peer_isn = 0x7000000;
	uint8_t synack[32] = { 0x1f, 0x40, 0xc3, 0x50 };
	put32(synack + 4, peer_isn);
	put32(synack + 8, F.iss + 1);
	synack[12] = 8 << 4;
	synack[13] = 0x12;
	synack[14] = 0xff;
	synack[15] = 0xff;
	const uint8_t opts[] = { 2, 4, 0x05, 0x00, 1, 1, 4, 2, 1, 3, 3, 2 };
	memcpy(synack + 20, opts, sizeof(opts));
	inject(false, synack, 32, true, 64);
	uint32_t peer_seq = peer_isn + 1, our_seq = F.iss + 1;

	while (size >= 3) {
		uint8_t ctl = data[0];
		size_t len = (size_t)data[1] << 8 | data[2];
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		uint8_t seg[PBUF_MTU_MAX];
		if (len > sizeof(seg))
			len = sizeof(seg);
		memcpy(seg, data, len);
		uint8_t ttl = (uint8_t[]){ 64, 255, 1, 0 }[ctl >> 6];
		bool v6 = ctl & 1;
		if ((ctl & 2) && len >= 20 && !v6) {
			seg[0] = 0x1f; seg[1] = 0x40; seg[2] = 0xc3; seg[3] = 0x50;
			int16_t d1 = (int16_t)(seg[4] << 8 | seg[5]), d2 = (int16_t)(seg[8] << 8 | seg[9]);
			put32(seg + 4, peer_seq + (uint32_t)(int32_t)d1);
			put32(seg + 8, our_seq + (uint32_t)(int32_t)d2);
			if ((seg[13] & 0x3f) == 0x10 && d1 == 0 && len > (size_t)(seg[12] >> 4) * 4)
				peer_seq += (uint32_t)(len - (size_t)(seg[12] >> 4) * 4);
		} else if ((ctl & 4) && len >= 4) {
			seg[2] = 0;
			seg[3] = 179;
		}
		inject(v6, seg, len, !(ctl & 8), ttl);
		if ((ctl & 32) && F.c) {
			if (len && (data[0] & 1)) {
				long r = tcp_send(F.c, data, len);
				(void)r;
			} else if (len && (data[0] & 2)) {
				tcp_shutdown_send(F.c);
			} else {
				uint8_t buf[256];
				bool eof;
				tcp_recv(F.c, buf, sizeof(buf), &eof);
			}
		}
		if ((ctl & 16) && len)
			loop_set_time(&F.loop, loop_now(&F.loop) + (uint64_t)data[0] * 16 * NSEC_PER_MSEC);
		data += len;
		size -= len;
	}
	/* let every timer run out: retransmissions, keepalive, TIME-WAIT */
	for (int i = 0; i < 40; i++)
		loop_set_time(&F.loop, loop_now(&F.loop) + 8 * NSEC_PER_SEC);
	if (F.c)
		tcp_abort(F.c);
	tcp_listener_close(l4);
	tcp_listener_close(l6);
	tcp_stack_free(F.s);
	loop_free(&F.loop);
	return 0;
}
