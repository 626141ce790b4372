/*
 * TCP engine, segment by segment: a hand-built peer feeds segments into
 * tcp_input under a manual clock, and what ops->output emits is parsed
 * back and checked (flags, seq/ack, window, options, timing).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop.h"
#include "core/pbuf.h"
#include "crypto/crypto.h"
#include "ip/addr.h"
#include "ip/checksum.h"
#include "ip/packet.h"
#include "stack/tcp.h"
#include "testlib.h"

#define T0 (1000 * NSEC_PER_SEC)
#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

/* ---- the harness ---- */

struct out_rec {
	struct pbuf *b;
	uint32_t scope;
};

static struct {
	struct loop loop;
	struct tcp_stack *s;
	struct out_rec out[8192];
	unsigned nout, head;
	uint16_t mtu;
	int accept_ready;
	int connected, connect_err;
	int readable, writable;
	int closed, closed_err;
	bool release_on_close;
} T;

static void o_output(void *ctx, struct pbuf *b, uint32_t scope)
{
	if (T.nout == sizeof(T.out) / sizeof(T.out[0])) {
		pbuf_free(b);   /* flood tests: keep the newest is not needed */
		return;
	}
	T.out[T.nout].b = b;
	T.out[T.nout].scope = scope;
	T.nout++;
}
static uint16_t o_mtu(void *ctx, const struct tcp_endpoint *dst) { return T.mtu; }
static void o_accept(void *ctx, struct tcp_listener *l) { T.accept_ready++; }
static void o_connected(void *ctx, struct tcp_conn *c, int err)
{
	T.connected++;
	T.connect_err = err;
}
static void o_readable(void *ctx, struct tcp_conn *c) { T.readable++; }
static void o_writable(void *ctx, struct tcp_conn *c) { T.writable++; }
static void o_closed(void *ctx, struct tcp_conn *c, int err)
{
	T.closed++;
	T.closed_err = err;
	if (T.release_on_close)
		tcp_release(c);
}

static const struct tcp_ops ops = {
	.output = o_output, .path_mtu = o_mtu, .on_accept_ready = o_accept,
	.on_connected = o_connected, .on_readable = o_readable, .on_writable = o_writable,
	.on_closed = o_closed,
};

static void drain_out(void)
{
	for (unsigned i = T.head; i < T.nout; i++)
		pbuf_free(T.out[i].b);
	T.nout = T.head = 0;
}

static int setup(void **state)
{
	assert_int_equal(crypto_init(), 0);
	memset(&T, 0, sizeof(T));
	assert_int_equal(loop_init(&T.loop), 0);
	loop_use_manual_clock(&T.loop, T0);
	T.mtu = 1500;
	T.release_on_close = true;
	T.s = tcp_stack_new(&T.loop, &ops, NULL);
	assert_non_null(T.s);
	return 0;
}

static int teardown(void **state)
{
	drain_out();
	tcp_stack_free(T.s);
	loop_free(&T.loop);
	return 0;
}

static void advance_ms(uint64_t ms)
{
	loop_set_time(&T.loop, loop_now(&T.loop) + ms * NSEC_PER_MSEC);
}

/* Moves time forward in 1 ms steps until something is output (or limit). Returns ms waited. */
static uint64_t wait_output(uint64_t limit_ms)
{
	uint64_t waited = 0;
	while (T.head == T.nout && waited < limit_ms) {
		advance_ms(1);
		waited++;
	}
	return waited;
}

/* ---- segments ---- */

struct peer {
	int fam;
	struct ip_addr me, them;   /* me: the test peer; them: the stack */
	uint16_t mport, tport;
	uint32_t seq, ack;
	uint16_t wnd;
	uint8_t ttl;
	uint32_t ifindex;
};

static void peer_init(struct peer *p, const char *me, uint16_t mport, const char *them, uint16_t tport)
{
	memset(p, 0, sizeof(*p));
	assert_int_equal(ip_addr_parse(me, &p->me), 0);
	assert_int_equal(ip_addr_parse(them, &p->them), 0);
	p->fam = p->me.family;
	p->mport = mport;
	p->tport = tport;
	p->seq = 0x10000000;
	p->wnd = 65535;
	p->ttl = 64;
}

static struct pbuf *mkseg(const struct peer *p, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t wnd,
			  const uint8_t *opt, size_t olen, const void *data, size_t dlen)
{
	struct pbuf *b = pbuf_alloc();
	assert_non_null(b);
	size_t iphl = p->fam == AF_INET ? 20 : 40;
	size_t tl = 20 + olen + dlen;
	uint8_t *ip = pbuf_put(b, iphl + tl);
	assert_non_null(ip);
	struct tl_ip h = { p->fam, p->me.bytes, p->them.bytes, .proto = IPPROTO_TCP, .ttl = p->ttl };
	tl_ip_header(ip, &h, tl);
	uint8_t *th = ip + iphl;
	memset(th, 0, 20);
	uint16_t v16;
	uint32_t v32;
	v16 = htons(p->mport); memcpy(th, &v16, 2);
	v16 = htons(p->tport); memcpy(th + 2, &v16, 2);
	v32 = htonl(seq); memcpy(th + 4, &v32, 4);
	v32 = htonl(ack); memcpy(th + 8, &v32, 4);
	th[12] = (uint8_t)(((20 + olen) / 4) << 4);
	th[13] = flags;
	v16 = htons(wnd); memcpy(th + 14, &v16, 2);
	if (olen)
		memcpy(th + 20, opt, olen);
	if (dlen)
		memcpy(th + 20 + olen, data, dlen);
	uint32_t sum = p->fam == AF_INET ? csum_pseudo_v4(p->me.bytes, p->them.bytes, IPPROTO_TCP, (uint32_t)tl)
					 : csum_pseudo_v6(p->me.bytes, p->them.bytes, IPPROTO_TCP, (uint32_t)tl);
	uint16_t ck = csum_fold(csum_partial(th, tl, sum));
	memcpy(th + 16, &ck, 2);
	return b;
}

static void inject(struct pbuf *b, uint32_t ifindex)
{
	struct ip_packet pkt;
	assert_int_equal(ip_packet_parse(b, &pkt), 0);
	tcp_input(T.s, b, &pkt, ifindex);
}

/* Sends from the peer with its current seq/ack; advances seq. */
static void psend(struct peer *p, uint8_t flags, const void *data, size_t len)
{
	inject(mkseg(p, p->seq, p->ack, flags, p->wnd, NULL, 0, data, len), p->ifindex);
	p->seq += (uint32_t)len + ((flags & F_SYN) ? 1 : 0) + ((flags & F_FIN) ? 1 : 0);
}

struct oseg {
	int fam;
	uint8_t flags, ttl, tos;
	uint32_t seq, ack, scope;
	uint16_t wnd, sport, dport;
	int mss, ws;
	bool sack_ok;
	int nsack;
	uint32_t sack[4][2];
	uint32_t dlen;
	uint8_t data[2048];
	struct ip_addr src, dst;
};

/* Pops the next emitted packet and parses it; fails the test if malformed. */
static bool pop(struct oseg *o)
{
	if (T.head == T.nout)
		return false;
	struct out_rec *r = &T.out[T.head++];
	struct ip_packet pkt;
	assert_int_equal(ip_packet_parse(r->b, &pkt), 0);
	assert_int_equal(pkt.proto, IPPROTO_TCP);
	memset(o, 0, sizeof(*o));
	o->fam = pkt.family;
	o->scope = r->scope;
	o->src = pkt.src;
	o->dst = pkt.dst;
	o->ttl = pkt.family == AF_INET ? pkt.hdr[8] : pkt.hdr[7];
	o->tos = pkt.family == AF_INET ? pkt.hdr[1] : (uint8_t)(((pkt.hdr[0] & 0xf) << 4) | (pkt.hdr[1] >> 4));
	if (pkt.family == AF_INET)
		assert_int_equal(csum_fold(csum_partial(pkt.hdr, 20, 0)), 0);
	uint8_t *th = pkt.hdr + pkt.hdr_len;
	size_t tl = pkt.total_len - pkt.hdr_len;
	uint32_t sum = pkt.family == AF_INET ? csum_pseudo_v4(pkt.src.bytes, pkt.dst.bytes, IPPROTO_TCP, (uint32_t)tl)
					     : csum_pseudo_v6(pkt.src.bytes, pkt.dst.bytes, IPPROTO_TCP, (uint32_t)tl);
	assert_int_equal(csum_fold(csum_partial(th, tl, sum)), 0);
	o->sport = (uint16_t)(th[0] << 8 | th[1]);
	o->dport = (uint16_t)(th[2] << 8 | th[3]);
	o->seq = ntohl(*(uint32_t *)(void *)(th + 4));
	o->ack = ntohl(*(uint32_t *)(void *)(th + 8));
	o->flags = th[13];
	o->wnd = (uint16_t)(th[14] << 8 | th[15]);
	size_t doff = (size_t)(th[12] >> 4) * 4;
	assert_true(doff >= 20 && doff <= tl);
	o->mss = o->ws = -1;
	for (size_t i = 20; i < doff;) {
		uint8_t k = th[i];
		if (k == 0)
			break;
		if (k == 1) {
			i++;
			continue;
		}
		assert_true(i + 1 < doff && th[i + 1] >= 2 && i + th[i + 1] <= doff);
		uint8_t l = th[i + 1];
		if (k == 2) o->mss = th[i + 2] << 8 | th[i + 3];
		if (k == 3) o->ws = th[i + 2];
		if (k == 4) o->sack_ok = true;
		if (k == 5) {
			o->nsack = (l - 2) / 8;
			for (int j = 0; j < o->nsack && j < 4; j++) {
				o->sack[j][0] = ntohl(*(uint32_t *)(void *)(th + i + 2 + 8 * j));
				o->sack[j][1] = ntohl(*(uint32_t *)(void *)(th + i + 6 + 8 * j));
			}
		}
		i += l;
	}
	o->dlen = (uint32_t)(tl - doff);
	assert_true(o->dlen <= sizeof(o->data));
	memcpy(o->data, th + doff, o->dlen);
	pbuf_free(r->b);
	r->b = NULL;
	return true;
}

static void expect_nothing(void)
{
	struct oseg o;
	if (pop(&o))
		fail_msg("unexpected segment flags %#x seq %u ack %u len %u", o.flags, o.seq, o.ack, o.dlen);
}

static const uint8_t syn_opts[] = { 2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7 };   /* MSS 1460, SACK-perm, WS 7 */

/* Passive open on 10.0.0.1:179 from 10.0.0.2:40000; returns the accepted connection. */
static struct tcp_conn *open_passive(struct peer *p, struct tcp_listener **lis, const struct tcp_options *opt)
{
	struct tcp_endpoint ep = { .port = 179 };
	assert_int_equal(ip_addr_parse("10.0.0.1", &ep.addr), 0);
	assert_int_equal(tcp_listen(T.s, &ep, false, AF_INET, 16, opt, lis), 0);
	peer_init(p, "10.0.0.2", 40000, "10.0.0.1", 179);
	advance_ms(1);
	inject(mkseg(p, p->seq, 0, F_SYN, 65535, syn_opts, sizeof(syn_opts), NULL, 0), 0);
	p->seq++;
	struct oseg o;
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_SYN | F_ACK);
	assert_int_equal(o.ack, p->seq);
	p->ack = o.seq + 1;
	advance_ms(100);   /* an RTT of 100 ms: RTO = 100 + 4 * 50 = 300 ms */
	p->wnd = 1024;      /* 1024 << 7 = 128 KiB */
	psend(p, F_ACK, NULL, 0);
	expect_nothing();
	assert_int_equal(T.accept_ready, 1);
	struct tcp_conn *c = tcp_accept(*lis);
	assert_non_null(c);
	assert_null(tcp_accept(*lis));
	assert_int_equal(tcp_conn_state(c), TCP_ESTABLISHED);
	return c;
}

/* Active open from 10.0.0.1:50000 to 10.0.0.2:179. */
static struct tcp_conn *open_active(struct peer *p, const struct tcp_options *opt)
{
	struct tcp_conn *c = NULL;
	assert_int_equal(tl_tcp_connect(T.s, 50000, 179, opt, &c), 0);
	assert_non_null(c);
	assert_int_equal(tcp_conn_state(c), TCP_SYN_SENT);
	struct oseg o;
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_SYN);
	peer_init(p, "10.0.0.2", 179, "10.0.0.1", 50000);
	p->ack = o.seq + 1;
	advance_ms(100);
	inject(mkseg(p, p->seq, p->ack, F_SYN | F_ACK, 65535, syn_opts, sizeof(syn_opts), NULL, 0), 0);
	p->seq++;
	p->wnd = 1024;
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_ACK);
	assert_int_equal(o.ack, p->seq);
	assert_int_equal(o.seq, p->ack);
	assert_int_equal(T.connected, 1);
	assert_int_equal(T.connect_err, 0);
	assert_int_equal(tcp_conn_state(c), TCP_ESTABLISHED);
	return c;
}

static void fill(uint8_t *buf, size_t n, uint32_t off)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)((off + i) * 31 + 7);
}

/* ---- tests ---- */

static void test_passive_open(void **state)
{
	struct tcp_endpoint ep = { .port = 179 };
	struct tcp_listener *l;
	assert_int_equal(ip_addr_parse("10.0.0.1", &ep.addr), 0);
	assert_int_equal(tcp_listen(T.s, &ep, false, AF_INET, 4, NULL, &l), 0);
	assert_int_equal(tcp_listen(T.s, &ep, false, AF_INET, 4, NULL, &l), -EADDRINUSE);
	struct peer p;
	peer_init(&p, "10.0.0.2", 40000, "10.0.0.1", 179);
	inject(mkseg(&p, p.seq, 0, F_SYN, 65535, syn_opts, sizeof(syn_opts), NULL, 0), 0);
	struct oseg o;
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_SYN | F_ACK);
	assert_int_equal(o.ack, p.seq + 1);
	assert_int_equal(o.sport, 179);
	assert_int_equal(o.dport, 40000);
	assert_int_equal(o.mss, 1460);          /* path MTU 1500 - 40 */
	assert_int_equal(o.ws, 3);              /* 256 KiB >> 3 fits 16 bits */
	assert_true(o.sack_ok);
	assert_int_equal(o.wnd, 65535);
	assert_int_equal(o.ttl, 64);
	assert_int_equal(T.accept_ready, 0);
	assert_null(tcp_accept(l));
	/* a retransmitted SYN gets the same SYN-ACK */
	inject(mkseg(&p, p.seq, 0, F_SYN, 65535, syn_opts, sizeof(syn_opts), NULL, 0), 0);
	struct oseg o2;
	assert_true(pop(&o2));
	assert_int_equal(o2.seq, o.seq);
	p.seq++;
	p.ack = o.seq + 1;
	/* an ACK for something else: RST */
	inject(mkseg(&p, p.seq, p.ack + 5, F_ACK, 100, NULL, 0, NULL, 0), 0);
	assert_true(pop(&o2));
	assert_int_equal(o2.flags, F_RST);
	assert_int_equal(o2.seq, p.ack + 5);
	psend(&p, F_ACK, NULL, 0);
	assert_int_equal(T.accept_ready, 1);
	struct tcp_conn *c = tcp_accept(l);
	assert_non_null(c);
	assert_int_equal(tcp_conn_state(c), TCP_ESTABLISHED);
	struct tcp_endpoint le, re;
	tcp_conn_endpoints(c, &le, &re);
	assert_int_equal(le.port, 179);
	assert_int_equal(re.port, 40000);
	assert_true(ip_addr_equal(&re.addr, &p.me));
	assert_int_equal(tcp_stack_stats(T.s)->passive_opens, 1);
	assert_int_equal(tcp_stack_stats(T.s)->connections, 1);
	tcp_abort(c);
	assert_true(pop(&o2));
	assert_int_equal(o2.flags & F_RST, F_RST);
	tcp_listener_close(l);
	advance_ms(1);
	assert_int_equal(tcp_stack_stats(T.s)->connections, 0);
}

static void test_active_open(void **state)
{
	struct tcp_options opt = { .ttl = 1, .tos = 0xc0 };
	T.mtu = 1420;
	struct tcp_conn *c;
	assert_int_equal(tl_tcp_connect(T.s, 0, 179, &opt, &c), 0);
	struct oseg o;
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_SYN);
	assert_int_equal(o.mss, 1380);
	assert_int_equal(o.ws, 3);
	assert_true(o.sack_ok);
	assert_int_equal(o.ttl, 1);              /* IP_TTL: a GTSM-style session */
	assert_int_equal(o.tos, 0xc0);           /* IP_TOS */
	assert_true(o.sport >= 32768 && o.sport < 61000);
	struct peer p;
	peer_init(&p, "10.0.0.2", 179, "10.0.0.1", o.sport);
	p.ack = o.seq + 1;
	/* a SYN-ACK acknowledging the wrong thing: RST, still connecting */
	inject(mkseg(&p, p.seq, p.ack + 1000, F_SYN | F_ACK, 65535, syn_opts, sizeof(syn_opts), NULL, 0), 0);
	struct oseg o2;
	assert_true(pop(&o2));
	assert_int_equal(o2.flags, F_RST);
	assert_int_equal(o2.seq, p.ack + 1000);
	assert_int_equal(T.connected, 0);
	inject(mkseg(&p, p.seq, p.ack, F_SYN | F_ACK, 65535, syn_opts, sizeof(syn_opts), NULL, 0), 0);
	p.seq++;
	assert_true(pop(&o2));
	assert_int_equal(o2.flags, F_ACK);
	assert_int_equal(o2.ack, p.seq);
	assert_int_equal(o2.seq, p.ack);
	assert_int_equal(T.connected, 1);
	assert_int_equal(T.connect_err, 0);
	assert_int_equal(tcp_conn_state(c), TCP_ESTABLISHED);
	/* the same 4-tuple cannot be opened twice */
	struct tcp_conn *c2;
	assert_int_equal(tl_tcp_connect(T.s, o.sport, 179, NULL, &c2), -EADDRINUSE);
	/* data: the peer's MSS 1460 is bounded by our path (1380) */
	static uint8_t buf[4000];
	fill(buf, sizeof(buf), 0);
	assert_int_equal(tcp_send(c, buf, sizeof(buf)), (long)sizeof(buf));
	assert_true(pop(&o2));
	assert_int_equal(o2.dlen, 1380);
	assert_memory_equal(o2.data, buf, 1380);
	assert_true(pop(&o2));
	assert_int_equal(o2.dlen, 1380);
	assert_true(pop(&o2));
	assert_int_equal(o2.dlen, 4000 - 2760);
	assert_int_equal(o2.flags, F_ACK | F_PSH);
	tcp_abort(c);
}

static void test_rst_closed_port(void **state)
{
	struct peer p;
	peer_init(&p, "10.0.0.2", 40000, "10.0.0.1", 22);
	inject(mkseg(&p, 1000, 0, F_SYN, 65535, NULL, 0, NULL, 0), 0);
	struct oseg o;
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_RST | F_ACK);
	assert_int_equal(o.seq, 0);
	assert_int_equal(o.ack, 1001);
	assert_int_equal(o.sport, 22);
	assert_int_equal(o.dport, 40000);
	/* with data and FIN: ack covers all of it */
	inject(mkseg(&p, 5000, 0, F_FIN | F_PSH, 65535, NULL, 0, "hello", 5), 0);
	assert_true(pop(&o));
	assert_int_equal(o.ack, 5006);
	/* an ACK: RST with seq = its ack */
	inject(mkseg(&p, 1000, 777, F_ACK, 65535, NULL, 0, NULL, 0), 0);
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_RST);
	assert_int_equal(o.seq, 777);
	/* never a RST for a RST */
	inject(mkseg(&p, 1000, 777, F_RST | F_ACK, 65535, NULL, 0, NULL, 0), 0);
	expect_nothing();
	/* a bad checksum is dropped silently */
	struct pbuf *b = mkseg(&p, 1000, 0, F_SYN, 65535, NULL, 0, NULL, 0);
	pbuf_data(b)[20 + 16] ^= 0x55;
	inject(b, 0);
	expect_nothing();
	assert_int_equal(tcp_stack_stats(T.s)->bad_segments, 1);
	assert_int_equal(tcp_stack_stats(T.s)->resets_sent, 3);
}

static void test_connect_refused(void **state)
{
	struct tcp_conn *c;
	assert_int_equal(tl_tcp_connect(T.s, 50000, 179, NULL, &c), 0);
	struct oseg o;
	assert_true(pop(&o));
	struct peer p;
	peer_init(&p, "10.0.0.2", 179, "10.0.0.1", 50000);
	/* a RST whose ACK is not ours is ignored */
	inject(mkseg(&p, 0, o.seq + 7, F_RST | F_ACK, 0, NULL, 0, NULL, 0), 0);
	assert_int_equal(T.connected, 0);
	inject(mkseg(&p, 0, o.seq + 1, F_RST | F_ACK, 0, NULL, 0, NULL, 0), 0);
	assert_int_equal(T.connected, 1);
	assert_int_equal(T.connect_err, ECONNREFUSED);
	assert_int_equal(T.closed, 1);
	assert_int_equal(T.closed_err, ECONNREFUSED);
	expect_nothing();
	advance_ms(1);
	assert_int_equal(tcp_stack_stats(T.s)->connections, 0);
}

static void test_connect_timeout(void **state)
{
	struct tcp_conn *c;
	assert_int_equal(tl_tcp_connect(T.s, 50000, 179, NULL, &c), 0);
	struct oseg o;
	assert_true(pop(&o));
	uint32_t iss = o.seq;
	uint64_t expect = 1000;
	for (int i = 0; i < 6; i++) {
		uint64_t w = wait_output(200000);
		assert_true(pop(&o));
		assert_int_equal(o.flags, F_SYN);
		assert_int_equal(o.seq, iss);
		assert_true(w >= expect && w <= expect + 2);   /* 1, 2, 4, 8, 16, 32 s */
		expect *= 2;
	}
	assert_int_equal(T.connected, 0);
	uint64_t w = 0;
	while (!T.connected && w < 200000) {
		advance_ms(1);
		w++;
	}
	assert_true(w >= 64000 && w <= 64002);
	assert_int_equal(T.connect_err, ETIMEDOUT);
	assert_int_equal(T.closed_err, ETIMEDOUT);
	expect_nothing();
}

static void test_data_in_order_and_ooo(void **state)
{
	struct peer p;
	struct tcp_listener *l;
	struct tcp_conn *c = open_passive(&p, &l, NULL);
	uint8_t buf[5000], got[6000];
	fill(buf, sizeof(buf), 0);
	uint32_t base = p.seq;
	/* segment 1 in order */
	psend(&p, F_ACK | F_PSH, buf, 1000);
	struct oseg o;
	assert_true(pop(&o));   /* quick ACK at the start of a connection */
	assert_int_equal(o.ack, base + 1000);
	assert_int_equal(o.nsack, 0);
	assert_int_equal(T.readable, 1);
	/* segment 3 out of order: immediate ACK with a SACK block */
	inject(mkseg(&p, base + 2000, p.ack, F_ACK, p.wnd, NULL, 0, buf + 2000, 1000), 0);
	assert_true(pop(&o));
	assert_int_equal(o.ack, base + 1000);
	assert_int_equal(o.nsack, 1);
	assert_int_equal(o.sack[0][0], base + 2000);
	assert_int_equal(o.sack[0][1], base + 3000);
	/* segment 5 too: two blocks, the newest first */
	inject(mkseg(&p, base + 4000, p.ack, F_ACK, p.wnd, NULL, 0, buf + 4000, 1000), 0);
	assert_true(pop(&o));
	assert_int_equal(o.nsack, 2);
	assert_int_equal(o.sack[0][0], base + 4000);
	assert_int_equal(o.sack[1][0], base + 2000);
	assert_int_equal(tcp_recv_available(c), 1000);
	/* segment 2 fills the first gap */
	inject(mkseg(&p, base + 1000, p.ack, F_ACK, p.wnd, NULL, 0, buf + 1000, 1000), 0);
	assert_true(pop(&o));
	assert_int_equal(o.ack, base + 3000);
	assert_int_equal(o.nsack, 1);
	/* a duplicate of old data: immediate ACK, nothing new */
	inject(mkseg(&p, base + 500, p.ack, F_ACK, p.wnd, NULL, 0, buf + 500, 1000), 0);
	assert_true(pop(&o));
	assert_int_equal(o.ack, base + 3000);
	/* overlapping segment 4 (starts inside 3): everything in order */
	inject(mkseg(&p, base + 2500, p.ack, F_ACK, p.wnd, NULL, 0, buf + 2500, 1500), 0);
	assert_true(pop(&o));
	assert_int_equal(o.ack, base + 5000);
	assert_int_equal(o.nsack, 0);
	bool eof = true;
	size_t n = tcp_recv(c, got, sizeof(got), &eof);
	assert_int_equal(n, 5000);
	assert_false(eof);
	assert_memory_equal(got, buf, 5000);
	tcp_abort(c);
	tcp_listener_close(l);
}

static void test_delayed_ack(void **state)
{
	struct peer p;
	struct tcp_conn *c = open_active(&p, NULL);
	uint8_t buf[1460 * 40];
	fill(buf, sizeof(buf), 0);
	struct oseg o;
	/* past the quick-ACK phase */
	for (int i = 0; i < 16; i++) {
		psend(&p, F_ACK, buf, 100);
		assert_true(pop(&o));
	}
	assert_int_equal(T.readable, 16);
	uint8_t sink[4000];
	while (tcp_recv(c, sink, sizeof(sink), NULL))
		;
	/* one full segment: the ACK waits 40 ms */
	psend(&p, F_ACK, buf, 1460);
	expect_nothing();
	uint64_t w = wait_output(100);
	assert_true(w >= 39 && w <= 44);
	assert_true(pop(&o));
	assert_int_equal(o.ack, p.seq);
	/* two full segments: ACK at once */
	psend(&p, F_ACK, buf, 1460);
	expect_nothing();
	psend(&p, F_ACK, buf, 1460);
	assert_true(pop(&o));
	assert_int_equal(o.ack, p.seq);
	expect_nothing();
	tcp_abort(c);
}

static void test_rto_backoff(void **state)
{
	struct peer p;
	struct tcp_conn *c = open_active(&p, NULL);
	uint8_t buf[1000];
	fill(buf, sizeof(buf), 0);
	assert_int_equal(tcp_send(c, buf, sizeof(buf)), 1000);
	struct oseg o;
	assert_true(pop(&o));
	uint32_t seq = o.seq;
	assert_int_equal(o.dlen, 1000);
	/* RTT 100 ms from the handshake: RTO 300 ms, then doubling */
	uint64_t expect = 300;
	for (int i = 0; i < 5; i++) {
		uint64_t w = wait_output(100000);
		assert_true(pop(&o));
		assert_int_equal(o.seq, seq);
		assert_int_equal(o.dlen, 1000);
		assert_true(w >= expect && w <= expect + 2);
		expect *= 2;
	}
	assert_int_equal(tcp_stack_stats(T.s)->retransmits, 5);
	/* the ACK stops it */
	p.ack = seq + 1000;
	psend(&p, F_ACK, NULL, 0);
	advance_ms(20000);
	expect_nothing();
	tcp_abort(c);
}

static void test_data_timeout(void **state)
{
	struct peer p;
	struct tcp_conn *c = open_active(&p, NULL);
	assert_int_equal(tcp_send(c, "x", 1), 1);
	struct oseg o;
	assert_true(pop(&o));
	int n = 0;
	for (int i = 0; i < 2000 && !T.closed; i++) {
		advance_ms(1000);
		while (pop(&o))
			n++;
	}
	assert_int_equal(n, 15);
	assert_int_equal(T.closed, 1);
	assert_int_equal(T.closed_err, ETIMEDOUT);
}

static void test_fast_retransmit(void **state)
{
	struct peer p;
	struct tcp_conn *c = open_active(&p, NULL);
	static uint8_t buf[1460 * 10];
	fill(buf, sizeof(buf), 0);
	assert_int_equal(tcp_send(c, buf, sizeof(buf)), (long)sizeof(buf));
	struct oseg o;
	uint32_t first = 0;
	for (int i = 0; i < 10; i++) {   /* initial window: 10 segments */
		assert_true(pop(&o));
		assert_int_equal(o.dlen, 1460);
		if (i == 0)
			first = o.seq;
	}
	expect_nothing();
	/* segment 1 lost; the peer acks 0 three times with SACK for 2..4 */
	for (int i = 1; i <= 3; i++) {
		uint8_t sk[12] = { 1, 1, 5, 10 };
		uint32_t a = htonl(first + 1460), e = htonl(first + 1460 * (uint32_t)(i + 1));
		memcpy(sk + 4, &a, 4);
		memcpy(sk + 8, &e, 4);
		inject(mkseg(&p, p.seq, first, F_ACK, p.wnd, sk, sizeof(sk), NULL, 0), 0);
		if (i < 3) {
			/* limited transmit: nothing new to send, so nothing */
			expect_nothing();
		}
	}
	assert_true(pop(&o));
	assert_int_equal(o.seq, first);
	assert_int_equal(o.dlen, 1460);
	assert_memory_equal(o.data, buf, 1460);
	assert_int_equal(tcp_stack_stats(T.s)->fast_retransmits, 1);
	assert_int_equal(tcp_stack_stats(T.s)->timeouts, 0);
	/* partial ACK with SACK of 6..10 covering a second hole at 5: retransmitted */
	uint8_t sk[12] = { 1, 1, 5, 10 };
	uint32_t a = htonl(first + 1460 * 5), e = htonl(first + 1460 * 10);
	memcpy(sk + 4, &a, 4);
	memcpy(sk + 8, &e, 4);
	inject(mkseg(&p, p.seq, first + 1460 * 4, F_ACK, p.wnd, sk, sizeof(sk), NULL, 0), 0);
	assert_true(pop(&o));
	assert_int_equal(o.seq, first + 1460 * 4);
	expect_nothing();
	inject(mkseg(&p, p.seq, first + 1460 * 10, F_ACK, p.wnd, NULL, 0, NULL, 0), 0);
	expect_nothing();
	assert_int_equal(tcp_stack_stats(T.s)->timeouts, 0);
	tcp_abort(c);
}

static void test_zero_window_persist(void **state)
{
	struct peer p;
	struct tcp_conn *c = open_active(&p, NULL);
	p.wnd = 0;
	psend(&p, F_ACK, NULL, 0);
	assert_int_equal(tcp_send(c, "hello world", 11), 11);
	expect_nothing();
	struct oseg o;
	uint64_t expect = 300, total = 0;
	for (int i = 0; i < 4; i++) {
		uint64_t w = wait_output(100000);
		total += w;
		assert_true(pop(&o));
		assert_int_equal(o.dlen, 0);
		assert_int_equal(o.seq, p.ack - 1);   /* a probe the peer must answer */
		assert_true(w >= expect && w <= expect + 2);
		expect *= 2;
		psend(&p, F_ACK, NULL, 0);            /* still zero */
	}
	/* the window opens: the data goes */
	p.wnd = 100;
	psend(&p, F_ACK, NULL, 0);
	assert_true(pop(&o));
	assert_int_equal(o.dlen, 11);
	assert_memory_equal(o.data, "hello world", 11);
	assert_int_equal(T.closed, 0);
	/* receive side: our window closes when the app does not read */
	static uint8_t big[1400];
	fill(big, sizeof(big), 0);
	p.ack += 11;
	uint32_t last_wnd = 65535;
	int segs = 0;
	for (; segs < 400; segs++) {
		psend(&p, F_ACK, big, sizeof(big));
		while (pop(&o))
			last_wnd = o.wnd;
		advance_ms(50);
		while (pop(&o))
			last_wnd = o.wnd;
		if (last_wnd == 0)
			break;
	}
	assert_int_equal(last_wnd, 0);
	assert_true(tcp_recv_available(c) >= 256 * 1024 - 1400 && tcp_recv_available(c) <= 256 * 1024);
	/* data beyond the window is not taken, but answered */
	size_t before = tcp_recv_available(c);
	psend(&p, F_ACK, big, sizeof(big));
	assert_true(pop(&o));
	assert_int_equal(o.wnd, 0);
	assert_int_equal(tcp_recv_available(c), before);
	p.seq -= sizeof(big);
	/* reading opens it with a window update */
	static uint8_t sink[65536];
	assert_int_equal(tcp_recv(c, sink, sizeof(sink), NULL), sizeof(sink));
	assert_true(pop(&o));
	assert_true(((uint32_t)o.wnd << 3) >= 65536 - 8);
	tcp_abort(c);
}

static void test_active_close_time_wait(void **state)
{
	struct peer p;
	struct tcp_conn *c = open_active(&p, NULL);
	assert_int_equal(tcp_stack_stats(T.s)->connections, 1);
	assert_int_equal(tcp_send(c, "bye", 3), 3);
	struct oseg o;
	assert_true(pop(&o));
	tcp_close(c);   /* FIN waits behind the data */
	assert_true(pop(&o));
	assert_int_equal(o.flags & (F_FIN | F_ACK), F_FIN | F_ACK);
	assert_int_equal(o.seq, p.ack + 3);
	uint32_t fin_seq = o.seq;
	/* ACK of data and FIN */
	p.ack = fin_seq + 1;
	psend(&p, F_ACK, NULL, 0);
	expect_nothing();
	/* the peer's FIN: ACK, TIME-WAIT */
	psend(&p, F_ACK | F_FIN, NULL, 0);
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_ACK);
	assert_int_equal(o.ack, p.seq);
	assert_int_equal(T.closed, 0);   /* closed by the app: no callbacks */
	assert_int_equal(tcp_stack_stats(T.s)->connections, 1);
	/* a retransmitted FIN is acknowledged again */
	inject(mkseg(&p, p.seq - 1, p.ack, F_ACK | F_FIN, p.wnd, NULL, 0, NULL, 0), 0);
	assert_true(pop(&o));
	assert_int_equal(o.ack, p.seq);
	/* the same 4-tuple is busy in TIME-WAIT */
	struct tcp_conn *c2;
	assert_int_equal(tl_tcp_connect(T.s, 50000, 179, NULL, &c2), -EADDRINUSE);
	advance_ms(59000);
	assert_int_equal(tcp_stack_stats(T.s)->connections, 1);
	advance_ms(2000);
	assert_int_equal(tcp_stack_stats(T.s)->connections, 0);
	expect_nothing();
	/* now a segment for it gets a RST */
	psend(&p, F_ACK, NULL, 0);
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_RST);
}

static void test_passive_close(void **state)
{
	struct peer p;
	struct tcp_listener *l;
	struct tcp_conn *c = open_passive(&p, &l, NULL);
	tcp_listener_close(l);   /* an accepted connection lives on */
	psend(&p, F_ACK | F_PSH | F_FIN, "last", 4);
	struct oseg o;
	assert_true(pop(&o));
	assert_int_equal(o.ack, p.seq);
	assert_int_equal(tcp_conn_state(c), TCP_CLOSE_WAIT);
	assert_int_equal(T.readable, 1);
	char buf[16];
	bool eof = false;
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), &eof), 4);
	assert_true(eof);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), &eof), 0);
	assert_true(eof);
	/* we can still send, then close our half */
	assert_int_equal(tcp_send(c, "ok", 2), 2);
	assert_true(pop(&o));
	assert_int_equal(o.dlen, 2);
	tcp_shutdown_send(c);
	assert_int_equal(tcp_send(c, "x", 1), -EPIPE);
	assert_true(pop(&o));
	assert_int_equal(o.flags & F_FIN, F_FIN);
	assert_int_equal(tcp_conn_state(c), TCP_LAST_ACK);
	p.ack = o.seq + 1;
	psend(&p, F_ACK, NULL, 0);
	assert_int_equal(T.closed, 1);
	assert_int_equal(T.closed_err, 0);
	advance_ms(1);
	assert_int_equal(tcp_stack_stats(T.s)->connections, 0);
	expect_nothing();
}

static void test_half_close(void **state)
{
	struct peer p;
	struct tcp_conn *c = open_active(&p, NULL);
	tcp_shutdown_send(c);
	struct oseg o;
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_FIN | F_ACK);
	assert_int_equal(tcp_conn_state(c), TCP_FIN_WAIT_1);
	p.ack = o.seq + 1;
	psend(&p, F_ACK, NULL, 0);
	assert_int_equal(tcp_conn_state(c), TCP_FIN_WAIT_2);
	/* the peer keeps sending: delivered */
	psend(&p, F_ACK | F_PSH, "more data", 9);
	assert_true(pop(&o));
	char buf[32];
	bool eof = true;
	/* the peer's FIN: TIME-WAIT; on_closed waits until the data is read */
	psend(&p, F_ACK | F_FIN, NULL, 0);
	assert_true(pop(&o));
	assert_int_equal(tcp_conn_state(c), TCP_TIME_WAIT);
	assert_int_equal(T.closed, 0);
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), &eof), 9);
	assert_true(eof);
	assert_memory_equal(buf, "more data", 9);
	assert_int_equal(T.closed, 0);   /* not from inside tcp_recv... */
	advance_ms(1);
	assert_int_equal(T.closed, 1);   /* ...but from the loop right after */
	assert_int_equal(T.closed_err, 0);
	assert_int_equal(tcp_stack_stats(T.s)->connections, 1);   /* TIME-WAIT */
	advance_ms(61000);
	assert_int_equal(tcp_stack_stats(T.s)->connections, 0);
}

static void test_simultaneous_close(void **state)
{
	struct peer p;
	struct tcp_conn *c = open_active(&p, NULL);
	tcp_shutdown_send(c);
	struct oseg o;
	assert_true(pop(&o));
	uint32_t fin = o.seq;
	/* the peer's FIN crosses ours */
	psend(&p, F_ACK | F_FIN, NULL, 0);
	assert_true(pop(&o));
	assert_int_equal(tcp_conn_state(c), TCP_CLOSING);
	p.ack = fin + 1;
	psend(&p, F_ACK, NULL, 0);
	assert_int_equal(tcp_conn_state(c), TCP_TIME_WAIT);
	advance_ms(1);
	assert_int_equal(T.closed, 1);
	assert_int_equal(T.closed_err, 0);
}

static void test_rst_window_checks(void **state)
{
	struct peer p;
	struct tcp_conn *c = open_active(&p, NULL);
	struct oseg o;
	/* in window but not exact: challenge ACK (RFC 5961 3.2) */
	inject(mkseg(&p, p.seq + 100, 0, F_RST, 0, NULL, 0, NULL, 0), 0);
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_ACK);
	assert_int_equal(o.ack, p.seq);
	assert_int_equal(tcp_conn_state(c), TCP_ESTABLISHED);
	/* out of window: dropped */
	inject(mkseg(&p, p.seq - 100000, 0, F_RST, 0, NULL, 0, NULL, 0), 0);
	inject(mkseg(&p, p.seq + 10000000, 0, F_RST, 0, NULL, 0, NULL, 0), 0);
	expect_nothing();
	/* a SYN on an established connection: challenge ACK (RFC 5961 4) */
	inject(mkseg(&p, p.seq + 5, 0, F_SYN, 65535, NULL, 0, NULL, 0), 0);
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_ACK);
	assert_int_equal(o.ack, p.seq);
	/* an ACK for data never sent: ACK back, dropped */
	inject(mkseg(&p, p.seq, p.ack + 50000, F_ACK, p.wnd, NULL, 0, "zz", 2), 0);
	assert_true(pop(&o));
	assert_int_equal(o.ack, p.seq);
	assert_int_equal(tcp_recv_available(c), 0);
	assert_int_equal(tcp_conn_state(c), TCP_ESTABLISHED);
	assert_int_equal(T.closed, 0);
	/* exact: reset */
	inject(mkseg(&p, p.seq, 0, F_RST, 0, NULL, 0, NULL, 0), 0);
	expect_nothing();
	assert_int_equal(T.closed, 1);
	assert_int_equal(T.closed_err, ECONNRESET);
	assert_int_equal(tcp_stack_stats(T.s)->resets_received, 1);
}

static void test_keepalive(void **state)
{
	struct peer p;
	struct tcp_options opt = { .keepalive = true, .keepidle_s = 10, .keepintvl_s = 2, .keepcnt = 3 };
	struct tcp_conn *c = open_active(&p, &opt);
	struct oseg o;
	uint64_t w = wait_output(20000);
	assert_true(w >= 9900 && w <= 10300);
	assert_true(pop(&o));
	assert_int_equal(o.seq, p.ack - 1);
	assert_int_equal(o.dlen, 0);
	/* answered: idle again */
	psend(&p, F_ACK, NULL, 0);
	w = wait_output(20000);
	assert_true(w >= 9900 && w <= 10300);
	assert_true(pop(&o));
	/* unanswered: probes every 2 s, then the connection dies with a RST */
	for (int i = 0; i < 2; i++) {
		w = wait_output(5000);
		assert_true(w >= 1900 && w <= 2300);
		assert_true(pop(&o));
		assert_int_equal(o.seq, p.ack - 1);
	}
	w = wait_output(5000);
	assert_true(pop(&o));
	assert_int_equal(o.flags & F_RST, F_RST);
	assert_int_equal(T.closed, 1);
	assert_int_equal(T.closed_err, ETIMEDOUT);
	(void)c;
}

static void test_min_ttl(void **state)
{
	struct tcp_endpoint ep = { .port = 179 };
	struct tcp_listener *l;
	assert_int_equal(ip_addr_parse("10.0.0.1", &ep.addr), 0);
	struct tcp_options opt = { .min_ttl = 255 };
	assert_int_equal(tcp_listen(T.s, &ep, false, AF_INET, 4, &opt, &l), 0);
	struct peer p;
	peer_init(&p, "10.0.0.2", 40000, "10.0.0.1", 179);
	p.ttl = 254;
	inject(mkseg(&p, p.seq, 0, F_SYN, 65535, NULL, 0, NULL, 0), 0);
	expect_nothing();
	p.ttl = 255;
	inject(mkseg(&p, p.seq, 0, F_SYN, 65535, NULL, 0, NULL, 0), 0);
	struct oseg o;
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_SYN | F_ACK);
	p.seq++;
	p.ack = o.seq + 1;
	psend(&p, F_ACK, NULL, 0);
	struct tcp_conn *c = tcp_accept(l);
	assert_non_null(c);
	/* on the connection too: a forged RST from afar is ignored */
	p.ttl = 200;
	psend(&p, F_RST, NULL, 0);
	expect_nothing();
	assert_int_equal(tcp_conn_state(c), TCP_ESTABLISHED);
	p.ttl = 255;
	psend(&p, F_RST, NULL, 0);
	assert_int_equal(T.closed, 1);
	assert_int_equal(T.closed_err, ECONNRESET);
	tcp_listener_close(l);
}

static void test_syn_flood(void **state)
{
	struct tcp_endpoint ep = { .port = 179 };
	struct tcp_listener *l;
	assert_int_equal(ip_addr_parse("10.0.0.1", &ep.addr), 0);
	assert_int_equal(tcp_listen(T.s, &ep, false, AF_INET, 64, NULL, &l), 0);
	uint64_t mem_before_pbufs;
	struct pbuf_stats ps;
	pbuf_pool_stats(&ps);
	mem_before_pbufs = ps.allocated;
	srand(42);
	for (int i = 0; i < 20000; i++) {
		struct peer p;
		char a[32];
		snprintf(a, sizeof(a), "100.%d.%d.%d", rand() % 256, rand() % 256, rand() % 256);
		peer_init(&p, a, (uint16_t)(1024 + rand() % 60000), "10.0.0.1", 179);
		inject(mkseg(&p, (uint32_t)rand(), 0, F_SYN, 65535, syn_opts, sizeof(syn_opts), NULL, 0), 0);
		drain_out();
		if (i % 1000 == 0)
			advance_ms(10);
	}
	const struct tcp_stats *st = tcp_stack_stats(T.s);
	assert_true(st->connections <= 128);      /* the SYN queue bound */
	assert_true(st->syncookies_sent >= 20000 - 128);
	pbuf_pool_stats(&ps);
	assert_int_equal(ps.allocated, mem_before_pbufs);
	/* a legitimate client still gets in (by cookie) */
	struct peer p;
	peer_init(&p, "10.0.0.2", 40000, "10.0.0.1", 179);
	inject(mkseg(&p, p.seq, 0, F_SYN, 65535, syn_opts, sizeof(syn_opts), NULL, 0), 0);
	p.seq++;
	struct oseg o;
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_SYN | F_ACK);
	assert_int_equal(o.mss, 1460);
	assert_true(o.sack_ok);
	p.ack = o.seq + 1;
	advance_ms(50);
	/* a forged cookie ACK is refused */
	inject(mkseg(&p, p.seq, p.ack + 1, F_ACK, 1024, NULL, 0, NULL, 0), 0);
	struct oseg r;
	assert_true(pop(&r));
	assert_int_equal(r.flags, F_RST);
	p.wnd = 1024;
	psend(&p, F_ACK | F_PSH, "open", 4);   /* data with the final ACK */
	assert_int_equal(T.accept_ready, 1);
	struct tcp_conn *c = tcp_accept(l);
	assert_non_null(c);
	assert_int_equal(tcp_conn_state(c), TCP_ESTABLISHED);
	char buf[8];
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), NULL), 4);
	assert_memory_equal(buf, "open", 4);
	assert_true(pop(&o));
	assert_int_equal(o.ack, p.seq);
	assert_int_equal(tcp_stack_stats(T.s)->syncookies_ok, 1);
	/* window scaling and SACK survived the cookie */
	static uint8_t big[1460 * 4];
	assert_int_equal(tcp_send(c, big, sizeof(big)), (long)sizeof(big));
	for (int i = 0; i < 4; i++) {
		assert_true(pop(&o));
		assert_int_equal(o.dlen, 1460);
	}
	/* half-open entries expire after the SYN-ACK retries */
	for (int i = 0; i < 200; i++) {
		advance_ms(1000);
		drain_out();
	}
	assert_int_equal(tcp_stack_stats(T.s)->connections, 1);
	tcp_abort(c);
	tcp_listener_close(l);
}

static void test_ipv6_link_local(void **state)
{
	T.mtu = 1420;
	struct tcp_endpoint l = { .port = 50000 }, r = { .port = 179, .scope_id = 7 };
	assert_int_equal(ip_addr_parse("fe80::1", &l.addr), 0);
	assert_int_equal(ip_addr_parse("fe80::2", &r.addr), 0);
	struct tcp_conn *c;
	struct tcp_endpoint r0 = r;
	r0.scope_id = 0;
	assert_int_equal(tcp_connect(T.s, &l, &r0, NULL, &c), -EINVAL);   /* link-local needs a scope */
	assert_int_equal(tcp_connect(T.s, &l, &r, NULL, &c), 0);
	struct oseg o;
	assert_true(pop(&o));
	assert_int_equal(o.fam, AF_INET6);
	assert_int_equal(o.scope, 7);
	assert_int_equal(o.mss, 1360);   /* 1420 - 60 */
	struct peer p;
	peer_init(&p, "fe80::2", 179, "fe80::1", 50000);
	p.ack = o.seq + 1;
	/* the same addresses on another interface: not this connection */
	p.ifindex = 8;
	inject(mkseg(&p, p.seq, p.ack, F_SYN | F_ACK, 65535, syn_opts, sizeof(syn_opts), NULL, 0), 8);
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_RST);
	assert_int_equal(o.scope, 8);
	assert_int_equal(T.connected, 0);
	p.ifindex = 7;
	inject(mkseg(&p, p.seq, p.ack, F_SYN | F_ACK, 65535, syn_opts, sizeof(syn_opts), NULL, 0), 7);
	p.seq++;
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_ACK);
	assert_int_equal(o.scope, 7);
	assert_int_equal(T.connected, 1);
	struct tcp_endpoint le, re;
	tcp_conn_endpoints(c, &le, &re);
	assert_int_equal(re.scope_id, 7);
	psend(&p, F_ACK | F_PSH, "v6", 2);
	assert_true(pop(&o));
	assert_int_equal(o.ack, p.seq);
	char buf[4];
	assert_int_equal(tcp_recv(c, buf, sizeof(buf), NULL), 2);
	/* a v6 listener on any address, reached over link-local */
	struct tcp_endpoint any = { .port = 8080 };
	any.addr.family = AF_INET6;
	struct tcp_listener *lis;
	assert_int_equal(tcp_listen(T.s, &any, true, AF_INET6, 4, NULL, &lis), 0);
	struct peer q;
	peer_init(&q, "fe80::3", 41000, "fe80::1", 8080);
	q.ifindex = 9;
	inject(mkseg(&q, q.seq, 0, F_SYN, 65535, NULL, 0, NULL, 0), 9);
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_SYN | F_ACK);
	assert_int_equal(o.scope, 9);
	assert_int_equal(o.mss, 1360);
	assert_int_equal(o.ws, -1);          /* not offered by the peer: not sent */
	assert_false(o.sack_ok);
	q.seq++;
	q.ack = o.seq + 1;
	psend(&q, F_ACK, NULL, 0);
	struct tcp_conn *a = tcp_accept(lis);
	assert_non_null(a);
	tcp_conn_endpoints(a, &le, &re);
	assert_int_equal(re.scope_id, 9);
	assert_int_equal(re.port, 41000);
	tcp_abort(a);
	tcp_abort(c);
	tcp_listener_close(lis);
}

static void test_close_with_unread_data_resets(void **state)
{
	struct peer p;
	struct tcp_conn *c = open_active(&p, NULL);
	psend(&p, F_ACK, "unread", 6);
	struct oseg o;
	assert_true(pop(&o));
	tcp_close(c);
	assert_true(pop(&o));
	assert_int_equal(o.flags & F_RST, F_RST);
	assert_int_equal(T.closed, 0);
	advance_ms(1);
	assert_int_equal(tcp_stack_stats(T.s)->connections, 0);
}

static void test_malformed_options(void **state)
{
	struct tcp_endpoint ep = { .port = 179 };
	struct tcp_listener *l;
	assert_int_equal(ip_addr_parse("10.0.0.1", &ep.addr), 0);
	assert_int_equal(tcp_listen(T.s, &ep, false, AF_INET, 4, NULL, &l), 0);
	struct peer p;
	peer_init(&p, "10.0.0.2", 40000, "10.0.0.1", 179);
	static const uint8_t bad[][8] = {
		{ 2, 0, 0, 0, 0, 0, 0, 0 },          /* length 0 */
		{ 2, 40, 0, 0, 0, 0, 0, 0 },         /* past the end */
		{ 3, 3, 200, 1, 1, 1, 1, 0 },        /* wscale 200: clamped to 14 */
		{ 5, 7, 1, 2, 3, 4, 5, 0 },          /* odd SACK length */
		{ 1, 1, 1, 1, 1, 1, 1, 2 },          /* kind without a length byte */
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.mport = (uint16_t)(40000 + i);
		inject(mkseg(&p, p.seq, 0, F_SYN, 65535, bad[i], 8, NULL, 0), 0);
		struct oseg o;
		assert_true(pop(&o));
		assert_int_equal(o.flags, F_SYN | F_ACK);
	}
	/* data offset beyond the segment: dropped */
	struct pbuf *b = mkseg(&p, p.seq, 0, F_SYN, 65535, NULL, 0, NULL, 0);
	pbuf_data(b)[20 + 12] = 0xf0;
	inject(b, 0);
	expect_nothing();
	tcp_listener_close(l);
	drain_out();
}

static void test_simultaneous_open(void **state)
{
	struct tcp_conn *c;
	assert_int_equal(tl_tcp_connect(T.s, 50000, 179, NULL, &c), 0);
	struct oseg o;
	assert_true(pop(&o));
	uint32_t iss = o.seq;
	struct peer p;
	peer_init(&p, "10.0.0.2", 179, "10.0.0.1", 50000);
	/* the peer's SYN crosses ours */
	inject(mkseg(&p, p.seq, 0, F_SYN, 65535, syn_opts, sizeof(syn_opts), NULL, 0), 0);
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_SYN | F_ACK);
	assert_int_equal(o.seq, iss);
	assert_int_equal(o.ack, p.seq + 1);
	assert_int_equal(tcp_conn_state(c), TCP_SYN_RECEIVED);
	/* its SYN-ACK arrives */
	inject(mkseg(&p, p.seq, iss + 1, F_SYN | F_ACK, 65535, syn_opts, sizeof(syn_opts), NULL, 0), 0);
	p.seq++;
	assert_int_equal(tcp_conn_state(c), TCP_ESTABLISHED);
	assert_int_equal(T.connected, 1);
	assert_int_equal(T.connect_err, 0);
	tcp_abort(c);
}

/* Nothing may fire on an idle connection (no keepalive); its memory is the TCB only. */
static void test_idle_connection(void **state)
{
	struct peer p;
	struct tcp_conn *c = open_active(&p, NULL);
	static uint8_t buf[20000];
	fill(buf, sizeof(buf), 0);
	assert_int_equal(tcp_send(c, buf, sizeof(buf)), (long)sizeof(buf));
	struct oseg o;
	uint32_t top = 0;
	while (pop(&o))
		top = o.seq + o.dlen;
	p.ack = top;
	psend(&p, F_ACK, NULL, 0);
	while (pop(&o))
		top = o.seq + o.dlen;
	p.ack = top;
	psend(&p, F_ACK | F_PSH, buf, 1000);
	uint8_t sink[2000];
	assert_int_equal(tcp_recv(c, sink, sizeof(sink), NULL), 1000);
	advance_ms(1000);
	drain_out();
	assert_int_equal(tcp_send_space(c), 256 * 1024);
	assert_true(loop_next_timer_in(&T.loop) == UINT64_MAX);
	size_t mem = tcp_conn_memory(c);
	print_message("idle established connection: %zu bytes\n", mem);
	assert_true(mem <= 1024);
	tcp_abort(c);
	/* a TIME-WAIT connection costs the same TCB and one timer */
	assert_true(loop_next_timer_in(&T.loop) == UINT64_MAX);
}

static void test_listener_close_resets_queue(void **state)
{
	struct peer p;
	struct tcp_listener *l;
	struct tcp_endpoint ep = { .port = 179 };
	assert_int_equal(ip_addr_parse("10.0.0.1", &ep.addr), 0);
	assert_int_equal(tcp_listen(T.s, &ep, false, AF_INET, 1, NULL, &l), 0);
	peer_init(&p, "10.0.0.2", 40000, "10.0.0.1", 179);
	inject(mkseg(&p, p.seq, 0, F_SYN, 65535, NULL, 0, NULL, 0), 0);
	struct oseg o;
	assert_true(pop(&o));
	p.seq++;
	p.ack = o.seq + 1;
	psend(&p, F_ACK, NULL, 0);
	assert_int_equal(T.accept_ready, 1);
	/* backlog 1 is full: another SYN is dropped */
	struct peer q;
	peer_init(&q, "10.0.0.3", 40000, "10.0.0.1", 179);
	inject(mkseg(&q, q.seq, 0, F_SYN, 65535, NULL, 0, NULL, 0), 0);
	expect_nothing();
	assert_int_equal(tcp_stack_stats(T.s)->syn_backlog_drops, 1);
	tcp_listener_close(l);
	assert_true(pop(&o));
	assert_int_equal(o.flags & F_RST, F_RST);
	assert_int_equal(o.dport, 40000);
	advance_ms(1);
	assert_int_equal(tcp_stack_stats(T.s)->connections, 0);
	/* the port is closed now */
	inject(mkseg(&q, q.seq, 0, F_SYN, 65535, NULL, 0, NULL, 0), 0);
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_RST | F_ACK);
}

/* After close() the engine finishes alone: the FIN is retransmitted, FIN-WAIT-2 times out. */
static void test_orphan_fin_wait(void **state)
{
	struct peer p;
	struct tcp_conn *c = open_active(&p, NULL);
	tcp_close(c);
	struct oseg o;
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_FIN | F_ACK);
	uint32_t fin = o.seq;
	uint64_t w = wait_output(5000);   /* lost: again after the RTO */
	assert_true(w >= 300 && w <= 302);
	assert_true(pop(&o));
	assert_int_equal(o.flags, F_FIN | F_ACK);
	assert_int_equal(o.seq, fin);
	p.ack = fin + 1;
	psend(&p, F_ACK, NULL, 0);          /* FIN-WAIT-2; the peer never closes */
	assert_int_equal(tcp_stack_stats(T.s)->connections, 1);
	/* data after close(): nobody reads it, RST (and the TCB is gone) */
	psend(&p, F_ACK, "late", 4);
	assert_true(pop(&o));
	assert_int_equal(o.flags & F_RST, F_RST);
	advance_ms(1);
	assert_int_equal(tcp_stack_stats(T.s)->connections, 0);
	assert_int_equal(T.closed, 0);

	/* a second one that just sits in FIN-WAIT-2: gone after 60 s */
	assert_int_equal(tl_tcp_connect(T.s, 50001, 179, NULL, &c), 0);
	assert_true(pop(&o));
	struct peer q;
	peer_init(&q, "10.0.0.2", 179, "10.0.0.1", 50001);
	q.ack = o.seq + 1;
	inject(mkseg(&q, q.seq, q.ack, F_SYN | F_ACK, 65535, NULL, 0, NULL, 0), 0);
	q.seq++;
	assert_true(pop(&o));
	tcp_close(c);
	assert_true(pop(&o));
	q.ack = o.seq + 1;
	psend(&q, F_ACK, NULL, 0);
	for (int i = 0; i < 59; i++)
		advance_ms(1000);
	assert_int_equal(tcp_stack_stats(T.s)->connections, 1);
	advance_ms(2000);
	assert_int_equal(tcp_stack_stats(T.s)->connections, 0);
	expect_nothing();
}

/* After a timeout the sender goes back to snd_una but skips what the peer SACKed. */
static void test_rto_skips_sacked(void **state)
{
	struct peer p;
	struct tcp_conn *c = open_active(&p, NULL);
	static uint8_t buf[1460 * 4];
	fill(buf, sizeof(buf), 0);
	assert_int_equal(tcp_send(c, buf, sizeof(buf)), (long)sizeof(buf));
	struct oseg o;
	uint32_t first = 0;
	for (int i = 0; i < 4; i++) {
		assert_true(pop(&o));
		if (!i)
			first = o.seq;
	}
	/* segments 1 and 3 lost, 2 and 4 SACKed: only one dup ACK, no fast retransmit */
	uint8_t sk[20] = { 1, 1, 5, 18 };
	uint32_t v[4] = { htonl(first + 1460), htonl(first + 2920), htonl(first + 4380), htonl(first + 5840) };
	memcpy(sk + 4, v, 16);
	inject(mkseg(&p, p.seq, first, F_ACK, p.wnd, sk, sizeof(sk), NULL, 0), 0);
	expect_nothing();
	wait_output(5000);
	assert_true(pop(&o));
	assert_int_equal(o.seq, first);
	assert_int_equal(tcp_stack_stats(T.s)->timeouts, 1);
	p.ack = first + 1460;
	uint8_t sk2[12] = { 1, 1, 5, 10 };
	memcpy(sk2 + 4, v + 2, 8);
	inject(mkseg(&p, p.seq, p.ack, F_ACK, p.wnd, sk2, sizeof(sk2), NULL, 0), 0);
	/* next: segment 3 (2 was SACKed and is skipped), nothing else */
	assert_true(pop(&o));
	assert_int_equal(o.seq, first + 2920);
	assert_int_equal(o.dlen, 1460);
	expect_nothing();
	tcp_abort(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_passive_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_active_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rst_closed_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_in_order_and_ooo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delayed_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rto_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fast_retransmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_window_persist, setup, teardown),
		cmocka_unit_test_setup_teardown(test_active_close_time_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passive_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simultaneous_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rst_window_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_min_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syn_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_link_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_with_unread_data_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simultaneous_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listener_close_resets_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orphan_fin_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rto_skips_sacked, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
