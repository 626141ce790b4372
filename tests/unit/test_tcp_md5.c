/*
 * TCP MD5 signatures (RFC 2385) in the engine, TCP_USER_TIMEOUT, TCP_CORK,
 * TCP_MAXSEG and the TCP_INFO numbers. A hand-built peer feeds segments to tcp_input under a
 * manual clock; every signature the engine emits is checked against a
 * reference computed here, from the RFC's recipe, by concatenating the
 * pseudo-header, the option-less header, the data and the key and hashing
 * that buffer with OpenSSL's one-shot MD5 (no code shared with tcp_md5.c).
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

#include <openssl/evp.h>

#include "core/loop.h"
#include "core/pbuf.h"
#include "crypto/crypto.h"
#include "ip/addr.h"
#include "ip/checksum.h"
#include "ip/packet.h"
#include "stack/tcp.h"
#include "stack/tcp_md5.h"
#include "testlib.h"

#define T0 (1000 * NSEC_PER_SEC)
#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

/* ---- the reference (RFC 2385 section 2.0, literally) ---- */

static void ref_md5(const struct ip_addr *src, const struct ip_addr *dst, const uint8_t *th, size_t tl,
		    const char *key, uint8_t out[16])
{
	static uint8_t buf[40 + 20 + 65536 + 80];
	size_t n = 0, doff = (size_t)(th[12] >> 4) * 4;
	/* source, destination, then ... */
	size_t alen = src->family == AF_INET ? 4 : 16;
	memcpy(buf + n, src->bytes, alen); n += alen;
	memcpy(buf + n, dst->bytes, alen); n += alen;
	if (src->family == AF_INET) {
		/* ... zero, protocol, segment length */
		buf[n++] = 0;
		buf[n++] = 6;
		buf[n++] = (uint8_t)(tl >> 8);
		buf[n++] = (uint8_t)tl;
	} else {
		/* ... 32-bit upper-layer length, 3 zero bytes, next header */
		buf[n++] = 0;
		buf[n++] = 0;
		buf[n++] = (uint8_t)(tl >> 8);
		buf[n++] = (uint8_t)tl;
		buf[n++] = 0; buf[n++] = 0; buf[n++] = 0;
		buf[n++] = 6;
	}
	memcpy(buf + n, th, 20);   /* the header without options ... */
	buf[n + 16] = buf[n + 17] = 0;   /* ... and with a zero checksum */
	n += 20;
	memcpy(buf + n, th + doff, tl - doff);
	n += tl - doff;
	memcpy(buf + n, key, strlen(key));
	n += strlen(key);
	unsigned int len = 0;
	assert_int_equal(EVP_Digest(buf, n, out, &len, EVP_md5(), NULL), 1);
	assert_int_equal(len, 16);
}

/* ---- the harness ---- */

static struct {
	struct loop loop;
	struct tcp_stack *s;
	struct pbuf *out[256];
	unsigned nout, head;
	int accept_ready, connected, connect_err, closed, closed_err;
} T;

static void o_output(void *ctx, struct pbuf *b, uint32_t scope)
{
	if (T.nout == 256) {
		pbuf_free(b);
		return;
	}
	T.out[T.nout++] = b;
}
static uint16_t o_mtu(void *ctx, const struct tcp_endpoint *dst) { return 1500; }
static void o_accept(void *ctx, struct tcp_listener *l) { T.accept_ready++; }
static void o_connected(void *ctx, struct tcp_conn *c, int err)
{
	T.connected++;
	T.connect_err = err;
}
static void o_readable(void *ctx, struct tcp_conn *c) {}
static void o_writable(void *ctx, struct tcp_conn *c) {}
static void o_closed(void *ctx, struct tcp_conn *c, int err)
{
	T.closed++;
	T.closed_err = err;
	tcp_release(c);
}

static const struct tcp_ops ops = {
	.output = o_output, .path_mtu = o_mtu, .on_accept_ready = o_accept,
	.on_connected = o_connected, .on_readable = o_readable, .on_writable = o_writable,
	.on_closed = o_closed,
};

static int setup(void **state)
{
	assert_int_equal(crypto_init(), 0);
	memset(&T, 0, sizeof(T));
	assert_int_equal(loop_init(&T.loop), 0);
	loop_use_manual_clock(&T.loop, T0);
	T.s = tcp_stack_new(&T.loop, &ops, NULL);
	assert_non_null(T.s);
	return 0;
}

static int teardown(void **state)
{
	for (unsigned i = T.head; i < T.nout; i++)
		pbuf_free(T.out[i]);
	tcp_stack_free(T.s);
	loop_free(&T.loop);
	return 0;
}

static void advance_ms(uint64_t ms)
{
	loop_set_time(&T.loop, loop_now(&T.loop) + ms * NSEC_PER_MSEC);
}

struct peer {
	struct ip_addr me, them;   /* me: the test peer; them: the stack */
	uint16_t mport, tport;
	uint32_t seq, ack;
	const char *key;           /* sign with this; NULL: unsigned */
};

static void peer_init(struct peer *p, const char *me, uint16_t mport, const char *them, uint16_t tport,
		      const char *key)
{
	memset(p, 0, sizeof(*p));
	assert_int_equal(ip_addr_parse(me, &p->me), 0);
	assert_int_equal(ip_addr_parse(them, &p->them), 0);
	p->mport = mport;
	p->tport = tport;
	p->seq = 0x10000000;
	p->key = key;
}

/* A segment from the peer: SYNs carry MSS 1460 + SACK-permitted; signed with p->key if set. */
static void psend(struct peer *p, uint8_t flags, const void *data, size_t dlen)
{
	bool v4 = p->me.family == AF_INET;
	size_t iphl = v4 ? 20 : 40, olen = 0;
	uint8_t opt[40];
	if (p->key) {
		static const uint8_t sig[4] = { 1, 1, 19, 18 };
		memcpy(opt, sig, 4);
		memset(opt + 4, 0, 16);
		olen = 20;
	}
	if (flags & F_SYN) {
		static const uint8_t so[8] = { 2, 4, 0x05, 0xb4, 1, 1, 4, 2 };
		memcpy(opt + olen, so, 8);
		olen += 8;
	}
	size_t tl = 20 + olen + dlen;
	struct pbuf *b = pbuf_alloc();
	assert_non_null(b);
	uint8_t *ip = pbuf_put(b, iphl + tl);
	assert_non_null(ip);
	struct tl_ip h = { v4 ? AF_INET : AF_INET6, p->me.bytes, p->them.bytes, .proto = IPPROTO_TCP,
			   .ttl = 64 };
	tl_ip_header(ip, &h, tl);
	uint8_t *th = ip + iphl;
	memset(th, 0, 20);
	put16(th, p->mport);
	put16(th + 2, p->tport);
	uint32_t v = htonl(p->seq);
	memcpy(th + 4, &v, 4);
	v = htonl((flags & F_ACK) ? p->ack : 0);
	memcpy(th + 8, &v, 4);
	th[12] = (uint8_t)(((20 + olen) / 4) << 4);
	th[13] = flags;
	put16(th + 14, 65535);
	memcpy(th + 20, opt, olen);
	if (dlen)
		memcpy(th + 20 + olen, data, dlen);
	if (p->key)
		ref_md5(&p->me, &p->them, th, tl, p->key, th + 24);
	uint32_t sum = v4 ? csum_pseudo_v4(p->me.bytes, p->them.bytes, IPPROTO_TCP, (uint32_t)tl)
			  : csum_pseudo_v6(p->me.bytes, p->them.bytes, IPPROTO_TCP, (uint32_t)tl);
	uint16_t ck = csum_fold(csum_partial(th, tl, sum));
	memcpy(th + 16, &ck, 2);
	struct ip_packet pkt;
	assert_int_equal(ip_packet_parse(b, &pkt), 0);
	tcp_input(T.s, b, &pkt, 0);
	p->seq += (uint32_t)dlen + ((flags & F_SYN) ? 1 : 0) + ((flags & F_FIN) ? 1 : 0);
}

struct oseg {
	uint8_t flags;
	uint32_t seq, ack, dlen;
	uint16_t sport;
	int mss;
	bool signed_ok, has_sig;
	unsigned optlen;
};

/*
 * Pops the next emitted segment. key: the signature it must carry (checked
 * against the reference), NULL: it must carry none.
 */
static bool pop(struct oseg *o, const char *key)
{
	if (T.head == T.nout)
		return false;
	struct pbuf *b = T.out[T.head++];
	struct ip_packet pkt;
	assert_int_equal(ip_packet_parse(b, &pkt), 0);
	uint8_t *th = pkt.hdr + pkt.hdr_len;
	size_t tl = pkt.total_len - pkt.hdr_len;
	size_t doff = (size_t)(th[12] >> 4) * 4;
	memset(o, 0, sizeof(*o));
	o->flags = th[13];
	o->seq = ntohl(*(uint32_t *)(void *)(th + 4));
	o->ack = ntohl(*(uint32_t *)(void *)(th + 8));
	o->sport = get16(th);
	o->dlen = (uint32_t)(tl - doff);
	o->optlen = (unsigned)(doff - 20);
	o->mss = -1;
	const uint8_t *sig = NULL;
	for (size_t i = 20; i < doff;) {
		if (th[i] == 0)
			break;
		if (th[i] == 1) {
			i++;
			continue;
		}
		assert_true(i + 1 < doff && th[i + 1] >= 2 && i + th[i + 1] <= doff);
		if (th[i] == 2)
			o->mss = get16(th + i + 2);
		if (th[i] == 19) {
			assert_int_equal(th[i + 1], 18);
			sig = th + i + 2;
		}
		i += th[i + 1];
	}
	/* the checksum covers the signature too */
	uint32_t sum = pkt.family == AF_INET ? csum_pseudo_v4(pkt.src.bytes, pkt.dst.bytes, IPPROTO_TCP, (uint32_t)tl)
					     : csum_pseudo_v6(pkt.src.bytes, pkt.dst.bytes, IPPROTO_TCP, (uint32_t)tl);
	assert_int_equal(csum_fold(csum_partial(th, tl, sum)), 0);
	o->has_sig = sig != NULL;
	if (key) {
		assert_non_null(sig);
		uint8_t want[16];
		ref_md5(&pkt.src, &pkt.dst, th, tl, key, want);
		assert_memory_equal(sig, want, 16);
		o->signed_ok = true;
	} else {
		assert_null(sig);
	}
	pbuf_free(b);
	return true;
}

/* Pops segments until one with data (pure ACKs in between are checked the same way). */
static bool pop_data(struct oseg *o, const char *key)
{
	while (pop(o, key))
		if (o->dlen)
			return true;
	return false;
}

static void expect_nothing(void)
{
	struct oseg o;
	assert_true(T.head == T.nout);
	(void)o;
}

static void keyset_add(struct tcp_md5_keyset *ks, const char *addr, unsigned plen, const char *key)
{
	struct ip_addr a;
	assert_int_equal(ip_addr_parse(addr, &a), 0);
	assert_int_equal(tcp_md5_keyset_set(ks, &a, plen, 0, (const uint8_t *)key, strlen(key)), 0);
}

/* ---- key sets ---- */

static void test_keyset(void **state)
{
	struct tcp_md5_keyset ks = { 0 };
	struct ip_addr a, b;
	assert_int_equal(ip_addr_parse("10.1.2.3", &a), 0);
	assert_null(tcp_md5_keyset_lookup(&ks, &a, 0));
	keyset_add(&ks, "10.1.0.0", 16, "wide");
	keyset_add(&ks, "10.1.2.3", 32, "narrow");
	const struct tcp_md5_key *k = tcp_md5_keyset_lookup(&ks, &a, 0);
	assert_non_null(k);
	assert_memory_equal(k->key, "narrow", 6);   /* the longest prefix */
	assert_int_equal(ip_addr_parse("10.1.9.9", &b), 0);
	k = tcp_md5_keyset_lookup(&ks, &b, 0);
	assert_non_null(k);
	assert_memory_equal(k->key, "wide", 4);
	/* host bits past the prefix are ignored, as Linux masks them */
	keyset_add(&ks, "10.1.255.255", 16, "WIDE");
	assert_int_equal(ks.n, 2);
	assert_memory_equal(tcp_md5_keyset_lookup(&ks, &b, 0)->key, "WIDE", 4);
	/* delete: keylen 0; deleting what is not there is ENOENT */
	assert_int_equal(tcp_md5_keyset_set(&ks, &a, 32, 0, NULL, 0), 0);
	assert_memory_equal(tcp_md5_keyset_lookup(&ks, &a, 0)->key, "WIDE", 4);
	assert_int_equal(tcp_md5_keyset_set(&ks, &a, 32, 0, NULL, 0), -ENOENT);
	/* other family, too long a key, too long a prefix */
	struct ip_addr v6;
	assert_int_equal(ip_addr_parse("fd00::1", &v6), 0);
	assert_null(tcp_md5_keyset_lookup(&ks, &v6, 0));
	uint8_t big[81] = { 0 };
	assert_int_equal(tcp_md5_keyset_set(&ks, &v6, 128, 0, big, 81), -EINVAL);
	assert_int_equal(tcp_md5_keyset_set(&ks, &a, 33, 0, big, 8), -EINVAL);
	/* an interface-bound key matches only there */
	assert_int_equal(ip_addr_parse("fe80::1", &v6), 0);
	assert_int_equal(tcp_md5_keyset_set(&ks, &v6, 128, 7, (const uint8_t *)"ll", 2), 0);
	assert_null(tcp_md5_keyset_lookup(&ks, &v6, 8));
	assert_non_null(tcp_md5_keyset_lookup(&ks, &v6, 7));
	/* the RFC's option: found, or absent when malformed */
	uint8_t th[40] = { 0 };
	th[12] = 10 << 4;
	th[20] = 1; th[21] = 1; th[22] = 19; th[23] = 18;
	assert_ptr_equal(tcp_md5_find(th, 40), th + 24);
	th[23] = 17;
	assert_null(tcp_md5_find(th, 40));
	th[23] = 30;   /* runs past the header */
	assert_null(tcp_md5_find(th, 40));
	tcp_md5_keyset_clear(&ks);
	assert_int_equal(ks.n, 0);
}

/* ---- active open, IPv4: everything signed, every bad segment dropped ---- */

static void test_active_v4(void **state)
{
	const char *key = "dn42-bgp-password";
	struct tcp_md5_keyset ks = { 0 };
	keyset_add(&ks, "10.0.0.2", 32, key);
	struct tcp_options opt = { .md5 = &ks };
	struct tcp_conn *c;
	assert_int_equal(tl_tcp_connect(T.s, 0, 179, &opt, &c), 0);
	tcp_md5_keyset_clear(&ks);   /* the connection has its own copy */
	struct oseg o;
	assert_true(pop(&o, key));   /* the SYN is signed */
	assert_int_equal(o.flags, F_SYN);
	assert_int_equal(o.mss, 1460);   /* the MSS announced is not reduced */
	struct peer p;
	peer_init(&p, "10.0.0.2", 179, "10.0.0.1", o.sport, key);
	p.ack = o.seq + 1;
	/* an unsigned SYN-ACK: dropped, no RST, still connecting */
	p.key = NULL;
	psend(&p, F_SYN | F_ACK, NULL, 0);
	p.seq--;
	expect_nothing();
	assert_int_equal(T.connected, 0);
	assert_int_equal(tcp_stack_stats(T.s)->md5_not_found, 1);
	/* signed with the wrong password: dropped */
	p.key = "wrong";
	psend(&p, F_SYN | F_ACK, NULL, 0);
	p.seq--;
	expect_nothing();
	assert_int_equal(tcp_stack_stats(T.s)->md5_failure, 1);
	/* the right one */
	p.key = key;
	psend(&p, F_SYN | F_ACK, NULL, 0);
	assert_int_equal(T.connected, 1);
	assert_true(pop(&o, key));
	assert_int_equal(o.flags, F_ACK);
	/* data both ways; data segments leave room for the 20 option bytes */
	static uint8_t buf[3000];
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(tcp_send(c, buf, sizeof(buf)), (long)sizeof(buf));
	assert_true(pop(&o, key));
	assert_int_equal(o.dlen, 1460 - 20);
	assert_int_equal(o.optlen, 20);
	assert_true(pop(&o, key));
	assert_true(pop(&o, key));
	assert_int_equal(o.dlen, 3000 - 2 * 1440);
	p.ack += 3000;
	psend(&p, F_ACK | F_PSH, "OPEN", 4);
	uint8_t rb[16];
	bool eof;
	assert_int_equal(tcp_recv(c, rb, sizeof(rb), &eof), 4);
	/* an unsigned data segment is not taken */
	p.key = NULL;
	psend(&p, F_ACK | F_PSH, "EVIL", 4);
	p.seq -= 4;
	assert_int_equal(tcp_recv(c, rb, sizeof(rb), &eof), 0);
	assert_int_equal(tcp_stack_stats(T.s)->md5_not_found, 2);
	/* nor an unsigned RST */
	psend(&p, F_RST | F_ACK, NULL, 0);
	assert_int_equal(tcp_conn_state(c), TCP_ESTABLISHED);
	assert_int_equal(T.closed, 0);
	/* the delayed ACK for "OPEN" is signed; then our RST on abort */
	advance_ms(500);
	while (pop(&o, key))
		;
	tcp_abort(c);
	assert_true(pop(&o, key));
	assert_true(o.flags & F_RST);
}

/* ---- passive open, IPv6, a prefix key (TCP_MD5SIG_EXT), SYN cookies ---- */

static void test_passive_v6_prefix(void **state)
{
	const char *key = "v6-secret";
	struct tcp_md5_keyset ks = { 0 };
	keyset_add(&ks, "fd00:1::", 64, key);
	struct tcp_endpoint ep = { .port = 179 };
	assert_int_equal(ip_addr_parse("fd00:1::1", &ep.addr), 0);
	struct tcp_options opt = { .md5 = &ks };
	struct tcp_listener *lis;
	assert_int_equal(tcp_listen(T.s, &ep, false, AF_INET6, 8, &opt, &lis), 0);
	tcp_md5_keyset_clear(&ks);
	/* a peer in the prefix, unsigned: dropped without an answer */
	struct peer p;
	peer_init(&p, "fd00:1::5", 40000, "fd00:1::1", 179, NULL);
	psend(&p, F_SYN, NULL, 0);
	expect_nothing();
	assert_int_equal(tcp_stack_stats(T.s)->md5_not_found, 1);
	/* signed: a signed SYN-ACK, the handshake completes, the connection is signed */
	p.seq = 0x20000000;
	p.key = key;
	psend(&p, F_SYN, NULL, 0);
	struct oseg o;
	assert_true(pop(&o, key));
	assert_int_equal(o.flags, F_SYN | F_ACK);
	p.ack = o.seq + 1;
	psend(&p, F_ACK, "hello", 5);
	assert_int_equal(T.accept_ready, 1);
	struct tcp_conn *c = tcp_accept(lis);
	assert_non_null(c);
	assert_int_equal(tcp_send(c, "world", 5), 5);
	assert_true(pop_data(&o, key));
	assert_int_equal(o.dlen, 5);
	p.ack += 5;
	psend(&p, F_ACK, NULL, 0);   /* Nagle would hold the next small write */
	/* tcp_set_options without keys keeps the connection's key */
	struct tcp_options none = { 0 };
	tcp_set_options(c, &none);
	assert_int_equal(tcp_send(c, "again", 5), 5);
	assert_true(pop_data(&o, key));
	/* a peer outside the prefix, unsigned: an ordinary, unsigned handshake */
	struct peer q;
	peer_init(&q, "fd00:2::5", 40001, "fd00:1::1", 179, NULL);
	psend(&q, F_SYN, NULL, 0);
	assert_true(pop(&o, NULL));
	assert_int_equal(o.flags, F_SYN | F_ACK);
	/* ... and signed: Linux drops a signature it has no key for */
	struct peer r;
	peer_init(&r, "fd00:3::5", 40002, "fd00:1::1", 179, "stray");
	psend(&r, F_SYN, NULL, 0);
	expect_nothing();
	assert_int_equal(tcp_stack_stats(T.s)->md5_unexpected, 1);
	/* SYN cookies sign their SYN-ACK too */
	tcp_stack_force_syncookies(T.s, true);
	struct peer s6;
	peer_init(&s6, "fd00:1::6", 40003, "fd00:1::1", 179, key);
	psend(&s6, F_SYN, NULL, 0);
	assert_true(pop(&o, key));
	assert_int_equal(o.flags, F_SYN | F_ACK);
	s6.ack = o.seq + 1;
	psend(&s6, F_ACK, NULL, 0);
	assert_int_equal(T.accept_ready, 2);
	struct tcp_conn *c2 = tcp_accept(lis);
	assert_non_null(c2);
	assert_int_equal(tcp_send(c2, "x", 1), 1);
	assert_true(pop(&o, key));
	/* keys removed from the listener: a signed SYN is now unexpected */
	assert_int_equal(tcp_listener_set_md5(lis, NULL), 0);
	tcp_stack_force_syncookies(T.s, false);
	struct peer s7;
	peer_init(&s7, "fd00:1::7", 40004, "fd00:1::1", 179, key);
	psend(&s7, F_SYN, NULL, 0);
	expect_nothing();
	assert_int_equal(tcp_stack_stats(T.s)->md5_unexpected, 2);
	tcp_abort(c);
	tcp_abort(c2);
	while (pop(&o, key))
		;
	tcp_listener_close(lis);
}

/* ---- no key anywhere: signed segments are dropped, even the RST for a closed port ---- */

static void test_signed_to_plain_socket(void **state)
{
	struct peer p;
	peer_init(&p, "10.0.0.2", 40000, "10.0.0.1", 80, "pw");
	psend(&p, F_SYN, NULL, 0);
	expect_nothing();   /* no listener, but signed: no RST either (Linux has no key to sign it) */
	p.key = NULL;
	psend(&p, F_SYN, NULL, 0);
	struct oseg o;
	assert_true(pop(&o, NULL));
	assert_int_equal(o.flags, F_RST | F_ACK);
	struct tcp_endpoint ep = { .port = 80 };
	assert_int_equal(ip_addr_parse("10.0.0.1", &ep.addr), 0);
	struct tcp_listener *lis;
	assert_int_equal(tcp_listen(T.s, &ep, false, AF_INET, 8, NULL, &lis), 0);
	p.key = "pw";
	psend(&p, F_SYN, NULL, 0);
	expect_nothing();
	assert_int_equal(tcp_stack_stats(T.s)->md5_unexpected, 2);
	tcp_listener_close(lis);
}

/*
 * The rest of the handshake of our connect to 10.0.0.2:rport, whose SYN is
 * *o: p becomes that peer and answers with a SYN-ACK; *o is then our ACK.
 */
static void peer_accepts(struct peer *p, uint16_t rport, struct oseg *o)
{
	peer_init(p, "10.0.0.2", rport, "10.0.0.1", o->sport, NULL);
	p->ack = o->seq + 1;
	psend(p, F_SYN | F_ACK, NULL, 0);
	assert_true(pop(o, NULL));
}

/* Our connect to 10.0.0.2:rport with opt, which p accepts: the connection; *syn is our SYN. */
static struct tcp_conn *connect_accepted(uint16_t rport, const struct tcp_options *opt,
					 struct peer *p, struct oseg *syn)
{
	struct tcp_conn *c;
	assert_int_equal(tl_tcp_connect(T.s, 0, rport, opt, &c), 0);
	assert_true(pop(syn, NULL));
	struct oseg ack = *syn;
	peer_accepts(p, rport, &ack);
	return c;
}

/* ---- TCP_USER_TIMEOUT ---- */

static void test_user_timeout(void **state)
{
	struct tcp_options opt = { .user_timeout_ms = 3000 };
	struct peer p;
	struct oseg o;
	struct tcp_conn *c = connect_accepted(179, &opt, &p, &o);
	assert_int_equal(tcp_send(c, "ping", 4), 4);
	uint64_t sent = loop_now(&T.loop);
	/* the peer never acknowledges: the connection ends 3 s later, not after 15 retries */
	for (int i = 0; i < 4000 && !T.closed; i++) {
		advance_ms(1);
		while (pop(&o, NULL))
			;
	}
	assert_int_equal(T.closed, 1);
	assert_int_equal(T.closed_err, ETIMEDOUT);
	uint64_t took = (loop_now(&T.loop) - sent) / NSEC_PER_MSEC;
	assert_true(took >= 3000 && took <= 3010);
}

/* ---- TCP_CORK ---- */

static void test_cork(void **state)
{
	struct tcp_options opt = { .cork = true, .nodelay = true };
	struct peer p;
	struct oseg o;
	struct tcp_conn *c = connect_accepted(80, &opt, &p, &o);
	/* corked: a header alone waits, even with TCP_NODELAY ... */
	static uint8_t buf[2000];
	memset(buf, 'h', sizeof(buf));
	assert_int_equal(tcp_send(c, buf, 300), 300);
	advance_ms(100);
	expect_nothing();
	/* ... a full segment goes, the rest waits ... */
	assert_int_equal(tcp_send(c, buf, 1500), 1500);
	assert_true(pop_data(&o, NULL));
	assert_int_equal(o.dlen, 1460);
	expect_nothing();
	/* ... and uncorking pushes it */
	opt.cork = false;
	tcp_set_options(c, &opt);
	assert_true(pop_data(&o, NULL));
	assert_int_equal(o.dlen, 300 + 1500 - 1460);
	tcp_abort(c);
}

/* ---- TCP_MAXSEG ---- */

static void test_user_mss(void **state)
{
	struct tcp_options opt = { .user_mss = 1000, .nodelay = true };
	struct peer p;
	struct oseg o;
	struct tcp_conn *c = connect_accepted(80, &opt, &p, &o);   /* the peer offers 1460 */
	assert_int_equal(o.mss, 1000);   /* announced in our SYN */
	static uint8_t buf[1500];
	assert_int_equal(tcp_send(c, buf, sizeof(buf)), (long)sizeof(buf));
	assert_true(pop_data(&o, NULL));
	assert_int_equal(o.dlen, 1000);   /* and used */
	struct tcp_conn_info ti;
	tcp_conn_info(c, &ti);
	assert_int_equal(ti.snd_mss, 1000);
	tcp_abort(c);
	/* a listener's SYN cookies announce it too */
	struct tcp_endpoint ep = { .port = 179 };
	assert_int_equal(ip_addr_parse("10.0.0.1", &ep.addr), 0);
	struct tcp_listener *lis;
	struct tcp_options lopt = { .user_mss = 600 };
	assert_int_equal(tcp_listen(T.s, &ep, false, AF_INET, 8, &lopt, &lis), 0);
	tcp_stack_force_syncookies(T.s, true);
	while (pop(&o, NULL))
		;
	peer_init(&p, "10.0.0.3", 40000, "10.0.0.1", 179, NULL);
	psend(&p, F_SYN, NULL, 0);
	assert_true(pop(&o, NULL));
	assert_int_equal(o.flags, F_SYN | F_ACK);
	assert_int_equal(o.mss, 600);
	tcp_listener_close(lis);
}

/* ---- TCP_INFO ---- */

static void test_conn_info(void **state)
{
	struct tcp_conn *c;
	assert_int_equal(tl_tcp_connect(T.s, 0, 179, NULL, &c), 0);
	struct tcp_conn_info ti;
	tcp_conn_info(c, &ti);
	assert_int_equal(ti.state, TCP_SYN_SENT);
	struct oseg o;
	assert_true(pop(&o, NULL));
	advance_ms(40);
	struct peer p;
	peer_accepts(&p, 179, &o);
	assert_int_equal(tcp_send(c, "0123456789", 10), 10);
	assert_true(pop(&o, NULL));
	advance_ms(40);
	p.ack += 10;
	psend(&p, F_ACK | F_PSH, "abc", 3);
	tcp_conn_info(c, &ti);
	assert_int_equal(ti.state, TCP_ESTABLISHED);
	assert_int_equal(ti.bytes_acked, 10);
	assert_int_equal(ti.bytes_received, 3);
	assert_int_equal(ti.unacked, 0);
	assert_true(ti.rtt_us >= 39000 && ti.rtt_us <= 41000);
	assert_int_equal(ti.snd_mss, 1460);
	assert_int_equal(ti.snd_cwnd, 10 * 1460);   /* RFC 6928; not cwnd-limited: no growth */
	assert_int_equal(ti.data_segs_out, 1);
	assert_int_equal(ti.data_segs_in, 1);
	assert_int_equal(ti.segs_in, 2);
	assert_int_equal(ti.total_retrans, 0);
	assert_false(ti.md5);
	assert_true(ti.sack);
	tcp_abort(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyset),
		cmocka_unit_test_setup_teardown(test_active_v4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passive_v6_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signed_to_plain_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cork, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_mss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_info, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
