/*
 * Generic netlink behind the shim (src/nl/genl.c, genl_wg.c): requests built
 * by hand the way wireguard-tools' mnlg builds them, fed through an rtnl
 * socket switched to NETLINK_GENERIC, replies parsed back here without
 * src/nl's own message code. The device is a real one (wg_device_create_empty).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/wireguard.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"
#include "crypto/crypto.h"
#include "ip/router.h"
#include "nl/rtnl.h"
#include "wg/device.h"

struct fx {
	struct loop loop;
	struct ip_router r;
	struct wg_device *dev;
	struct rtnl *nl;
	struct rtnl_sock *s;
	uint16_t wg_family;
	uint32_t seq;
};

/* ---- request building ---- */

struct req {
	uint8_t buf[65536];
	size_t len;
	size_t nest[8];
	int depth;
};

static void put(struct req *q, const void *d, size_t n)
{
	assert_true(q->len + NLA_ALIGN(n) <= sizeof(q->buf));
	if (d)
		memcpy(q->buf + q->len, d, n);
	else
		memset(q->buf + q->len, 0, n);
	memset(q->buf + q->len + n, 0, NLA_ALIGN(n) - n);
	q->len += NLA_ALIGN(n);
}

static void begin(struct req *q, uint16_t type, uint16_t flags, uint32_t seq, uint8_t cmd)
{
	q->len = 0;
	q->depth = 0;
	struct nlmsghdr h = { .nlmsg_type = type, .nlmsg_flags = flags, .nlmsg_seq = seq };
	put(q, &h, sizeof(h));
	struct genlmsghdr g = { .cmd = cmd, .version = 1 };
	put(q, &g, sizeof(g));
}

static void attr(struct req *q, uint16_t type, const void *d, size_t n)
{
	struct nlattr a = { .nla_len = (uint16_t)(NLA_HDRLEN + n), .nla_type = type };
	put(q, &a, sizeof(a));
	put(q, d, n);
}

static void attr_u16(struct req *q, uint16_t type, uint16_t v) { attr(q, type, &v, 2); }
static void attr_u32(struct req *q, uint16_t type, uint32_t v) { attr(q, type, &v, 4); }
static void attr_str(struct req *q, uint16_t type, const char *s) { attr(q, type, s, strlen(s) + 1); }

static void nest_begin(struct req *q, uint16_t type)
{
	q->nest[q->depth++] = q->len;
	struct nlattr a = { .nla_len = NLA_HDRLEN, .nla_type = type | NLA_F_NESTED };
	put(q, &a, sizeof(a));
}

static void nest_end(struct req *q)
{
	size_t off = q->nest[--q->depth];
	uint16_t len = (uint16_t)(q->len - off);
	memcpy(q->buf + off, &len, sizeof(len));
}

static void end(struct req *q)
{
	uint32_t len = (uint32_t)q->len;
	memcpy(q->buf, &len, sizeof(len));
}

static void allowed_ip(struct req *q, const char *text)
{
	struct ip_prefix p;
	assert_int_equal(ip_prefix_parse(text, &p), 0);
	nest_begin(q, 0);
	attr_u16(q, WGALLOWEDIP_A_FAMILY, p.addr.family);
	attr(q, WGALLOWEDIP_A_IPADDR, p.addr.bytes, p.addr.family == AF_INET ? 4 : 16);
	uint8_t cidr = p.len;
	attr(q, WGALLOWEDIP_A_CIDR_MASK, &cidr, 1);
	nest_end(q);
}

/* ---- replies ---- */

struct msg {
	struct nlmsghdr h;
	uint8_t *body;     /* after the nlmsghdr */
	size_t len;
};

struct msgs {
	struct msg m[2048];
	size_t n;
	size_t max_dgram;
};

static void msgs_free(struct msgs *ms)
{
	for (size_t i = 0; i < ms->n; i++)
		free(ms->m[i].body);
	ms->n = 0;
}

static void recv_all(struct fx *f, struct msgs *ms)
{
	static uint8_t buf[65536];
	ms->n = 0;
	ms->max_dgram = 0;
	ssize_t n;
	while ((n = rtnl_sock_recv(f->s, buf, sizeof(buf), false, NULL)) > 0) {
		if ((size_t)n > ms->max_dgram)
			ms->max_dgram = (size_t)n;
		size_t off = 0;
		while (off + NLMSG_HDRLEN <= (size_t)n) {
			struct nlmsghdr h;
			memcpy(&h, buf + off, sizeof(h));
			assert_true(h.nlmsg_len >= NLMSG_HDRLEN && off + h.nlmsg_len <= (size_t)n);
			assert_true(ms->n < sizeof(ms->m) / sizeof(ms->m[0]));
			struct msg *m = &ms->m[ms->n++];
			m->h = h;
			m->len = h.nlmsg_len - NLMSG_HDRLEN;
			m->body = malloc(m->len + 1);
			assert_non_null(m->body);
			memcpy(m->body, buf + off + NLMSG_HDRLEN, m->len);
			off += NLMSG_ALIGN(h.nlmsg_len);
		}
	}
}

static void send_req(struct fx *f, struct req *q, struct msgs *ms)
{
	end(q);
	assert_int_equal(rtnl_sock_send(f->s, q->buf, q->len), 0);
	recv_all(f, ms);
}

/* Attributes of [p, p+len): the payload of type (and its length) or NULL. */
static const uint8_t *find(const uint8_t *p, size_t len, uint16_t type, uint16_t *alen)
{
	size_t off = 0;
	while (off + NLA_HDRLEN <= len) {
		struct nlattr a;
		memcpy(&a, p + off, sizeof(a));
		assert_true(a.nla_len >= NLA_HDRLEN && off + a.nla_len <= len);
		if ((a.nla_type & NLA_TYPE_MASK) == type) {
			if (alen)
				*alen = (uint16_t)(a.nla_len - NLA_HDRLEN);
			return p + off + NLA_HDRLEN;
		}
		off += NLA_ALIGN(a.nla_len);
	}
	return NULL;
}

/* Calls cb for each attribute nested in [p, p+len). */
static void each(const uint8_t *p, size_t len, void (*cb)(const uint8_t *, size_t, void *), void *ctx)
{
	size_t off = 0;
	while (off + NLA_HDRLEN <= len) {
		struct nlattr a;
		memcpy(&a, p + off, sizeof(a));
		assert_true(a.nla_len >= NLA_HDRLEN && off + a.nla_len <= len);
		cb(p + off + NLA_HDRLEN, a.nla_len - NLA_HDRLEN, ctx);
		off += NLA_ALIGN(a.nla_len);
	}
}

static int error_of(const struct msg *m)
{
	assert_int_equal(m->h.nlmsg_type, NLMSG_ERROR);
	int e;
	memcpy(&e, m->body, sizeof(e));
	return e;
}

/* The error a request earns (0 = its ACK), checking it is the last message. */
static int request_error(struct fx *f, struct req *q)
{
	struct msgs *ms = calloc(1, sizeof(*ms));
	assert_non_null(ms);
	send_req(f, q, ms);
	assert_true(ms->n >= 1);
	int e = error_of(&ms->m[ms->n - 1]);
	msgs_free(ms);
	free(ms);
	return e;
}

/* ---- fixture ---- */

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(crypto_init(), 0);
	log_set_level(LOG_ERROR);
	assert_int_equal(loop_init(&f->loop), 0);
	assert_int_equal(ip_router_init(&f->r, &f->loop), 0);
	int err;
	f->dev = wg_device_create_empty(&f->loop, &f->r, "wg0", &err);
	assert_non_null(f->dev);
	f->nl = rtnl_new(&f->r);
	assert_non_null(f->nl);
	f->s = rtnl_sock_new(f->nl, 0);
	assert_non_null(f->s);
	assert_int_equal(rtnl_sock_set_protocol(f->s, NETLINK_GENERIC), 0);
	/* libmnl reads into a page-sized buffer: what the dump must fit. */
	assert_int_equal(rtnl_sock_recv(f->s, NULL, 4096, true, NULL), -EAGAIN);
	f->seq = 100;

	/* As mnlg_socket_open: the family id by name. */
	struct req q;
	struct msgs *ms = calloc(1, sizeof(*ms));
	assert_non_null(ms);
	begin(&q, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, f->seq++, CTRL_CMD_GETFAMILY);
	attr_str(&q, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	send_req(f, &q, ms);
	assert_int_equal(ms->n, 2);
	assert_int_equal(ms->m[0].h.nlmsg_type, GENL_ID_CTRL);
	assert_int_equal(ms->m[0].h.nlmsg_pid, rtnl_sock_portid(f->s));
	uint16_t alen;
	const uint8_t *id = find(ms->m[0].body + GENL_HDRLEN, ms->m[0].len - GENL_HDRLEN,
				 CTRL_ATTR_FAMILY_ID, &alen);
	assert_non_null(id);
	assert_int_equal(alen, 2);
	memcpy(&f->wg_family, id, 2);
	assert_true(f->wg_family > GENL_ID_CTRL);
	assert_int_equal(error_of(&ms->m[1]), 0);   /* the ACK */
	msgs_free(ms);
	free(ms);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	rtnl_free(f->nl);
	ip_router_destroy_netifs(&f->r);
	ip_router_free(&f->r);
	loop_free(&f->loop);
	free(f);
	return 0;
}

/* ---- a parsed device, as `wg` assembles it from a dump ---- */

struct peer_view {
	uint8_t key[32];
	uint8_t psk[32];
	bool has_endpoint;
	struct sockaddr_in6 endpoint;   /* big enough for either */
	uint16_t keepalive;
	uint64_t rx, tx;
	int64_t hs_sec;
	size_t n_allowed;
	char first_allowed[64];
};

struct dev_view {
	char name[16];
	uint32_t ifindex;
	bool has_private;
	uint8_t private_key[32], public_key[32];
	uint16_t port;
	struct peer_view *peers;
	size_t n_peers;
	size_t messages;
};

static void count_allowed(const uint8_t *p, size_t len, void *ctx)
{
	struct peer_view *pv = ctx;
	if (pv->n_allowed++ == 0) {
		uint16_t fam, al;
		memcpy(&fam, find(p, len, WGALLOWEDIP_A_FAMILY, NULL), 2);
		const uint8_t *a = find(p, len, WGALLOWEDIP_A_IPADDR, &al);
		const uint8_t *c = find(p, len, WGALLOWEDIP_A_CIDR_MASK, NULL);
		char buf[INET6_ADDRSTRLEN];
		inet_ntop(fam, a, buf, sizeof(buf));
		snprintf(pv->first_allowed, sizeof(pv->first_allowed), "%s/%u", buf, *c);
	}
}

static void parse_peer(const uint8_t *p, size_t len, void *ctx)
{
	struct dev_view *dv = ctx;
	uint16_t al;
	const uint8_t *key = find(p, len, WGPEER_A_PUBLIC_KEY, &al);
	assert_non_null(key);
	assert_int_equal(al, 32);
	struct peer_view *pv;
	/* A continuation (same key as the last peer) adds AllowedIPs, as wg's coalesce_peers. */
	if (dv->n_peers && memcmp(dv->peers[dv->n_peers - 1].key, key, 32) == 0) {
		pv = &dv->peers[dv->n_peers - 1];
	} else {
		dv->peers = realloc(dv->peers, (dv->n_peers + 1) * sizeof(*dv->peers));
		assert_non_null(dv->peers);
		pv = &dv->peers[dv->n_peers++];
		memset(pv, 0, sizeof(*pv));
		memcpy(pv->key, key, 32);
	}
	const uint8_t *v;
	if ((v = find(p, len, WGPEER_A_PRESHARED_KEY, &al)))
		memcpy(pv->psk, v, 32);
	if ((v = find(p, len, WGPEER_A_ENDPOINT, &al))) {
		pv->has_endpoint = true;
		memcpy(&pv->endpoint, v, al < sizeof(pv->endpoint) ? al : sizeof(pv->endpoint));
	}
	if ((v = find(p, len, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, &al)))
		memcpy(&pv->keepalive, v, 2);
	if ((v = find(p, len, WGPEER_A_RX_BYTES, &al)))
		memcpy(&pv->rx, v, 8);
	if ((v = find(p, len, WGPEER_A_TX_BYTES, &al)))
		memcpy(&pv->tx, v, 8);
	if ((v = find(p, len, WGPEER_A_LAST_HANDSHAKE_TIME, &al))) {
		assert_int_equal(al, 16);
		memcpy(&pv->hs_sec, v, 8);
	}
	if ((v = find(p, len, WGPEER_A_ALLOWEDIPS, &al)))
		each(v, al, count_allowed, pv);
}

/* WG_CMD_GET_DEVICE dump of name; every message checked for size and headers. */
static int get_device(struct fx *f, const char *name, struct dev_view *dv)
{
	memset(dv, 0, sizeof(*dv));
	struct req q;
	struct msgs *ms = calloc(1, sizeof(*ms));
	assert_non_null(ms);
	uint32_t seq = f->seq++;
	begin(&q, f->wg_family, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, seq, WG_CMD_GET_DEVICE);
	attr_str(&q, WGDEVICE_A_IFNAME, name);
	send_req(f, &q, ms);
	assert_true(ms->n >= 1);
	const struct msg *last = &ms->m[ms->n - 1];
	int ret = 0;
	if (last->h.nlmsg_type == NLMSG_ERROR) {
		ret = error_of(last);
		assert_int_equal(ms->n, 1);
	} else {
		assert_int_equal(last->h.nlmsg_type, NLMSG_DONE);
		/* One page per datagram at most: what libmnl-based readers can take. */
		assert_true(ms->max_dgram <= 4096);
		for (size_t i = 0; i + 1 < ms->n; i++) {
			const struct msg *m = &ms->m[i];
			assert_int_equal(m->h.nlmsg_type, f->wg_family);
			assert_true(m->h.nlmsg_flags & NLM_F_MULTI);
			assert_int_equal(m->h.nlmsg_seq, seq);
			assert_int_equal(m->h.nlmsg_pid, rtnl_sock_portid(f->s));
			assert_int_equal(m->body[0], WG_CMD_GET_DEVICE);
			const uint8_t *a = m->body + GENL_HDRLEN;
			size_t alen = m->len - GENL_HDRLEN;
			uint16_t l;
			const uint8_t *v;
			if ((v = find(a, alen, WGDEVICE_A_IFNAME, &l)))
				snprintf(dv->name, sizeof(dv->name), "%s", (const char *)v);
			if ((v = find(a, alen, WGDEVICE_A_IFINDEX, &l)))
				memcpy(&dv->ifindex, v, 4);
			if ((v = find(a, alen, WGDEVICE_A_LISTEN_PORT, &l)))
				memcpy(&dv->port, v, 2);
			if ((v = find(a, alen, WGDEVICE_A_PRIVATE_KEY, &l))) {
				dv->has_private = true;
				memcpy(dv->private_key, v, 32);
			}
			if ((v = find(a, alen, WGDEVICE_A_PUBLIC_KEY, &l)))
				memcpy(dv->public_key, v, 32);
			if ((v = find(a, alen, WGDEVICE_A_PEERS, &l)))
				each(v, l, parse_peer, dv);
			dv->messages++;
		}
	}
	msgs_free(ms);
	free(ms);
	return ret;
}

static void dev_view_free(struct dev_view *dv)
{
	free(dv->peers);
	dv->peers = NULL;
}

static void key_of(uint8_t pub[32])
{
	uint8_t k[32];
	x25519_generate(k);
	assert_int_equal(x25519_public(pub, k), 0);
}

/* ---- tests ---- */

static void test_controller(void **state)
{
	struct fx *f = *state;
	struct req q;
	begin(&q, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, f->seq++, CTRL_CMD_GETFAMILY);
	attr_str(&q, CTRL_ATTR_FAMILY_NAME, "nosuchfamily");
	assert_int_equal(request_error(f, &q), -ENOENT);
	begin(&q, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, f->seq++, CTRL_CMD_GETFAMILY);
	attr_u16(&q, CTRL_ATTR_FAMILY_ID, f->wg_family);
	struct msgs *ms = calloc(1, sizeof(*ms));
	assert_non_null(ms);
	send_req(f, &q, ms);
	assert_int_equal(ms->n, 2);
	uint16_t l;
	const uint8_t *name = find(ms->m[0].body + GENL_HDRLEN, ms->m[0].len - GENL_HDRLEN,
				   CTRL_ATTR_FAMILY_NAME, &l);
	assert_non_null(name);
	assert_string_equal((const char *)name, "wireguard");
	msgs_free(ms);
	/* A dump lists both families. */
	begin(&q, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_DUMP, f->seq++, CTRL_CMD_GETFAMILY);
	send_req(f, &q, ms);
	assert_int_equal(ms->n, 3);
	assert_int_equal(ms->m[2].h.nlmsg_type, NLMSG_DONE);
	msgs_free(ms);
	free(ms);
	/* Too short for a genlmsghdr, unknown family, unknown command. */
	struct nlmsghdr h = { .nlmsg_len = NLMSG_HDRLEN, .nlmsg_type = GENL_ID_CTRL,
			      .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK, .nlmsg_seq = 1 };
	memcpy(q.buf, &h, sizeof(h));
	q.len = sizeof(h);
	assert_int_equal(request_error(f, &q), -EINVAL);
	begin(&q, 0x7ff0, NLM_F_REQUEST | NLM_F_ACK, f->seq++, 1);
	assert_int_equal(request_error(f, &q), -ENOENT);
	begin(&q, f->wg_family, NLM_F_REQUEST | NLM_F_ACK, f->seq++, 77);
	assert_int_equal(request_error(f, &q), -EOPNOTSUPP);
}

static void test_empty_device_dump(void **state)
{
	struct fx *f = *state;
	struct dev_view dv;
	assert_int_equal(get_device(f, "wg0", &dv), 0);
	assert_string_equal(dv.name, "wg0");
	assert_int_equal(dv.ifindex, f->dev->netif.ifindex);
	assert_false(dv.has_private);   /* no key yet: none shown, as the kernel */
	assert_int_equal(dv.port, f->dev->listen_port);
	assert_int_equal(dv.n_peers, 0);
	dev_view_free(&dv);
}

static void test_set_then_get(void **state)
{
	struct fx *f = *state;
	uint8_t priv[32], pub[32], peer[32], psk[32];
	x25519_generate(priv);
	assert_int_equal(x25519_public(pub, priv), 0);
	key_of(peer);
	memset(psk, 0x42, sizeof(psk));

	struct req q;
	begin(&q, f->wg_family, NLM_F_REQUEST | NLM_F_ACK, f->seq++, WG_CMD_SET_DEVICE);
	attr_str(&q, WGDEVICE_A_IFNAME, "wg0");
	attr(&q, WGDEVICE_A_PRIVATE_KEY, priv, 32);
	nest_begin(&q, WGDEVICE_A_PEERS);
	nest_begin(&q, 0);
	attr(&q, WGPEER_A_PUBLIC_KEY, peer, 32);
	attr(&q, WGPEER_A_PRESHARED_KEY, psk, 32);
	struct sockaddr_in ep = { .sin_family = AF_INET, .sin_port = htons(51820) };
	inet_pton(AF_INET, "192.0.2.7", &ep.sin_addr);
	attr(&q, WGPEER_A_ENDPOINT, &ep, sizeof(ep));
	attr_u16(&q, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
	attr_u32(&q, WGPEER_A_FLAGS, WGPEER_F_REPLACE_ALLOWEDIPS);
	nest_begin(&q, WGPEER_A_ALLOWEDIPS);
	allowed_ip(&q, "10.1.2.0/24");
	allowed_ip(&q, "fd00:1::/64");
	nest_end(&q);
	nest_end(&q);
	nest_end(&q);
	assert_int_equal(request_error(f, &q), 0);

	struct dev_view dv;
	assert_int_equal(get_device(f, "wg0", &dv), 0);
	assert_true(dv.has_private);
	assert_memory_equal(dv.public_key, pub, 32);
	assert_int_equal(dv.n_peers, 1);
	assert_memory_equal(dv.peers[0].key, peer, 32);
	assert_memory_equal(dv.peers[0].psk, psk, 32);
	assert_true(dv.peers[0].has_endpoint);
	struct sockaddr_in got;
	memcpy(&got, &dv.peers[0].endpoint, sizeof(got));
	assert_int_equal(got.sin_family, AF_INET);
	assert_int_equal(got.sin_port, htons(51820));
	assert_int_equal(got.sin_addr.s_addr, ep.sin_addr.s_addr);
	assert_int_equal(dv.peers[0].keepalive, 25);
	assert_int_equal(dv.peers[0].n_allowed, 2);
	assert_string_equal(dv.peers[0].first_allowed, "10.1.2.0/24");
	assert_int_equal(dv.peers[0].hs_sec, 0);
	dev_view_free(&dv);

	/* UPDATE_ONLY for an unknown peer adds nothing; REMOVE_ME removes. */
	uint8_t other[32];
	key_of(other);
	begin(&q, f->wg_family, NLM_F_REQUEST | NLM_F_ACK, f->seq++, WG_CMD_SET_DEVICE);
	attr_u32(&q, WGDEVICE_A_IFINDEX, f->dev->netif.ifindex);
	nest_begin(&q, WGDEVICE_A_PEERS);
	nest_begin(&q, 0);
	attr(&q, WGPEER_A_PUBLIC_KEY, other, 32);
	attr_u32(&q, WGPEER_A_FLAGS, WGPEER_F_UPDATE_ONLY);
	nest_end(&q);
	nest_begin(&q, 0);
	attr(&q, WGPEER_A_PUBLIC_KEY, peer, 32);
	attr_u32(&q, WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME);
	nest_end(&q);
	nest_end(&q);
	assert_int_equal(request_error(f, &q), 0);
	assert_int_equal(f->dev->n_peers, 0);

	/* A peer with the device's own key is ignored silently, as in the kernel. */
	begin(&q, f->wg_family, NLM_F_REQUEST | NLM_F_ACK, f->seq++, WG_CMD_SET_DEVICE);
	attr_str(&q, WGDEVICE_A_IFNAME, "wg0");
	nest_begin(&q, WGDEVICE_A_PEERS);
	nest_begin(&q, 0);
	attr(&q, WGPEER_A_PUBLIC_KEY, pub, 32);
	nest_end(&q);
	nest_end(&q);
	assert_int_equal(request_error(f, &q), 0);
	assert_int_equal(f->dev->n_peers, 0);
}

static void test_replace_peers(void **state)
{
	struct fx *f = *state;
	int err;
	uint8_t a[32], b[32];
	key_of(a);
	key_of(b);
	assert_non_null(wg_device_add_peer(f->dev, a, &err));
	struct req q;
	begin(&q, f->wg_family, NLM_F_REQUEST | NLM_F_ACK, f->seq++, WG_CMD_SET_DEVICE);
	attr_str(&q, WGDEVICE_A_IFNAME, "wg0");
	attr_u32(&q, WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS);
	nest_begin(&q, WGDEVICE_A_PEERS);
	nest_begin(&q, 0);
	attr(&q, WGPEER_A_PUBLIC_KEY, b, 32);
	nest_end(&q);
	nest_end(&q);
	assert_int_equal(request_error(f, &q), 0);
	assert_int_equal(f->dev->n_peers, 1);
	assert_memory_equal(f->dev->peers[0]->public_key, b, 32);
}

static void test_errors(void **state)
{
	struct fx *f = *state;
	struct req q;
	struct dev_view dv;
	assert_int_equal(get_device(f, "nosuch", &dv), -ENODEV);
	assert_int_equal(get_device(f, "lo", &dv), -EOPNOTSUPP);

	/* Neither ifindex nor ifname; both. */
	begin(&q, f->wg_family, NLM_F_REQUEST | NLM_F_ACK, f->seq++, WG_CMD_SET_DEVICE);
	assert_int_equal(request_error(f, &q), -EBADR);
	begin(&q, f->wg_family, NLM_F_REQUEST | NLM_F_ACK, f->seq++, WG_CMD_SET_DEVICE);
	attr_str(&q, WGDEVICE_A_IFNAME, "wg0");
	attr_u32(&q, WGDEVICE_A_IFINDEX, f->dev->netif.ifindex);
	assert_int_equal(request_error(f, &q), -EBADR);
	/* GET without NLM_F_DUMP: the kernel has only a dumpit. */
	begin(&q, f->wg_family, NLM_F_REQUEST | NLM_F_ACK, f->seq++, WG_CMD_GET_DEVICE);
	attr_str(&q, WGDEVICE_A_IFNAME, "wg0");
	assert_int_equal(request_error(f, &q), -EOPNOTSUPP);
	/* A private key of the wrong length: refused before anything changes. */
	uint8_t short_key[16] = { 1 };
	begin(&q, f->wg_family, NLM_F_REQUEST | NLM_F_ACK, f->seq++, WG_CMD_SET_DEVICE);
	attr_str(&q, WGDEVICE_A_IFNAME, "wg0");
	attr_u32(&q, WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS);
	attr(&q, WGDEVICE_A_PRIVATE_KEY, short_key, sizeof(short_key));
	assert_int_equal(request_error(f, &q), -EINVAL);
	assert_false(f->dev->identity.has_identity);
	/* Unknown device flags. */
	begin(&q, f->wg_family, NLM_F_REQUEST | NLM_F_ACK, f->seq++, WG_CMD_SET_DEVICE);
	attr_str(&q, WGDEVICE_A_IFNAME, "wg0");
	attr_u32(&q, WGDEVICE_A_FLAGS, 0x80);
	assert_int_equal(request_error(f, &q), -EOPNOTSUPP);
	/* A peer without a public key; another protocol version; a bad AllowedIP. */
	begin(&q, f->wg_family, NLM_F_REQUEST | NLM_F_ACK, f->seq++, WG_CMD_SET_DEVICE);
	attr_str(&q, WGDEVICE_A_IFNAME, "wg0");
	nest_begin(&q, WGDEVICE_A_PEERS);
	nest_begin(&q, 0);
	attr_u16(&q, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 5);
	nest_end(&q);
	nest_end(&q);
	assert_int_equal(request_error(f, &q), -EINVAL);
	uint8_t k[32];
	key_of(k);
	begin(&q, f->wg_family, NLM_F_REQUEST | NLM_F_ACK, f->seq++, WG_CMD_SET_DEVICE);
	attr_str(&q, WGDEVICE_A_IFNAME, "wg0");
	nest_begin(&q, WGDEVICE_A_PEERS);
	nest_begin(&q, 0);
	attr(&q, WGPEER_A_PUBLIC_KEY, k, 32);
	attr_u32(&q, WGPEER_A_PROTOCOL_VERSION, 2);
	nest_end(&q);
	nest_end(&q);
	assert_int_equal(request_error(f, &q), -EPFNOSUPPORT);
	begin(&q, f->wg_family, NLM_F_REQUEST | NLM_F_ACK, f->seq++, WG_CMD_SET_DEVICE);
	attr_str(&q, WGDEVICE_A_IFNAME, "wg0");
	nest_begin(&q, WGDEVICE_A_PEERS);
	nest_begin(&q, 0);
	attr(&q, WGPEER_A_PUBLIC_KEY, k, 32);
	attr(&q, WGPEER_A_PRESHARED_KEY, short_key, sizeof(short_key));
	nest_end(&q);
	nest_end(&q);
	assert_int_equal(request_error(f, &q), -EINVAL);
	assert_int_equal(f->dev->n_peers, 0);
	begin(&q, f->wg_family, NLM_F_REQUEST | NLM_F_ACK, f->seq++, WG_CMD_SET_DEVICE);
	attr_str(&q, WGDEVICE_A_IFNAME, "wg0");
	nest_begin(&q, WGDEVICE_A_PEERS);
	nest_begin(&q, 0);
	attr(&q, WGPEER_A_PUBLIC_KEY, k, 32);
	nest_begin(&q, WGPEER_A_ALLOWEDIPS);
	nest_begin(&q, 0);
	attr_u16(&q, WGALLOWEDIP_A_FAMILY, AF_INET);
	uint8_t a4[4] = { 10, 0, 0, 0 }, cidr = 33;
	attr(&q, WGALLOWEDIP_A_IPADDR, a4, 4);
	attr(&q, WGALLOWEDIP_A_CIDR_MASK, &cidr, 1);
	nest_end(&q);
	nest_end(&q);
	nest_end(&q);
	nest_end(&q);
	assert_int_equal(request_error(f, &q), -EINVAL);
	/* Not atomic, as the kernel: the peer was created before its bad AllowedIP. */
	assert_int_equal(f->dev->n_peers, 1);
}

static void test_big_dump_is_split(void **state)
{
	struct fx *f = *state;
	int err;
	enum { N = 300, BIG = 500 };
	for (int i = 0; i < N; i++) {
		uint8_t k[32];
		key_of(k);
		struct wg_peer *peer = wg_device_add_peer(f->dev, k, &err);
		assert_non_null(peer);
		char text[64];
		snprintf(text, sizeof(text), "10.%d.%d.0/24", i / 200, i % 200);
		struct ip_prefix p;
		assert_int_equal(ip_prefix_parse(text, &p), 0);
		assert_int_equal(wg_device_peer_add_allowed_ip(f->dev, peer, &p), 0);
		snprintf(text, sizeof(text), "fd00:%x::/64", i);
		assert_int_equal(ip_prefix_parse(text, &p), 0);
		assert_int_equal(wg_device_peer_add_allowed_ip(f->dev, peer, &p), 0);
	}
	uint8_t k[32];
	key_of(k);
	struct wg_peer *big = wg_device_add_peer(f->dev, k, &err);
	assert_non_null(big);
	for (int i = 0; i < BIG; i++) {
		char text[64];
		snprintf(text, sizeof(text), "172.16.%d.%d/32", i / 250, i % 250);
		struct ip_prefix p;
		assert_int_equal(ip_prefix_parse(text, &p), 0);
		assert_int_equal(wg_device_peer_add_allowed_ip(f->dev, big, &p), 0);
	}
	struct dev_view dv;
	assert_int_equal(get_device(f, "wg0", &dv), 0);
	assert_true(dv.messages > 10);
	assert_int_equal(dv.n_peers, N + 1);
	size_t total = 0;
	for (size_t i = 0; i < dv.n_peers; i++)
		total += dv.peers[i].n_allowed;
	assert_int_equal(total, 2 * N + BIG);
	assert_int_equal(dv.peers[N].n_allowed, BIG);
	assert_string_equal(dv.peers[N].first_allowed, "172.16.0.0/32");
	assert_memory_equal(dv.peers[N].key, k, 32);
	dev_view_free(&dv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_controller, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_device_dump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_then_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_peers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_dump_is_split, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
