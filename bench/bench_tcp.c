/*
 * TCP engine cost on one core: two tcp_stacks back to back (a FIFO, no
 * loss, manual clock advanced 1 ms per round), one bulk transfer; and the
 * cost of answering a SYN flood with cookies. Wall-clock time, so it is the
 * CPU the engine (checksums and copies included) needs per byte and per SYN.
 * Output lines are "name value". Usage: bench_tcp [megabytes, default 256]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/loop.h"
#include "core/pbuf.h"
#include "crypto/crypto.h"
#include "ip/addr.h"
#include "ip/checksum.h"
#include "ip/packet.h"
#include "stack/tcp.h"

#include "bench_common.h"

struct side {
	struct tcp_stack *s;
	struct tcp_conn *c;
	int idx;
};

static struct side sides[2];
static struct pbuf_queue wire[2];   /* wire[i]: packets to side i */
static uint64_t synacks;

static void b_output(void *ctx, struct pbuf *b, uint32_t scope)
{
	struct side *sd = ctx;
	if (!sd) {   /* the flood stack: count and drop */
		synacks++;
		pbuf_free(b);
		return;
	}
	pbuf_queue_push(&wire[!sd->idx], b);
}
static uint16_t b_mtu(void *ctx, const struct tcp_endpoint *dst) { return 1500; }
static void b_accept(void *ctx, struct tcp_listener *l)
{
	struct side *sd = ctx;
	struct tcp_conn *c;
	while ((c = tcp_accept(l))) {
		if (sd)
			sd->c = c;
		else
			tcp_abort(c);
	}
}
static void b_nop(void *ctx, struct tcp_conn *c) {}
static void b_connected(void *ctx, struct tcp_conn *c, int err) {}
static void b_closed(void *ctx, struct tcp_conn *c, int err) { tcp_release(c); }

static const struct tcp_ops ops = {
	.output = b_output, .path_mtu = b_mtu, .on_accept_ready = b_accept,
	.on_connected = b_connected, .on_readable = b_nop, .on_writable = b_nop,
	.on_closed = b_closed,
};

static void deliver(struct loop *loop)
{
	for (int i = 0; i < 2; i++) {
		struct pbuf *b;
		while ((b = pbuf_queue_pop(&wire[i]))) {
			struct ip_packet pkt;
			if (ip_packet_parse(b, &pkt) < 0)
				bench_die("bad packet on the wire");
			tcp_input(sides[i].s, b, &pkt, 1);
		}
	}
	(void)loop;
}

static void bench_bulk(uint64_t bytes)
{
	struct loop loop;
	if (loop_init(&loop) < 0)
		bench_die("loop_init");
	loop_use_manual_clock(&loop, 1000 * NSEC_PER_SEC);
	for (int i = 0; i < 2; i++) {
		sides[i].idx = i;
		pbuf_queue_init(&wire[i]);
		if (!(sides[i].s = tcp_stack_new(&loop, &ops, &sides[i])))
			bench_die("tcp_stack_new");
	}
	struct tcp_endpoint a = { .port = 40000 }, b = { .port = 5201 };
	ip_addr_parse("172.20.1.1", &a.addr);
	ip_addr_parse("172.20.2.2", &b.addr);
	struct tcp_listener *l;
	if (tcp_listen(sides[1].s, &b, false, AF_INET, 4, NULL, &l) < 0 ||
	    tcp_connect(sides[0].s, &a, &b, NULL, &sides[0].c) < 0)
		bench_die("open");
	static uint8_t buf[65536];
	memset(buf, 0xa5, sizeof(buf));
	uint64_t sent = 0, recvd = 0;
	double t0 = bench_now();
	uint64_t rounds = 0;
	while (recvd < bytes) {
		deliver(&loop);
		if (sides[0].c && sent < bytes) {
			long n = tcp_send(sides[0].c, buf, sent + sizeof(buf) > bytes ? bytes - sent : sizeof(buf));
			if (n > 0)
				sent += (uint64_t)n;
		}
		if (sides[1].c) {
			size_t n;
			while ((n = tcp_recv(sides[1].c, buf, sizeof(buf), NULL)) > 0)
				recvd += n;
		}
		loop_set_time(&loop, loop_now(&loop) + NSEC_PER_MSEC);
		if (++rounds > 100000000)
			bench_die("no progress");
	}
	double dt = bench_now() - t0;
	const struct tcp_stats *st = tcp_stack_stats(sides[0].s), *rt = tcp_stack_stats(sides[1].s);
	printf("tcp_bulk_gbit_per_s %.2f\n", bytes * 8.0 / dt / 1e9);
	printf("tcp_bulk_segments %llu\n", (unsigned long long)(st->segments_out + rt->segments_out));
	printf("tcp_bulk_ns_per_segment %.0f\n", dt * 1e9 / (double)(st->segments_out + rt->segments_out));
	tcp_abort(sides[0].c);
	tcp_abort(sides[1].c);
	tcp_listener_close(l);
	deliver(&loop);
	for (int i = 0; i < 2; i++)
		tcp_stack_free(sides[i].s);
	pbuf_queue_purge(&wire[0]);
	pbuf_queue_purge(&wire[1]);
	loop_free(&loop);
}

static void bench_flood(unsigned n)
{
	struct loop loop;
	if (loop_init(&loop) < 0)
		bench_die("loop_init");
	loop_use_manual_clock(&loop, 1000 * NSEC_PER_SEC);
	struct tcp_stack *s = tcp_stack_new(&loop, &ops, NULL);
	if (!s)
		bench_die("tcp_stack_new");
	struct tcp_endpoint ep = { .port = 179 };
	ip_addr_parse("10.0.0.1", &ep.addr);
	struct tcp_listener *l;
	if (tcp_listen(s, &ep, false, AF_INET, 128, NULL, &l) < 0)
		bench_die("listen");
	uint8_t tmpl[44] = { 0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 6, 0, 0, 100, 0, 0, 0, 10, 0, 0, 1 };
	uint8_t *th = tmpl + 20;
	th[2] = 0; th[3] = 179;
	th[12] = 6 << 4;
	th[13] = 0x02;
	th[14] = th[15] = 0xff;
	const uint8_t opt[] = { 2, 4, 5, 0xb4 };
	memcpy(th + 20, opt, 4);
	uint32_t x = 12345;
	double t0 = bench_now();
	for (unsigned i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		tmpl[13] = (uint8_t)(x >> 8); tmpl[14] = (uint8_t)(x >> 16); tmpl[15] = (uint8_t)(x >> 24);
		th[0] = (uint8_t)(x >> 3); th[1] = (uint8_t)(x >> 11) | 4;
		memcpy(th + 4, &x, 4);
		tmpl[10] = tmpl[11] = 0;
		uint16_t ck = csum_fold(csum_partial(tmpl, 20, 0));
		memcpy(tmpl + 10, &ck, 2);
		th[16] = th[17] = 0;
		ck = csum_fold(csum_partial(th, 24, csum_pseudo_v4(tmpl + 12, tmpl + 16, 6, 24)));
		memcpy(th + 16, &ck, 2);
		struct pbuf *b = pbuf_alloc();
		if (!b)
			bench_die("pbuf_alloc");
		memcpy(pbuf_put(b, sizeof(tmpl)), tmpl, sizeof(tmpl));
		struct ip_packet pkt;
		if (ip_packet_parse(b, &pkt) < 0)
			bench_die("parse");
		tcp_input(s, b, &pkt, 1);
	}
	double dt = bench_now() - t0;
	printf("tcp_synflood_syns_per_s %.0f\n", n / dt);
	printf("tcp_synflood_live_connections %u\n", tcp_stack_stats(s)->connections);
	printf("tcp_synflood_synacks %llu\n", (unsigned long long)synacks);
	tcp_listener_close(l);
	loop_set_time(&loop, loop_now(&loop) + 1);
	tcp_stack_free(s);
	loop_free(&loop);
}

int main(int argc, char **argv)
{
	uint64_t mb = argc > 1 ? strtoull(argv[1], NULL, 10) : 256;
	if (crypto_init() < 0)
		bench_die("crypto_init");
	bench_bulk(mb * 1024 * 1024);
	bench_flood(200000);
	return 0;
}
