/*
 * Unit tests for the rtnetlink emulation: requests built by hand the way
 * iproute2 and BIRD build them, fed through rtnl_sock_send, and the replies
 * parsed back independently of src/nl's own message code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pbuf.h"
#include "ip/dummy.h"
#include "ip/router.h"
#include "nl/rtnl.h"

#include "drop_netif.h"

/* ---- a fake router (its interfaces: drop_netif.h) ---- */

struct fx {
	struct ip_router r;
	struct netif wg0, wg1;
	struct rtnl *nl;
	struct rtnl_sock *s;
	unsigned wakeups;
};

static struct ip_prefix pfx(const char *text)
{
	struct ip_prefix p;
	if (ip_prefix_parse(text, &p) < 0)
		fail_msg("bad prefix %s", text);
	return p;
}

static struct ip_addr addr(const char *text)
{
	struct ip_addr a;
	if (ip_addr_parse(text, &a) < 0)
		fail_msg("bad address %s", text);
	return a;
}

static void assert_addr_is(const struct ip_addr *a, const char *text)
{
	struct ip_addr want = addr(text);
	assert_true(ip_addr_equal(a, &want));
}

/* The route the FIB of f picks for the address text, which must have one; *dst is the address. */
static struct fib_route route_to(struct fx *f, const char *text, struct ip_addr *dst)
{
	struct fib_route rt;
	*dst = addr(text);
	assert_int_equal(fib_lookup(f->r.fib, dst, &rt), 0);
	return rt;
}

static void netif_setup(struct netif *nif, const char *name, uint16_t mtu, const char *a1,
			const char *a2)
{
	memset(nif, 0, sizeof(*nif));
	snprintf(nif->name, sizeof(nif->name), "%s", name);
	nif->mtu = mtu;
	nif->ops = &drop_ops;
	nif->addrs = calloc(2, sizeof(*nif->addrs));
	assert_non_null(nif->addrs);
	nif->addrs[0] = pfx(a1);
	nif->addrs[1] = pfx(a2);
	nif->n_addrs = 2;
}

static void on_wakeup(void *ctx, struct rtnl_sock *s)
{
	(void)s;
	((struct fx *)ctx)->wakeups++;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(ip_router_init(&f->r, NULL), 0);
	netif_setup(&f->wg0, "wg0", 1420, "172.20.1.1/24", "fe80::1/64");
	netif_setup(&f->wg1, "wg1", 1280, "10.0.0.1/32", "fd42::1/64");
	f->nl = rtnl_new(&f->r);
	assert_non_null(f->nl);
	assert_int_equal(ip_router_add_netif(&f->r, &f->wg0), 0);
	assert_int_equal(ip_router_add_netif(&f->r, &f->wg1), 0);
	rtnl_set_wakeup(f->nl, on_wakeup, f);
	f->s = rtnl_sock_new(f->nl, 4242);
	assert_non_null(f->s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	rtnl_free(f->nl);
	ip_router_free(&f->r);
	free(f->wg0.addrs);
	free(f->wg1.addrs);
	free(f);
	return 0;
}

/* ---- building requests ---- */

struct req {
	uint8_t buf[4096];
	size_t len, start;
};

static void put(struct req *q, const void *d, size_t n)
{
	assert_true(q->len + NLMSG_ALIGN(n) <= sizeof(q->buf));
	if (d)
		memcpy(q->buf + q->len, d, n);
	else
		memset(q->buf + q->len, 0, n);
	memset(q->buf + q->len + n, 0, NLMSG_ALIGN(n) - n);
	q->len += NLMSG_ALIGN(n);
}

static void begin(struct req *q, uint16_t type, uint16_t flags, uint32_t seq, const void *hdr,
		  size_t hl)
{
	struct nlmsghdr h = { .nlmsg_type = type, .nlmsg_flags = NLM_F_REQUEST | flags,
			      .nlmsg_seq = seq };
	q->start = q->len;
	put(q, &h, sizeof(h));
	put(q, hdr, hl);
}

static void attr(struct req *q, uint16_t type, const void *d, size_t n)
{
	struct nlattr a = { .nla_len = (uint16_t)(NLA_HDRLEN + n), .nla_type = type };
	put(q, &a, sizeof(a));
	put(q, d, n);
}

static void attr_u32(struct req *q, uint16_t type, uint32_t v)
{
	attr(q, type, &v, 4);
}

static void attr_addr(struct req *q, uint16_t type, const char *text)
{
	struct ip_addr a = addr(text);
	attr(q, type, a.bytes, ip_addr_size(&a));
}

static void end(struct req *q)
{
	uint32_t len = (uint32_t)(q->len - q->start);
	memcpy(q->buf + q->start, &len, 4);
}

static void send_req(struct fx *f, struct rtnl_sock *s, struct req *q)
{
	(void)f;
	assert_int_equal(rtnl_sock_send(s, q->buf, q->len), 0);
}

/* ---- reading replies ---- */

struct msg {
	struct nlmsghdr h;
	uint8_t *body;
	size_t body_len;
	uint32_t group;
};

struct msgs {
	struct msg *m;
	size_t n;
	size_t dgrams, max_dgram;
};

static void msgs_free(struct msgs *ms)
{
	for (size_t i = 0; i < ms->n; i++)
		free(ms->m[i].body);
	free(ms->m);
	memset(ms, 0, sizeof(*ms));
}

/* Every datagram waiting on s, read with a buffer of cap bytes, cut into messages. */
static void recv_all_cap(struct rtnl_sock *s, struct msgs *ms, size_t cap)
{
	memset(ms, 0, sizeof(*ms));
	static uint8_t buf[65536];
	assert_true(cap <= sizeof(buf));
	while (rtnl_sock_pending(s)) {
		uint32_t group = 99;
		ssize_t n = rtnl_sock_recv(s, buf, cap, false, &group);
		assert_true(n > 0);
		assert_true((size_t)n <= sizeof(buf));
		ms->dgrams++;
		if ((size_t)n > ms->max_dgram)
			ms->max_dgram = (size_t)n;
		size_t off = 0;
		while (off < (size_t)n) {
			struct nlmsghdr h;
			assert_true((size_t)n - off >= sizeof(h));
			memcpy(&h, buf + off, sizeof(h));
			assert_true(h.nlmsg_len >= sizeof(h) && h.nlmsg_len <= (size_t)n - off);
			ms->m = realloc(ms->m, (ms->n + 1) * sizeof(*ms->m));
			assert_non_null(ms->m);
			struct msg *m = &ms->m[ms->n++];
			m->h = h;
			m->group = group;
			m->body_len = h.nlmsg_len - sizeof(h);
			m->body = malloc(m->body_len + 1);
			memcpy(m->body, buf + off + sizeof(h), m->body_len);
			off += NLMSG_ALIGN(h.nlmsg_len);
		}
	}
}

/* Every datagram waiting on s, cut into messages (checking the framing as a reader would). */
static void recv_all(struct rtnl_sock *s, struct msgs *ms)
{
	recv_all_cap(s, ms, 65536);
}

/* All that s has pending, which must be n messages. */
static void recv_n(struct rtnl_sock *s, struct msgs *ms, size_t n)
{
	recv_all(s, ms);
	assert_int_equal(ms->n, n);
}

/* All that s has pending, which must be one message of type. */
static void recv_one(struct rtnl_sock *s, struct msgs *ms, uint16_t type)
{
	recv_n(s, ms, 1);
	assert_int_equal(ms->m[0].h.nlmsg_type, type);
}

/* A netlink socket of our own in the multicast groups (RTMGRP_* bits): what `ip monitor` sees. */
static struct rtnl_sock *monitor(struct fx *f, uint32_t groups)
{
	struct rtnl_sock *mon = rtnl_sock_new(f->nl, 0);
	assert_non_null(mon);
	assert_int_equal(rtnl_sock_bind(mon, groups), 0);
	return mon;
}

/* The payload of attribute type in m after a fixed header of hl bytes; NULL if absent. */
static const uint8_t *find_attr(const struct msg *m, size_t hl, uint16_t type, uint16_t *len)
{
	size_t off = NLMSG_ALIGN(hl);
	while (off + NLA_HDRLEN <= m->body_len) {
		struct nlattr a;
		memcpy(&a, m->body + off, sizeof(a));
		assert_true(a.nla_len >= NLA_HDRLEN && off + a.nla_len <= m->body_len);
		if ((a.nla_type & NLA_TYPE_MASK) == type) {
			if (len)
				*len = (uint16_t)(a.nla_len - NLA_HDRLEN);
			return m->body + off + NLA_HDRLEN;
		}
		off += NLA_ALIGN(a.nla_len);
	}
	return NULL;
}

static uint32_t attr_get_u32(const struct msg *m, size_t hl, uint16_t type)
{
	uint16_t len;
	const uint8_t *p = find_attr(m, hl, type, &len);
	assert_non_null(p);
	assert_int_equal(len, 4);
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static bool attr_eq_addr(const struct msg *m, size_t hl, uint16_t type, const struct ip_addr *a)
{
	uint16_t len;
	const uint8_t *p = find_attr(m, hl, type, &len);
	return p && len == ip_addr_size(a) && memcmp(p, a->bytes, len) == 0;
}

static bool attr_is_addr(const struct msg *m, size_t hl, uint16_t type, const char *text)
{
	struct ip_addr a = addr(text);
	return attr_eq_addr(m, hl, type, &a);
}

static int error_of(const struct msg *m)
{
	assert_int_equal(m->h.nlmsg_type, NLMSG_ERROR);
	assert_true(m->body_len >= sizeof(struct nlmsgerr));
	int e;
	memcpy(&e, m->body, sizeof(e));
	return e;
}

/* The NLMSGERR_ATTR_MSG of an error, or NULL. */
static const char *extack_of(const struct msg *m)
{
	if (!(m->h.nlmsg_flags & NLM_F_ACK_TLVS))
		return NULL;
	struct nlmsghdr orig;
	memcpy(&orig, m->body + sizeof(int), sizeof(orig));
	size_t hl = sizeof(int) + ((m->h.nlmsg_flags & NLM_F_CAPPED) ? sizeof(orig)
								      : orig.nlmsg_len);
	uint16_t len;
	const uint8_t *p = find_attr(m, hl, NLMSGERR_ATTR_MSG, &len);
	if (!p || !len || p[len - 1] != '\0')
		return NULL;
	return (const char *)p;
}

/* Sends q and expects exactly one NLMSG_ERROR back; returns its error. */
static int request_error(struct fx *f, struct req *q, const char **ext)
{
	send_req(f, f->s, q);
	struct msgs ms;
	recv_all(f->s, &ms);
	assert_int_equal(ms.n, 1);
	int e = error_of(&ms.m[0]);
	static char msgbuf[256];
	if (ext) {
		const char *x = extack_of(&ms.m[0]);
		snprintf(msgbuf, sizeof(msgbuf), "%s", x ? x : "");
		*ext = msgbuf;
	}
	msgs_free(&ms);
	return e;
}

/* ---- route request helpers ---- */

static void route_req(struct req *q, uint16_t type, uint16_t flags, uint32_t seq, const char *dst,
		      uint8_t rtn)
{
	memset(q, 0, sizeof(*q));
	struct ip_prefix p = pfx(dst);
	struct rtmsg rtm = { .rtm_family = p.addr.family, .rtm_dst_len = p.len,
			     .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BIRD,
			     .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = rtn };
	begin(q, type, flags, seq, &rtm, sizeof(rtm));
	attr(q, RTA_DST, p.addr.bytes, ip_addr_size(&p.addr));
}

#define BIRD_ADD (NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE)

static void dump_req(struct req *q, uint16_t type, uint32_t seq, const void *hdr, size_t hl)
{
	memset(q, 0, sizeof(*q));
	begin(q, type, NLM_F_DUMP, seq, hdr, hl);
	end(q);
}

/* Dumps routes of family and returns the messages (checked to end with one DONE). */
static void dump_routes_cap(struct fx *f, int family, struct msgs *ms, size_t cap)
{
	struct req q;
	struct rtmsg rtm = { .rtm_family = (uint8_t)family };
	dump_req(&q, RTM_GETROUTE, 77, &rtm, sizeof(rtm));
	send_req(f, f->s, &q);
	recv_all_cap(f->s, ms, cap);
	assert_true(ms->n >= 1);
	assert_int_equal(ms->m[ms->n - 1].h.nlmsg_type, NLMSG_DONE);
	for (size_t i = 0; i + 1 < ms->n; i++) {
		assert_int_equal(ms->m[i].h.nlmsg_type, RTM_NEWROUTE);
		assert_true(ms->m[i].h.nlmsg_flags & NLM_F_MULTI);
		assert_int_equal(ms->m[i].h.nlmsg_seq, 77);
		assert_int_equal(ms->m[i].h.nlmsg_pid, rtnl_sock_portid(f->s));
	}
}

static void dump_routes(struct fx *f, int family, struct msgs *ms)
{
	dump_routes_cap(f, family, ms, 65536);
}

/* The dumped route message for prefix (in the main table), or NULL. */
static const struct msg *find_route(const struct msgs *ms, const char *prefix)
{
	struct ip_prefix p = pfx(prefix);
	for (size_t i = 0; i + 1 < ms->n; i++) {
		const struct msg *m = &ms->m[i];
		struct rtmsg rtm;
		memcpy(&rtm, m->body, sizeof(rtm));
		if (rtm.rtm_family != p.addr.family || rtm.rtm_dst_len != p.len)
			continue;
		if (p.len == 0 || attr_eq_addr(m, sizeof(rtm), RTA_DST, &p.addr))
			return m;
	}
	return NULL;
}

/* ---- links ---- */

static void test_link_dump(void **state)
{
	struct fx *f = *state;
	struct req q;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	dump_req(&q, RTM_GETLINK, 5, &ifi, sizeof(ifi));
	send_req(f, f->s, &q);
	struct msgs ms;
	recv_all(f->s, &ms);
	assert_int_equal(ms.n, 4);   /* lo, wg0, wg1, DONE */
	const char *names[] = { "lo", "wg0", "wg1" };
	const uint32_t mtus[] = { 65536, 1420, 1280 };
	const int idx[] = { 1, 2, 3 };
	for (int i = 0; i < 3; i++) {
		const struct msg *m = &ms.m[i];
		assert_int_equal(m->h.nlmsg_type, RTM_NEWLINK);
		assert_int_equal(m->h.nlmsg_seq, 5);
		assert_int_equal(m->h.nlmsg_pid, 4242);
		assert_true(m->h.nlmsg_flags & NLM_F_MULTI);
		struct ifinfomsg got;
		memcpy(&got, m->body, sizeof(got));
		assert_int_equal(got.ifi_index, idx[i]);
		uint16_t len;
		const char *name = (const char *)find_attr(m, sizeof(got), IFLA_IFNAME, &len);
		assert_non_null(name);
		assert_string_equal(name, names[i]);
		assert_int_equal(attr_get_u32(m, sizeof(got), IFLA_MTU), mtus[i]);
		assert_non_null(find_attr(m, sizeof(got), IFLA_STATS64, &len));
		assert_int_equal(len, sizeof(struct rtnl_link_stats64));
		if (i == 0) {
			assert_int_equal(got.ifi_type, ARPHRD_LOOPBACK);
			assert_true(got.ifi_flags & IFF_LOOPBACK);
			assert_null(find_attr(m, sizeof(got), IFLA_LINKINFO, NULL));
		} else {
			assert_int_equal(got.ifi_type, ARPHRD_NONE);
			assert_int_equal(got.ifi_flags & (IFF_UP | IFF_RUNNING | IFF_POINTOPOINT |
							  IFF_NOARP | IFF_LOOPBACK),
					 IFF_UP | IFF_RUNNING | IFF_POINTOPOINT | IFF_NOARP);
			assert_true(got.ifi_flags & 0x10000);   /* IFF_LOWER_UP */
			/* IFLA_LINKINFO { IFLA_INFO_KIND "wireguard" } */
			const uint8_t *li = find_attr(m, sizeof(got), IFLA_LINKINFO, &len);
			assert_non_null(li);
			struct nlattr kind;
			memcpy(&kind, li, sizeof(kind));
			assert_int_equal(kind.nla_type, IFLA_INFO_KIND);
			assert_string_equal((const char *)li + NLA_HDRLEN, "wireguard");
		}
	}
	assert_int_equal(ms.m[3].h.nlmsg_type, NLMSG_DONE);
	assert_int_equal(ms.m[3].body_len, sizeof(int));
	msgs_free(&ms);
}

static void test_link_stats(void **state)
{
	struct fx *f = *state;
	f->wg0.stats.rx_packets = 7;
	f->wg0.stats.tx_bytes = 12345;
	f->wg0.stats.drops[NETIF_DROP_LINK_BASE] = 2;       /* the link's receive path */
	f->wg0.stats.drops[DROP_INVALID_PACKET] = 5;        /* what a peer sent */
	f->wg0.stats.drops[NETIF_DROP_LINK_BASE + 1] = 4;   /* the link's send path */
	f->wg0.stats.drops[DROP_NO_ROUTE] = 3;
	struct req q = { 0 };
	struct ifinfomsg ifi = { .ifi_index = 2 };
	begin(&q, RTM_GETLINK, 0, 9, &ifi, sizeof(ifi));
	end(&q);
	send_req(f, f->s, &q);
	struct msgs ms;
	recv_all(f->s, &ms);
	assert_int_equal(ms.n, 1);   /* no ACK without NLM_F_ACK */
	assert_int_equal(ms.m[0].h.nlmsg_type, RTM_NEWLINK);
	assert_false(ms.m[0].h.nlmsg_flags & NLM_F_MULTI);
	uint16_t len;
	const uint8_t *p = find_attr(&ms.m[0], sizeof(ifi), IFLA_STATS64, &len);
	struct rtnl_link_stats64 st;
	memcpy(&st, p, sizeof(st));
	assert_int_equal(st.rx_packets, 7);
	assert_int_equal(st.tx_bytes, 12345);
	assert_int_equal(st.rx_dropped, 2 + 5);
	assert_int_equal(st.tx_dropped, 4 + 3);
	msgs_free(&ms);
}

static void test_link_get_by_name(void **state)
{
	struct fx *f = *state;
	struct req q = { 0 };
	struct ifinfomsg ifi = { 0 };
	begin(&q, RTM_GETLINK, NLM_F_ACK, 10, &ifi, sizeof(ifi));
	attr(&q, IFLA_IFNAME, "wg1", 4);
	end(&q);
	send_req(f, f->s, &q);
	struct msgs ms;
	recv_all(f->s, &ms);
	assert_int_equal(ms.n, 2);   /* the link, then the ACK */
	struct ifinfomsg got;
	memcpy(&got, ms.m[0].body, sizeof(got));
	assert_int_equal(got.ifi_index, 3);
	assert_int_equal(error_of(&ms.m[1]), 0);
	assert_int_equal(ms.m[1].h.nlmsg_seq, 10);
	msgs_free(&ms);

	memset(&q, 0, sizeof(q));
	begin(&q, RTM_GETLINK, 0, 11, &ifi, sizeof(ifi));
	attr(&q, IFLA_IFNAME, "nope0", 6);
	end(&q);
	assert_int_equal(request_error(f, &q, NULL), -ENODEV);
}

/* A link that arrives with addresses (a reload's new interface): RTM_NEWLINK, then RTM_NEWADDR
 * for each, so BIRD's direct protocol learns them without waiting for its scan. */
static void test_link_added_with_addresses(void **state)
{
	struct fx *f = *state;
	struct rtnl_sock *mon = monitor(f, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR);
	struct netif *d = dummy_new("wg2");
	assert_non_null(d);
	d->addrs = calloc(2, sizeof(*d->addrs));
	assert_non_null(d->addrs);
	d->addrs[0] = pfx("172.20.9.1/32");
	d->addrs[1] = pfx("fe80::9/64");
	d->n_addrs = 2;
	assert_int_equal(ip_router_add_netif(&f->r, d), 0);
	struct msgs ms;
	recv_n(mon, &ms, 3);
	assert_int_equal(ms.m[0].h.nlmsg_type, RTM_NEWLINK);
	assert_int_equal(ms.m[1].h.nlmsg_type, RTM_NEWADDR);
	assert_int_equal(ms.m[1].group, RTNLGRP_IPV4_IFADDR);
	assert_true(attr_is_addr(&ms.m[1], sizeof(struct ifaddrmsg), IFA_LOCAL, "172.20.9.1"));
	assert_int_equal(ms.m[2].h.nlmsg_type, RTM_NEWADDR);
	assert_int_equal(ms.m[2].group, RTNLGRP_IPV6_IFADDR);
	msgs_free(&ms);
	ip_router_destroy_netif(&f->r, d);
	recv_n(mon, &ms, 3);   /* two RTM_DELADDR, then RTM_DELLINK */
	assert_int_equal(ms.m[2].h.nlmsg_type, RTM_DELLINK);
	msgs_free(&ms);
	rtnl_sock_free(mon);
}

/* Addresses a reload changes (through the router API) are multicast like rtnetlink's own. */
static void test_address_changed_outside(void **state)
{
	struct fx *f = *state;
	struct rtnl_sock *mon = monitor(f, RTMGRP_IPV4_IFADDR);
	struct ip_prefix p = pfx("172.20.9.7/32");
	assert_int_equal(ip_router_add_address(&f->r, &f->wg0, &p, NULL), 0);
	rtnl_address_changed(f->nl, &f->wg0, &p.addr, true);
	struct msgs ms;
	recv_one(mon, &ms, RTM_NEWADDR);
	assert_true(attr_is_addr(&ms.m[0], sizeof(struct ifaddrmsg), IFA_LOCAL, "172.20.9.7"));
	msgs_free(&ms);
	rtnl_address_changed(f->nl, &f->wg0, &p.addr, false);
	assert_int_equal(ip_router_del_address(&f->r, &f->wg0, &p), 0);
	rtnl_address_changed(f->nl, &f->wg0, &p.addr, false);   /* gone: nothing to say */
	recv_one(mon, &ms, RTM_DELADDR);
	msgs_free(&ms);
	rtnl_sock_free(mon);
}

static void test_link_set_mtu(void **state)
{
	struct fx *f = *state;
	struct rtnl_sock *mon = monitor(f, RTMGRP_LINK);
	/* ip link set wg0 mtu 1400 up */
	struct req q = { 0 };
	struct ifinfomsg ifi = { .ifi_index = 2, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
	begin(&q, RTM_NEWLINK, NLM_F_ACK, 12, &ifi, sizeof(ifi));
	attr_u32(&q, IFLA_MTU, 1400);
	end(&q);
	assert_int_equal(request_error(f, &q, NULL), 0);
	assert_int_equal(f->wg0.mtu, 1400);
	struct msgs ms;
	recv_one(mon, &ms, RTM_NEWLINK);
	assert_int_equal(ms.m[0].group, RTNLGRP_LINK);
	assert_int_equal(attr_get_u32(&ms.m[0], sizeof(ifi), IFLA_MTU), 1400);
	msgs_free(&ms);

	/* Out of range, down, and renames are refused, with a reason. */
	assert_int_equal(rtnl_sock_setsockopt(f->s, NETLINK_EXT_ACK, 1), 0);
	memset(&q, 0, sizeof(q));
	begin(&q, RTM_SETLINK, NLM_F_ACK, 13, &ifi, sizeof(ifi));
	attr_u32(&q, IFLA_MTU, 9000);
	end(&q);
	const char *why;
	assert_int_equal(request_error(f, &q, &why), -EINVAL);
	assert_string_equal(why, "mtu greater than device maximum");
	assert_int_equal(f->wg0.mtu, 1400);

	/* lo cannot go down; its MTU stays. */
	struct ifinfomsg lo_down = { .ifi_index = 1, .ifi_flags = 0, .ifi_change = IFF_UP };
	memset(&q, 0, sizeof(q));
	begin(&q, RTM_NEWLINK, NLM_F_ACK, 14, &lo_down, sizeof(lo_down));
	end(&q);
	assert_int_equal(request_error(f, &q, &why), -EOPNOTSUPP);
	assert_true(strlen(why) > 0);

	memset(&q, 0, sizeof(q));
	begin(&q, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 15, &(struct ifinfomsg){ 0 },
	      sizeof(struct ifinfomsg));
	attr(&q, IFLA_IFNAME, "dummy0", 7);
	end(&q);
	assert_int_equal(request_error(f, &q, NULL), -EOPNOTSUPP);
	recv_n(mon, &ms, 0);   /* nothing changed: nothing told */
	msgs_free(&ms);
	rtnl_sock_free(mon);
}

/* ---- addresses ---- */

static void dump_addrs(struct fx *f, int family, struct msgs *ms)
{
	struct req q;
	struct ifaddrmsg ifa = { .ifa_family = (uint8_t)family };
	dump_req(&q, RTM_GETADDR, 21, &ifa, sizeof(ifa));
	send_req(f, f->s, &q);
	recv_all(f->s, ms);
	assert_true(ms->n >= 1);
	assert_int_equal(ms->m[ms->n - 1].h.nlmsg_type, NLMSG_DONE);
}

static void test_addr_dump(void **state)
{
	struct fx *f = *state;
	struct msgs ms;
	dump_addrs(f, AF_INET, &ms);
	assert_int_equal(ms.n, 4);   /* 127.0.0.1/8, 172.20.1.1/24, 10.0.0.1/32, DONE */
	struct ifaddrmsg ifa;
	memcpy(&ifa, ms.m[0].body, sizeof(ifa));
	assert_int_equal(ifa.ifa_index, 1);
	assert_int_equal(ifa.ifa_prefixlen, 8);
	assert_int_equal(ifa.ifa_scope, RT_SCOPE_HOST);
	assert_true(attr_is_addr(&ms.m[0], sizeof(ifa), IFA_LOCAL, "127.0.0.1"));
	memcpy(&ifa, ms.m[1].body, sizeof(ifa));
	assert_int_equal(ifa.ifa_family, AF_INET);
	assert_int_equal(ifa.ifa_index, 2);
	assert_int_equal(ifa.ifa_prefixlen, 24);
	assert_int_equal(ifa.ifa_scope, RT_SCOPE_UNIVERSE);
	assert_true(attr_is_addr(&ms.m[1], sizeof(ifa), IFA_LOCAL, "172.20.1.1"));
	assert_true(attr_is_addr(&ms.m[1], sizeof(ifa), IFA_ADDRESS, "172.20.1.1"));
	assert_string_equal((const char *)find_attr(&ms.m[1], sizeof(ifa), IFA_LABEL, NULL), "wg0");
	assert_true(attr_get_u32(&ms.m[1], sizeof(ifa), IFA_FLAGS) & IFA_F_PERMANENT);
	assert_non_null(find_attr(&ms.m[1], sizeof(ifa), IFA_CACHEINFO, NULL));
	memcpy(&ifa, ms.m[2].body, sizeof(ifa));
	assert_int_equal(ifa.ifa_index, 3);
	msgs_free(&ms);

	dump_addrs(f, AF_INET6, &ms);
	assert_int_equal(ms.n, 4);   /* ::1, fe80::1/64, fd42::1/64, DONE */
	memcpy(&ifa, ms.m[1].body, sizeof(ifa));
	assert_int_equal(ifa.ifa_family, AF_INET6);
	assert_int_equal(ifa.ifa_scope, RT_SCOPE_LINK);
	assert_true(attr_is_addr(&ms.m[1], sizeof(ifa), IFA_ADDRESS, "fe80::1"));
	assert_null(find_attr(&ms.m[1], sizeof(ifa), IFA_LOCAL, NULL));
	assert_true(attr_get_u32(&ms.m[1], sizeof(ifa), IFA_FLAGS) & IFA_F_NODAD);
	memcpy(&ifa, ms.m[2].body, sizeof(ifa));
	assert_int_equal(ifa.ifa_scope, RT_SCOPE_UNIVERSE);
	msgs_free(&ms);

	dump_addrs(f, AF_UNSPEC, &ms);
	assert_int_equal(ms.n, 7);
	msgs_free(&ms);

	/* Strict checking filters by ifindex (iproute2: ip addr show dev wg1). */
	assert_int_equal(rtnl_sock_setsockopt(f->s, NETLINK_GET_STRICT_CHK, 1), 0);
	struct req q;
	struct ifaddrmsg only = { .ifa_family = AF_UNSPEC, .ifa_index = 3 };
	dump_req(&q, RTM_GETADDR, 22, &only, sizeof(only));
	send_req(f, f->s, &q);
	recv_all(f->s, &ms);
	assert_int_equal(ms.n, 3);
	for (int i = 0; i < 2; i++) {
		memcpy(&ifa, ms.m[i].body, sizeof(ifa));
		assert_int_equal(ifa.ifa_index, 3);
	}
	msgs_free(&ms);
}

static void addr_req(struct req *q, uint16_t type, uint16_t flags, int family, uint8_t plen,
		     uint32_t ifindex, const char *local, const char *address)
{
	memset(q, 0, sizeof(*q));
	struct ifaddrmsg ifa = { .ifa_family = (uint8_t)family, .ifa_prefixlen = plen,
				 .ifa_index = ifindex };
	begin(q, type, NLM_F_ACK | flags, 30, &ifa, sizeof(ifa));
	if (local)
		attr_addr(q, IFA_LOCAL, local);
	if (address)
		attr_addr(q, IFA_ADDRESS, address);
	end(q);
}

static void test_addr_new_del(void **state)
{
	struct fx *f = *state;
	struct rtnl_sock *mon = monitor(f, RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE);
	/* ip addr add 192.0.2.1/24 dev wg1 */
	struct req q;
	addr_req(&q, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, AF_INET, 24, 3, "192.0.2.1",
		 "192.0.2.1");
	assert_int_equal(request_error(f, &q, NULL), 0);
	assert_int_equal(f->wg1.n_addrs, 3);
	struct ip_addr dst;
	struct fib_route rt = route_to(f, "192.0.2.77", &dst);
	assert_int_equal(rt.ifindex, 3);
	assert_int_equal(rt.scope, RT_SCOPE_LINK);
	assert_addr_is(&rt.prefsrc, "192.0.2.1");
	/* The monitor hears of the address and of its connected route. */
	struct msgs ms;
	recv_all(mon, &ms);
	int seen_addr = 0, seen_route = 0;
	for (size_t i = 0; i < ms.n; i++) {
		if (ms.m[i].h.nlmsg_type == RTM_NEWADDR) {
			seen_addr++;
			assert_int_equal(ms.m[i].group, RTNLGRP_IPV4_IFADDR);
			assert_true(attr_is_addr(&ms.m[i], sizeof(struct ifaddrmsg), IFA_LOCAL,
						 "192.0.2.1"));
			assert_int_equal(ms.m[i].h.nlmsg_pid, 4242);   /* the requester */
			assert_int_equal(ms.m[i].h.nlmsg_seq, 30);
		}
		if (ms.m[i].h.nlmsg_type == RTM_NEWROUTE)
			seen_route++;
	}
	assert_int_equal(seen_addr, 1);
	assert_int_equal(seen_route, 1);
	msgs_free(&ms);
	/* It shows in the dump; adding it again fails. */
	dump_addrs(f, AF_INET, &ms);
	assert_int_equal(ms.n, 5);
	msgs_free(&ms);
	assert_int_equal(request_error(f, &q, NULL), -EEXIST);

	/* ip addr del 192.0.2.1/24 dev wg1 */
	addr_req(&q, RTM_DELADDR, 0, AF_INET, 24, 3, "192.0.2.1", "192.0.2.1");
	assert_int_equal(request_error(f, &q, NULL), 0);
	assert_int_equal(f->wg1.n_addrs, 2);
	assert_int_equal(fib_lookup(f->r.fib, &dst, &rt), -ENETUNREACH);
	recv_all(mon, &ms);
	bool del_addr = false, del_route = false;
	for (size_t i = 0; i < ms.n; i++) {
		del_addr |= ms.m[i].h.nlmsg_type == RTM_DELADDR;
		del_route |= ms.m[i].h.nlmsg_type == RTM_DELROUTE;
	}
	assert_true(del_addr && del_route);
	msgs_free(&ms);
	assert_int_equal(request_error(f, &q, NULL), -EADDRNOTAVAIL);

	/* lo and unknown devices */
	addr_req(&q, RTM_NEWADDR, NLM_F_CREATE, AF_INET, 32, 9, "192.0.2.9", NULL);
	assert_int_equal(request_error(f, &q, NULL), -ENODEV);
	rtnl_sock_free(mon);
}

static void test_addr_peer(void **state)
{
	struct fx *f = *state;
	/* ip addr add 172.20.9.1/32 peer 172.20.2.2/32 dev wg1 */
	struct req q;
	addr_req(&q, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, AF_INET, 32, 3, "172.20.9.1",
		 "172.20.2.2");
	assert_int_equal(request_error(f, &q, NULL), 0);
	struct fib_route rt;
	struct ip_addr peer = addr("172.20.2.2");
	assert_int_equal(fib_lookup(f->r.fib, &peer, &rt), 0);
	assert_int_equal(rt.prefix.len, 32);
	assert_int_equal(rt.ifindex, 3);
	assert_int_equal(rt.scope, RT_SCOPE_LINK);
	struct msgs ms;
	dump_addrs(f, AF_INET, &ms);
	const struct msg *m = &ms.m[ms.n - 2];
	struct ifaddrmsg ifa;
	memcpy(&ifa, m->body, sizeof(ifa));
	assert_int_equal(ifa.ifa_prefixlen, 32);
	assert_true(attr_is_addr(m, sizeof(ifa), IFA_LOCAL, "172.20.9.1"));
	assert_true(attr_is_addr(m, sizeof(ifa), IFA_ADDRESS, "172.20.2.2"));
	msgs_free(&ms);
	/* A route via the peer is now acceptable (the gateway is on a link). */
	route_req(&q, RTM_NEWROUTE, BIRD_ADD, 31, "172.22.0.0/16", RTN_UNICAST);
	attr_addr(&q, RTA_GATEWAY, "172.20.2.2");
	attr_u32(&q, RTA_OIF, 3);
	end(&q);
	assert_int_equal(request_error(f, &q, NULL), 0);
	addr_req(&q, RTM_DELADDR, 0, AF_INET, 32, 3, "172.20.9.1", "172.20.2.2");
	assert_int_equal(request_error(f, &q, NULL), 0);
	assert_int_equal(fib_lookup(f->r.fib, &peer, &rt), -ENETUNREACH);
}

/* ---- routes ---- */

static void test_route_dump(void **state)
{
	struct fx *f = *state;
	struct fib_route r = { .prefix = pfx("172.21.0.0/16"), .type = FIB_TYPE_UNICAST,
			       .gateway = addr("172.20.1.2"), .ifindex = 2, .priority = 32,
			       .protocol = RTPROT_BIRD, .prefsrc = addr("172.20.1.1") };
	assert_int_equal(fib_add(f->r.fib, &r, 0), 0);
	struct msgs ms;
	dump_routes(f, AF_INET, &ms);
	/* 172.20.1.0/24 (connected) and 172.21.0.0/16 */
	assert_int_equal(ms.n, 3);
	const struct msg *m = find_route(&ms, "172.21.0.0/16");
	assert_non_null(m);
	struct rtmsg rtm;
	memcpy(&rtm, m->body, sizeof(rtm));
	assert_int_equal(rtm.rtm_protocol, RTPROT_BIRD);
	assert_int_equal(rtm.rtm_type, RTN_UNICAST);
	assert_int_equal(rtm.rtm_table, RT_TABLE_MAIN);
	assert_int_equal(attr_get_u32(m, sizeof(rtm), RTA_TABLE), RT_TABLE_MAIN);
	assert_int_equal(attr_get_u32(m, sizeof(rtm), RTA_PRIORITY), 32);
	assert_int_equal(attr_get_u32(m, sizeof(rtm), RTA_OIF), 2);
	assert_true(attr_is_addr(m, sizeof(rtm), RTA_GATEWAY, "172.20.1.2"));
	assert_true(attr_is_addr(m, sizeof(rtm), RTA_PREFSRC, "172.20.1.1"));
	m = find_route(&ms, "172.20.1.0/24");
	assert_non_null(m);
	memcpy(&rtm, m->body, sizeof(rtm));
	assert_int_equal(rtm.rtm_protocol, RTPROT_KERNEL);
	assert_int_equal(rtm.rtm_scope, RT_SCOPE_LINK);
	msgs_free(&ms);
	/* A configured route with only a gateway still names its device (BIRD needs RTA_OIF). */
	struct fib_route conf = { .prefix = pfx("172.29.0.0/16"), .type = FIB_TYPE_UNICAST,
				  .gateway = addr("172.20.1.9"), .protocol = RTPROT_STATIC };
	assert_int_equal(fib_add(f->r.fib, &conf, 0), 0);
	dump_routes(f, AF_INET, &ms);
	m = find_route(&ms, "172.29.0.0/16");
	assert_non_null(m);
	assert_int_equal(attr_get_u32(m, sizeof(rtm), RTA_OIF), 2);
	msgs_free(&ms);
	assert_int_equal(fib_del(f->r.fib, &conf), 0);
	dump_routes(f, AF_INET6, &ms);
	assert_int_equal(ms.n, 3);   /* fe80::/64, fd42::/64 */
	assert_non_null(find_route(&ms, "fd42::/64"));
	msgs_free(&ms);
	dump_routes(f, AF_UNSPEC, &ms);
	assert_int_equal(ms.n, 5);
	msgs_free(&ms);
}

/* Sends q; returns the error of the single reply, or 1 if no reply came at all. */
static int request_maybe_ack(struct fx *f, struct req *q)
{
	send_req(f, f->s, q);
	struct msgs ms;
	recv_all(f->s, &ms);
	if (ms.n == 0)
		return 1;
	assert_int_equal(ms.n, 1);
	int e = error_of(&ms.m[0]);
	assert_int_equal(ms.m[0].h.nlmsg_seq, 40);
	assert_int_equal(ms.m[0].h.nlmsg_pid, 4242);
	msgs_free(&ms);
	return e;
}

/* A route request (msg, flags) for dst of type rtn via device oif: as request_maybe_ack. */
static int route_dev_request(struct fx *f, uint16_t msg, uint16_t flags, const char *dst,
			     uint8_t rtn, uint32_t oif)
{
	struct req q;
	route_req(&q, msg, flags, 40, dst, rtn);
	attr_u32(&q, RTA_OIF, oif);
	end(&q);
	return request_maybe_ack(f, &q);
}

static void test_route_add_excl_ack(void **state)
{
	struct fx *f = *state;
	struct req q;
	/* As BIRD: NLM_F_ACK|NLM_F_EXCL|NLM_F_CREATE, RTA_DST, RTA_PRIORITY, RTA_OIF, RTA_GATEWAY */
	route_req(&q, RTM_NEWROUTE, BIRD_ADD, 40, "172.22.0.0/16", RTN_UNICAST);
	attr_u32(&q, RTA_PRIORITY, 32);
	attr_u32(&q, RTA_OIF, 2);
	attr_addr(&q, RTA_GATEWAY, "172.20.1.2");
	end(&q);
	assert_int_equal(request_maybe_ack(f, &q), 0);
	assert_int_equal(request_maybe_ack(f, &q), -EEXIST);
	struct ip_addr dst;
	struct fib_route rt = route_to(f, "172.22.3.4", &dst);
	assert_int_equal(rt.priority, 32);
	assert_int_equal(rt.protocol, RTPROT_BIRD);
	assert_addr_is(&rt.gateway, "172.20.1.2");
	/* Without NLM_F_ACK a success is silent, an error is not. */
	assert_int_equal(route_dev_request(f, RTM_NEWROUTE, NLM_F_CREATE, "172.23.0.0/16",
					   RTN_UNICAST, 2), 1);
	assert_int_equal(route_dev_request(f, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL,
					   "172.23.0.0/16", RTN_UNICAST, 2), -EEXIST);
	/* Another priority is another route. */
	route_req(&q, RTM_NEWROUTE, BIRD_ADD, 40, "172.23.0.0/16", RTN_UNICAST);
	attr_u32(&q, RTA_OIF, 3);
	attr_u32(&q, RTA_PRIORITY, 100);
	end(&q);
	assert_int_equal(request_maybe_ack(f, &q), 0);
	assert_int_equal(fib_count(f->r.fib, AF_INET), 1 + 3);   /* wg0's connected route + ours */
}

static void test_route_replace_del(void **state)
{
	struct fx *f = *state;
	struct req q;
	assert_int_equal(route_dev_request(f, RTM_NEWROUTE, BIRD_ADD, "172.22.0.0/16",
					   RTN_UNICAST, 2), 0);
	/* ip route replace 172.22.0.0/16 dev wg1 */
	assert_int_equal(route_dev_request(f, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
					   "172.22.0.0/16", RTN_UNICAST, 3), 0);
	struct ip_addr dst;
	struct fib_route rt = route_to(f, "172.22.0.1", &dst);
	assert_int_equal(rt.ifindex, 3);
	assert_int_equal(fib_count(f->r.fib, AF_INET), 1 + 1);   /* replaced, not added */
	/* REPLACE without CREATE of a missing route: ENOENT */
	assert_int_equal(route_dev_request(f, RTM_NEWROUTE, NLM_F_ACK | NLM_F_REPLACE,
					   "172.29.0.0/16", RTN_UNICAST, 3), -ENOENT);
	/* A delete that names the wrong device misses; the right one hits; then ESRCH. */
	assert_int_equal(route_dev_request(f, RTM_DELROUTE, NLM_F_ACK, "172.22.0.0/16",
					   RTN_UNICAST, 2), -ESRCH);
	/* As BIRD deletes: scope nowhere, protocol, table, no next hop */
	memset(&q, 0, sizeof(q));
	struct rtmsg rtm = { .rtm_family = AF_INET, .rtm_dst_len = 16, .rtm_table = RT_TABLE_MAIN,
			     .rtm_protocol = RTPROT_BIRD, .rtm_scope = RT_SCOPE_NOWHERE };
	begin(&q, RTM_DELROUTE, NLM_F_ACK, 40, &rtm, sizeof(rtm));
	attr_addr(&q, RTA_DST, "172.22.0.0");
	end(&q);
	assert_int_equal(request_maybe_ack(f, &q), 0);
	assert_int_equal(request_maybe_ack(f, &q), -ESRCH);
	assert_int_equal(fib_lookup(f->r.fib, &dst, &rt), -ENETUNREACH);
}

static void test_route_via_v6(void **state)
{
	struct fx *f = *state;
	/* RFC 8950: 172.24.0.0/16 via inet6 fe80::2 dev wg0 (RTA_VIA, struct rtvia) */
	struct req q;
	route_req(&q, RTM_NEWROUTE, BIRD_ADD, 40, "172.24.0.0/16", RTN_UNICAST);
	attr_u32(&q, RTA_OIF, 2);
	uint8_t via[2 + 16];
	uint16_t fam = AF_INET6;
	memcpy(via, &fam, 2);
	struct ip_addr gw = addr("fe80::2");
	memcpy(via + 2, gw.bytes, 16);
	attr(&q, RTA_VIA, via, sizeof(via));
	end(&q);
	assert_int_equal(request_maybe_ack(f, &q), 0);
	struct ip_addr dst;
	struct fib_route rt = route_to(f, "172.24.1.1", &dst);
	assert_int_equal(rt.gateway.family, AF_INET6);
	assert_true(ip_addr_equal(&rt.gateway, &gw));
	assert_int_equal(ip_router_route_netif(&f->r, &dst, 0), &f->wg0);
	/* Reported back the same way. */
	struct msgs ms;
	dump_routes(f, AF_INET, &ms);
	const struct msg *m = find_route(&ms, "172.24.0.0/16");
	assert_non_null(m);
	uint16_t len;
	const uint8_t *p = find_attr(m, sizeof(struct rtmsg), RTA_VIA, &len);
	assert_non_null(p);
	assert_int_equal(len, sizeof(via));
	assert_memory_equal(p, via, sizeof(via));
	assert_null(find_attr(m, sizeof(struct rtmsg), RTA_GATEWAY, NULL));
	msgs_free(&ms);
	/* An IPv6 route cannot use RTA_VIA; a link-local gateway needs a device. */
	route_req(&q, RTM_NEWROUTE, BIRD_ADD, 40, "fd43::/48", RTN_UNICAST);
	attr(&q, RTA_VIA, via, sizeof(via));
	end(&q);
	assert_int_equal(request_maybe_ack(f, &q), -EINVAL);
	route_req(&q, RTM_NEWROUTE, BIRD_ADD, 40, "fd43::/48", RTN_UNICAST);
	attr_addr(&q, RTA_GATEWAY, "fe80::2");
	end(&q);
	assert_int_equal(request_maybe_ack(f, &q), -EINVAL);
	route_req(&q, RTM_NEWROUTE, BIRD_ADD, 40, "fd43::/48", RTN_UNICAST);
	attr_addr(&q, RTA_GATEWAY, "fe80::2");
	attr_u32(&q, RTA_OIF, 2);
	end(&q);
	assert_int_equal(request_maybe_ack(f, &q), 0);
}

static void test_route_types(void **state)
{
	struct fx *f = *state;
	const uint8_t rtn[] = { RTN_UNREACHABLE, RTN_BLACKHOLE, RTN_PROHIBIT };
	const uint8_t fibt[] = { FIB_TYPE_UNREACHABLE, FIB_TYPE_BLACKHOLE, FIB_TYPE_PROHIBIT };
	const char *pfxs[] = { "10.1.0.0/16", "10.2.0.0/16", "fd44::/48" };
	const char *dsts[] = { "10.1.2.3", "10.2.2.3", "fd44::1" };
	for (int i = 0; i < 3; i++) {
		struct req q;
		route_req(&q, RTM_NEWROUTE, BIRD_ADD, 40, pfxs[i], rtn[i]);
		attr_u32(&q, RTA_PRIORITY, 200);
		end(&q);
		assert_int_equal(request_maybe_ack(f, &q), 0);
		struct fib_route rt;
		struct ip_addr dst = addr(dsts[i]);
		assert_int_equal(fib_lookup(f->r.fib, &dst, &rt), 0);
		assert_int_equal(rt.type, fibt[i]);
		assert_int_equal(rt.priority, 200);
		struct msgs ms;
		dump_routes(f, dst.family, &ms);
		const struct msg *m = find_route(&ms, pfxs[i]);
		assert_non_null(m);
		struct rtmsg rtm;
		memcpy(&rtm, m->body, sizeof(rtm));
		assert_int_equal(rtm.rtm_type, rtn[i]);
		assert_int_equal(attr_get_u32(m, sizeof(rtm), RTA_PRIORITY), 200);
		msgs_free(&ms);
	}
	/* A reject route with a device is refused; RTN_LOCAL is not ours to add. */
	assert_int_equal(route_dev_request(f, RTM_NEWROUTE, BIRD_ADD, "10.3.0.0/16",
					   RTN_BLACKHOLE, 2), -EINVAL);
	assert_int_equal(route_dev_request(f, RTM_NEWROUTE, BIRD_ADD, "10.3.0.0/16",
					   RTN_LOCAL, 2), -EOPNOTSUPP);
	/* IPv6 routes without a metric get Linux's 1024. */
	assert_int_equal(route_dev_request(f, RTM_NEWROUTE, BIRD_ADD, "fd45::/48",
					   RTN_UNICAST, 3), 0);
	struct fib_route rt;
	struct ip_addr d6 = addr("fd45::1");
	assert_int_equal(fib_lookup(f->r.fib, &d6, &rt), 0);
	assert_int_equal(rt.priority, 1024);
}

static void test_route_checks(void **state)
{
	struct fx *f = *state;
	assert_int_equal(rtnl_sock_setsockopt(f->s, NETLINK_EXT_ACK, 1), 0);
	const char *why;
	struct req q;
	route_req(&q, RTM_NEWROUTE, BIRD_ADD, 40, "172.22.1.0/16", RTN_UNICAST);
	attr_u32(&q, RTA_OIF, 2);
	end(&q);
	assert_int_equal(request_error(f, &q, &why), -EINVAL);
	assert_string_equal(why, "Invalid prefix for given prefix length");

	route_req(&q, RTM_NEWROUTE, BIRD_ADD, 40, "172.22.0.0/16", RTN_UNICAST);
	attr_u32(&q, RTA_OIF, 99);
	end(&q);
	assert_int_equal(request_error(f, &q, &why), -ENODEV);
	assert_string_equal(why, "Nexthop device does not exist");

	route_req(&q, RTM_NEWROUTE, BIRD_ADD, 40, "172.22.0.0/16", RTN_UNICAST);
	attr_addr(&q, RTA_GATEWAY, "198.51.100.1");
	end(&q);
	assert_int_equal(request_error(f, &q, &why), -ENETUNREACH);
	assert_string_equal(why, "Nexthop has invalid gateway");

	/* A gateway on wg0's subnet named with wg1 as device. */
	route_req(&q, RTM_NEWROUTE, BIRD_ADD, 40, "172.22.0.0/16", RTN_UNICAST);
	attr_addr(&q, RTA_GATEWAY, "172.20.1.2");
	attr_u32(&q, RTA_OIF, 3);
	end(&q);
	assert_int_equal(request_error(f, &q, &why), -EINVAL);

	/* Without a device, the gateway's route gives it. */
	route_req(&q, RTM_NEWROUTE, BIRD_ADD, 40, "172.22.0.0/16", RTN_UNICAST);
	attr_addr(&q, RTA_GATEWAY, "172.20.1.2");
	attr_addr(&q, RTA_PREFSRC, "10.0.0.1");
	end(&q);
	assert_int_equal(request_error(f, &q, &why), 0);
	struct ip_addr dst;
	struct fib_route rt = route_to(f, "172.22.0.9", &dst);
	assert_int_equal(rt.ifindex, 2);

	route_req(&q, RTM_NEWROUTE, BIRD_ADD, 40, "172.25.0.0/16", RTN_UNICAST);
	attr_u32(&q, RTA_OIF, 2);
	attr_addr(&q, RTA_PREFSRC, "192.0.2.200");
	end(&q);
	assert_int_equal(request_error(f, &q, &why), -EINVAL);
	assert_string_equal(why, "Invalid prefsrc address");

	/* A truncated attribute. */
	route_req(&q, RTM_NEWROUTE, BIRD_ADD, 40, "172.25.0.0/16", RTN_UNICAST);
	attr(&q, RTA_OIF, "\x02", 1);
	end(&q);
	assert_int_equal(request_error(f, &q, NULL), -EINVAL);
}

static void test_route_multipath(void **state)
{
	struct fx *f = *state;
	assert_int_equal(rtnl_sock_setsockopt(f->s, NETLINK_EXT_ACK, 1), 0);
	for (int hops = 1; hops <= 2; hops++) {
		struct req q;
		route_req(&q, RTM_NEWROUTE, BIRD_ADD, 40, "172.26.0.0/16", RTN_UNICAST);
		uint8_t mp[64];
		size_t mlen = 0;
		for (int i = 0; i < hops; i++) {
			struct rtnexthop nh = { .rtnh_len = sizeof(nh) + 8, .rtnh_ifindex = 2 };
			struct nlattr gwa = { .nla_len = 8, .nla_type = RTA_GATEWAY };
			struct ip_addr gw = addr(i ? "172.20.1.3" : "172.20.1.2");
			memcpy(mp + mlen, &nh, sizeof(nh));
			memcpy(mp + mlen + sizeof(nh), &gwa, sizeof(gwa));
			memcpy(mp + mlen + sizeof(nh) + 4, gw.bytes, 4);
			mlen += sizeof(nh) + 8;
		}
		attr(&q, RTA_MULTIPATH, mp, mlen);
		end(&q);
		const char *why;
		int e = request_error(f, &q, &why);
		if (hops == 1) {
			assert_int_equal(e, 0);
			struct fib_route rt;
			struct ip_addr dst = addr("172.26.0.1");
			assert_int_equal(fib_lookup(f->r.fib, &dst, &rt), 0);
			assert_int_equal(rt.ifindex, 2);
			assert_int_equal(rt.gateway.bytes[3], 2);
		} else {
			assert_int_equal(e, -EOPNOTSUPP);
			assert_non_null(strstr(why, "Multipath routes are not supported"));
		}
	}
}

static void test_route_get(void **state)
{
	struct fx *f = *state;
	struct fib_route r = { .prefix = pfx("0.0.0.0/0"), .type = FIB_TYPE_UNICAST,
			       .gateway = addr("172.20.1.2"), .ifindex = 2 };
	assert_int_equal(fib_add(f->r.fib, &r, 0), 0);
	/* ip route get 203.0.113.5 */
	struct req q = { 0 };
	struct rtmsg rtm = { .rtm_family = AF_INET, .rtm_dst_len = 32 };
	begin(&q, RTM_GETROUTE, 0, 50, &rtm, sizeof(rtm));
	attr_addr(&q, RTA_DST, "203.0.113.5");
	end(&q);
	send_req(f, f->s, &q);
	struct msgs ms;
	recv_all(f->s, &ms);
	assert_int_equal(ms.n, 1);
	const struct msg *m = &ms.m[0];
	assert_int_equal(m->h.nlmsg_type, RTM_NEWROUTE);
	struct rtmsg got;
	memcpy(&got, m->body, sizeof(got));
	assert_int_equal(got.rtm_dst_len, 32);
	assert_true(got.rtm_flags & RTM_F_CLONED);
	assert_true(attr_is_addr(m, sizeof(got), RTA_DST, "203.0.113.5"));
	assert_true(attr_is_addr(m, sizeof(got), RTA_GATEWAY, "172.20.1.2"));
	assert_true(attr_is_addr(m, sizeof(got), RTA_PREFSRC, "172.20.1.1"));
	assert_int_equal(attr_get_u32(m, sizeof(got), RTA_OIF), 2);
	msgs_free(&ms);
	/* One of our own addresses is local. */
	memset(&q, 0, sizeof(q));
	begin(&q, RTM_GETROUTE, 0, 51, &rtm, sizeof(rtm));
	attr_addr(&q, RTA_DST, "10.0.0.1");
	end(&q);
	send_req(f, f->s, &q);
	recv_all(f->s, &ms);
	memcpy(&got, ms.m[0].body, sizeof(got));
	assert_int_equal(got.rtm_type, RTN_LOCAL);
	msgs_free(&ms);
	/* No IPv6 default: unreachable. */
	memset(&q, 0, sizeof(q));
	struct rtmsg rtm6 = { .rtm_family = AF_INET6, .rtm_dst_len = 128 };
	begin(&q, RTM_GETROUTE, 0, 52, &rtm6, sizeof(rtm6));
	attr_addr(&q, RTA_DST, "2001:db8::1");
	end(&q);
	assert_int_equal(request_error(f, &q, NULL), -ENETUNREACH);
}

/* ---- dumps, notifications, queues ---- */

static void test_big_dump(void **state)
{
	struct fx *f = *state;
	for (uint32_t i = 0; i < 10000; i++) {
		struct fib_route r = { .prefix = { .addr = { .family = AF_INET,
							     .bytes = { 10, (uint8_t)(i >> 8),
									(uint8_t)i, 0 } },
						   .len = 24 },
				       .type = FIB_TYPE_UNICAST, .ifindex = 2, .protocol = RTPROT_BIRD };
		if (i >= 256 * 200)
			break;
		r.prefix.addr.bytes[1] = (uint8_t)(100 + i / 256);
		assert_int_equal(fib_add(f->r.fib, &r, 0), 0);
	}
	size_t total = fib_count(f->r.fib, AF_INET);
	assert_int_equal(total, 10000 + 1);
	/* The reader's 8 KiB buffer (BIRD's NL_RX_SIZE) sizes the datagrams. */
	uint8_t small[8192];
	assert_int_equal(rtnl_sock_recv(f->s, small, sizeof(small), false, NULL), -EAGAIN);
	struct msgs ms;
	dump_routes_cap(f, AF_INET, &ms, sizeof(small));
	assert_int_equal(ms.n, total + 1);
	assert_true(ms.dgrams > 50);
	assert_true(ms.max_dgram <= 8192);
	size_t done = 0;
	for (size_t i = 0; i < ms.n; i++)
		done += ms.m[i].h.nlmsg_type == NLMSG_DONE;
	assert_int_equal(done, 1);
	msgs_free(&ms);
}

/*
 * A dump of 100k routes goes out in pieces as the reader takes them: the
 * queue never holds more than a piece, a second dump on the socket is EBUSY
 * meanwhile (and the transport stops taking requests: rtnl_sock_busy), every
 * route arrives exactly once, and a change during the dump marks the
 * messages after it NLM_F_DUMP_INTR.
 */
static void test_dump_in_pieces(void **state)
{
	struct fx *f = *state;
	const uint32_t n_routes = 100000;
	for (uint32_t i = 0; i < n_routes; i++) {
		struct fib_route r = { .prefix = { .addr = { .family = AF_INET,
							     .bytes = { 10, (uint8_t)(i >> 16),
									(uint8_t)(i >> 8), (uint8_t)i } },
						   .len = 32 },
				       .type = FIB_TYPE_UNICAST, .ifindex = 2, .protocol = RTPROT_BIRD };
		assert_int_equal(fib_add(f->r.fib, &r, 0), 0);
	}
	size_t total = fib_count(f->r.fib, AF_INET);
	assert_true(rtnl_sock_bind(f->s, 0) == 0);
	struct req q;
	struct rtmsg rtm = { .rtm_family = AF_INET };
	dump_req(&q, RTM_GETROUTE, 78, &rtm, sizeof(rtm));
	send_req(f, f->s, &q);
	assert_true(rtnl_sock_busy(f->s));
	size_t first = rtnl_sock_pending(f->s);
	/* one piece (64 KiB in 4 KiB datagrams before the reader's buffer is known), not 100k routes */
	assert_true(first >= 1 && first <= 20);

	/* another dump on the same socket while this one runs */
	dump_req(&q, RTM_GETROUTE, 79, &rtm, sizeof(rtm));
	send_req(f, f->s, &q);

	static uint8_t buf[16384];
	size_t routes = 0, dones = 0, intr = 0, errors = 0, dgrams = 0, max_pending = 0;
	bool changed = false;
	while (rtnl_sock_pending(f->s)) {
		size_t pend = rtnl_sock_pending(f->s);
		if (pend > max_pending)
			max_pending = pend;
		ssize_t n = rtnl_sock_recv(f->s, buf, sizeof(buf), false, NULL);
		assert_true(n > 0 && (size_t)n <= sizeof(buf));
		dgrams++;
		for (size_t off = 0; off < (size_t)n;) {
			struct nlmsghdr h;
			memcpy(&h, buf + off, sizeof(h));
			assert_true(h.nlmsg_len >= sizeof(h) && h.nlmsg_len <= (size_t)n - off);
			if (h.nlmsg_type == NLMSG_ERROR) {
				int err;
				memcpy(&err, buf + off + sizeof(h), sizeof(err));
				assert_int_equal(err, -EBUSY);
				assert_int_equal(h.nlmsg_seq, 79);
				errors++;
			} else if (h.nlmsg_type == NLMSG_DONE) {
				dones++;
			} else {
				assert_int_equal(h.nlmsg_type, RTM_NEWROUTE);
				assert_int_equal(h.nlmsg_seq, 78);
				routes++;
				intr += (h.nlmsg_flags & NLM_F_DUMP_INTR) != 0;
			}
			off += NLMSG_ALIGN(h.nlmsg_len);
		}
		if (dgrams == 100 && !changed) {
			/* a route change in the middle of the dump */
			struct fib_route r = { .prefix = pfx("172.31.0.0/16"),
					       .type = FIB_TYPE_UNICAST, .ifindex = 2 };
			assert_int_equal(fib_add(f->r.fib, &r, 0), 0);
			changed = true;
		}
	}
	assert_int_equal(errors, 1);
	assert_int_equal(dones, 1);
	assert_true(routes >= total && routes <= total + 1);
	assert_true(intr > 0 && intr < routes);
	assert_true(max_pending <= 20);
	assert_false(rtnl_sock_busy(f->s));
	/* and a dump after it, unchanged FIB: every route exactly once, none flagged (counted as
	 * they come: 100k stored messages would make the test quadratic under ASan's realloc) */
	dump_req(&q, RTM_GETROUTE, 80, &rtm, sizeof(rtm));
	send_req(f, f->s, &q);
	routes = dones = intr = 0;
	while (rtnl_sock_pending(f->s)) {
		ssize_t n = rtnl_sock_recv(f->s, buf, sizeof(buf), false, NULL);
		assert_true(n > 0 && (size_t)n <= sizeof(buf));
		for (size_t off = 0; off < (size_t)n;) {
			struct nlmsghdr h;
			memcpy(&h, buf + off, sizeof(h));
			assert_true(h.nlmsg_len >= sizeof(h) && h.nlmsg_len <= (size_t)n - off);
			routes += h.nlmsg_type == RTM_NEWROUTE;
			dones += h.nlmsg_type == NLMSG_DONE;
			intr += (h.nlmsg_flags & NLM_F_DUMP_INTR) != 0;
			off += NLMSG_ALIGN(h.nlmsg_len);
		}
	}
	assert_int_equal(routes, total + 1);
	assert_int_equal(dones, 1);
	assert_int_equal(intr, 0);
}

static void test_notifications(void **state)
{
	struct fx *f = *state;
	struct rtnl_sock *v4 = rtnl_sock_new(f->nl, 0), *v6 = rtnl_sock_new(f->nl, 0),
			 *none = rtnl_sock_new(f->nl, 0), *bird = rtnl_sock_new(f->nl, 0);
	assert_non_null(v4);
	assert_non_null(v6);
	assert_non_null(none);
	assert_non_null(bird);
	assert_int_not_equal(rtnl_sock_portid(v4), rtnl_sock_portid(v6));
	assert_int_equal(rtnl_sock_setsockopt(v4, NETLINK_ADD_MEMBERSHIP, RTNLGRP_IPV4_ROUTE), 0);
	assert_int_equal(rtnl_sock_setsockopt(v6, NETLINK_ADD_MEMBERSHIP, RTNLGRP_IPV6_ROUTE), 0);
	assert_int_equal(rtnl_sock_bind(bird, 0x551), 0);   /* what BIRD binds */
	assert_int_equal(rtnl_sock_setsockopt(none, 12345, 1), -ENOPROTOOPT);
	unsigned before = f->wakeups;

	/* A route from the configuration (no request): portid 0, seq 0. */
	struct fib_route r = { .prefix = pfx("172.27.0.0/16"), .type = FIB_TYPE_UNICAST,
			       .ifindex = 3, .protocol = RTPROT_STATIC };
	assert_int_equal(fib_add(f->r.fib, &r, 0), 0);
	/* And one from a request. */
	assert_int_equal(route_dev_request(f, RTM_NEWROUTE, BIRD_ADD, "172.28.0.0/16",
					   RTN_UNICAST, 2), 0);

	struct msgs ms;
	recv_n(v4, &ms, 2);
	assert_int_equal(ms.m[0].h.nlmsg_type, RTM_NEWROUTE);
	assert_int_equal(ms.m[0].group, RTNLGRP_IPV4_ROUTE);
	assert_int_equal(ms.m[0].h.nlmsg_pid, 0);
	assert_non_null(find_route(&(struct msgs){ .m = ms.m, .n = 2 }, "172.27.0.0/16"));
	assert_int_equal(ms.m[1].h.nlmsg_pid, 4242);
	assert_int_equal(ms.m[1].h.nlmsg_seq, 40);
	struct rtmsg rtm;
	memcpy(&rtm, ms.m[1].body, sizeof(rtm));
	assert_int_equal(rtm.rtm_protocol, RTPROT_BIRD);
	assert_int_equal(attr_get_u32(&ms.m[1], sizeof(rtm), RTA_OIF), 2);
	msgs_free(&ms);
	recv_n(bird, &ms, 2);
	msgs_free(&ms);
	assert_int_equal(rtnl_sock_pending(v6), 0);
	assert_int_equal(rtnl_sock_pending(none), 0);
	assert_true(f->wakeups > before);

	/* Deletion is told too; a dropped membership hears nothing more. */
	assert_int_equal(rtnl_sock_setsockopt(bird, NETLINK_DROP_MEMBERSHIP, RTNLGRP_IPV4_ROUTE), 0);
	assert_int_equal(fib_del(f->r.fib, &r), 0);
	recv_one(v4, &ms, RTM_DELROUTE);
	msgs_free(&ms);
	assert_int_equal(rtnl_sock_pending(bird), 0);

	r.prefix = pfx("fd46::/48");
	assert_int_equal(fib_add(f->r.fib, &r, 0), 0);
	assert_int_equal(rtnl_sock_pending(v6), 1);
	assert_int_equal(rtnl_sock_pending(v4), 0);
	rtnl_sock_free(v4);
	rtnl_sock_free(v6);
	rtnl_sock_free(none);
	rtnl_sock_free(bird);
}

/* The i-th of the routes that flood a monitor: 10.x.y.0/24 out of wg0. */
static struct fib_route flood_route(uint32_t i)
{
	return (struct fib_route){ .prefix = { .addr = { .family = AF_INET,
							 .bytes = { 10, (uint8_t)(i >> 8), (uint8_t)i, 0 } },
					       .len = 24 },
				   .type = FIB_TYPE_UNICAST, .ifindex = 2 };
}

static void test_enobufs(void **state)
{
	struct fx *f = *state;
	struct rtnl_sock *mon = monitor(f, RTMGRP_IPV4_ROUTE);
	size_t added = 0;
	for (uint32_t i = 0; i < 5000; i++) {
		struct fib_route r = flood_route(i);
		assert_int_equal(fib_add(f->r.fib, &r, 0), 0);
		added++;
	}
	size_t queued = rtnl_sock_pending(mon);
	assert_true(queued > 100 && queued < added);   /* bounded */
	uint8_t buf[1024];
	assert_int_equal(rtnl_sock_recv(mon, buf, sizeof(buf), false, NULL), -ENOBUFS);
	ssize_t n = rtnl_sock_recv(mon, buf, sizeof(buf), false, NULL);   /* once only */
	assert_true(n > 0);
	/* MSG_PEEK leaves it; a short buffer still learns the length (MSG_TRUNC). */
	ssize_t full = rtnl_sock_recv(mon, buf, sizeof(buf), true, NULL);
	assert_true(full > 16);
	assert_int_equal(rtnl_sock_recv(mon, buf, 4, false, NULL), full);
	/* NETLINK_NO_ENOBUFS: drops quietly. */
	struct msgs ms;
	recv_all(mon, &ms);
	msgs_free(&ms);
	assert_int_equal(rtnl_sock_setsockopt(mon, NETLINK_NO_ENOBUFS, 1), 0);
	for (uint32_t i = 0; i < 5000; i++) {
		struct fib_route r = flood_route(i);
		assert_int_equal(fib_del(f->r.fib, &r), 0);
	}
	assert_true(rtnl_sock_recv(mon, buf, sizeof(buf), false, NULL) > 0);
	rtnl_sock_free(mon);
}

/* A dump request of type with header hdr (len bytes) is refused: EINVAL, and reason as its ext ack. */
static void dump_refused(struct fx *f, uint16_t type, uint32_t seq, const void *hdr, size_t len,
			 const char *reason)
{
	struct req q;
	const char *why;
	dump_req(&q, type, seq, hdr, len);
	assert_int_equal(request_error(f, &q, &why), -EINVAL);
	assert_string_equal(why, reason);
}

static void test_strict_checks(void **state)
{
	struct fx *f = *state;
	assert_int_equal(rtnl_sock_setsockopt(f->s, NETLINK_GET_STRICT_CHK, 1), 0);
	assert_int_equal(rtnl_sock_setsockopt(f->s, NETLINK_EXT_ACK, 1), 0);
	const char *why;
	struct req q;
	/* The old rtgenmsg-only dump, and headers with filters set, are refused. */
	const struct {
		uint16_t type;
		const void *hdr;
		size_t len;
		const char *why;
	} refused[] = {
		{ RTM_GETROUTE, &(struct rtgenmsg){ .rtgen_family = AF_INET }, sizeof(struct rtgenmsg),
		  "Invalid header for FIB dump request" },
		{ RTM_GETROUTE, &(struct rtmsg){ .rtm_family = AF_INET, .rtm_dst_len = 8 },
		  sizeof(struct rtmsg), "Invalid values in header for FIB dump request" },
		{ RTM_GETLINK, &(struct ifinfomsg){ .ifi_flags = IFF_UP }, sizeof(struct ifinfomsg),
		  "Invalid values in header for link dump request" },
		{ RTM_GETADDR, &(struct ifaddrmsg){ .ifa_family = AF_INET, .ifa_prefixlen = 24 },
		  sizeof(struct ifaddrmsg), "Invalid values in header for address dump request" },
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		dump_refused(f, refused[i].type, 60 + (uint32_t)i, refused[i].hdr, refused[i].len,
			     refused[i].why);
	/* An unknown attribute in a route dump request. */
	memset(&q, 0, sizeof(q));
	struct rtmsg ok = { .rtm_family = AF_INET };
	begin(&q, RTM_GETROUTE, NLM_F_DUMP, 64, &ok, sizeof(ok));
	attr_u32(&q, RTA_PRIORITY, 5);
	end(&q);
	assert_int_equal(request_error(f, &q, &why), -EINVAL);
	assert_string_equal(why, "Unsupported attribute in dump request");
	/* A table filter is honoured: table 100 holds one route. */
	struct fib_route r = { .prefix = pfx("172.30.0.0/16"), .type = FIB_TYPE_UNICAST,
			       .ifindex = 2, .table = 100 };
	assert_int_equal(fib_add(f->r.fib, &r, 0), 0);
	memset(&q, 0, sizeof(q));
	begin(&q, RTM_GETROUTE, NLM_F_DUMP, 65, &ok, sizeof(ok));
	attr_u32(&q, RTA_TABLE, 100);
	end(&q);
	send_req(f, f->s, &q);
	struct msgs ms;
	recv_all(f->s, &ms);
	assert_int_equal(ms.n, 2);
	assert_int_equal(attr_get_u32(&ms.m[0], sizeof(ok), RTA_TABLE), 100);
	msgs_free(&ms);
	/* Without strict checking the same header errors are ignored. */
	assert_int_equal(rtnl_sock_setsockopt(f->s, NETLINK_GET_STRICT_CHK, 0), 0);
	dump_req(&q, RTM_GETROUTE, 66, refused[0].hdr, refused[0].len);   /* the old rtgenmsg dump */
	send_req(f, f->s, &q);
	recv_all(f->s, &ms);
	assert_int_equal(ms.m[ms.n - 1].h.nlmsg_type, NLMSG_DONE);
	assert_int_equal(ms.n, 3);   /* connected 172.20.1.0/24, table 100's route, DONE */
	msgs_free(&ms);
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	/* nlmsg_len beyond the datagram */
	struct req q;
	struct rtmsg rtm = { .rtm_family = AF_INET };
	dump_req(&q, RTM_GETROUTE, 70, &rtm, sizeof(rtm));
	uint32_t bad = 4000;
	memcpy(q.buf, &bad, 4);
	assert_int_equal(request_error(f, &q, NULL), -EINVAL);
	/* nlmsg_len below the header */
	bad = 8;
	memcpy(q.buf, &bad, 4);
	assert_int_equal(request_error(f, &q, NULL), -EINVAL);
	/* an attribute running past the message */
	route_req(&q, RTM_NEWROUTE, BIRD_ADD, 71, "172.22.0.0/16", RTN_UNICAST);
	attr_u32(&q, RTA_OIF, 2);
	end(&q);
	uint16_t huge = 200;
	memcpy(q.buf + q.len - 8, &huge, 2);
	assert_int_equal(request_error(f, &q, NULL), -EINVAL);
	/* a body too short for its header */
	memset(&q, 0, sizeof(q));
	begin(&q, RTM_NEWROUTE, NLM_F_ACK, 72, "\x02\x00\x00\x00", 4);
	end(&q);
	assert_int_equal(request_error(f, &q, NULL), -EINVAL);
	/* unknown message types */
	memset(&q, 0, sizeof(q));
	begin(&q, 0x7ff0, NLM_F_ACK, 73, "\x02\x00\x00\x00", 4);
	end(&q);
	assert_int_equal(request_error(f, &q, NULL), -EOPNOTSUPP);
	/* Junk shorter than a header is ignored, as the kernel ignores it. */
	assert_int_equal(rtnl_sock_send(f->s, "abc", 3), 0);
	assert_int_equal(rtnl_sock_pending(f->s), 0);
	/* An error echoes the request unless NETLINK_CAP_ACK. */
	memset(&q, 0, sizeof(q));
	begin(&q, RTM_DELLINK, 0, 74, &(struct ifinfomsg){ .ifi_index = 99 },
	      sizeof(struct ifinfomsg));
	end(&q);
	send_req(f, f->s, &q);
	struct msgs ms;
	recv_all(f->s, &ms);
	assert_int_equal(ms.n, 1);
	assert_int_equal(ms.m[0].body_len, sizeof(int) + q.len);
	assert_memory_equal(ms.m[0].body + sizeof(int), q.buf, q.len);
	msgs_free(&ms);
	assert_int_equal(rtnl_sock_setsockopt(f->s, NETLINK_CAP_ACK, 1), 0);
	send_req(f, f->s, &q);
	recv_all(f->s, &ms);
	assert_int_equal(ms.m[0].body_len, sizeof(struct nlmsgerr));
	assert_true(ms.m[0].h.nlmsg_flags & NLM_F_CAPPED);
	msgs_free(&ms);
}

static void test_batch_and_portids(void **state)
{
	struct fx *f = *state;
	/* Two requests in one datagram: answered in order. */
	struct req q;
	route_req(&q, RTM_NEWROUTE, BIRD_ADD, 80, "172.22.0.0/16", RTN_UNICAST);
	attr_u32(&q, RTA_OIF, 2);
	end(&q);
	struct rtmsg rtm = { .rtm_family = AF_INET };
	begin(&q, RTM_GETROUTE, NLM_F_DUMP, 81, &rtm, sizeof(rtm));
	end(&q);
	send_req(f, f->s, &q);
	struct msgs ms;
	recv_all(f->s, &ms);
	assert_int_equal(ms.m[0].h.nlmsg_seq, 80);
	assert_int_equal(error_of(&ms.m[0]), 0);
	assert_int_equal(ms.m[1].h.nlmsg_seq, 81);
	assert_int_equal(ms.m[ms.n - 1].h.nlmsg_type, NLMSG_DONE);
	assert_int_equal(ms.n, 1 + 2 + 1);
	msgs_free(&ms);
	/* portids */
	assert_null(rtnl_sock_new(f->nl, 4242));
	assert_int_equal(errno, EADDRINUSE);
	struct rtnl_sock *a = rtnl_sock_new(f->nl, 0);
	assert_non_null(a);
	assert_int_not_equal(rtnl_sock_portid(a), 0);
	assert_int_not_equal(rtnl_sock_portid(a), 4242);
	rtnl_sock_free(a);
	/* Empty dumps for what the router has none of (ip neigh). */
	struct ndmsg nd = { .ndm_family = AF_UNSPEC };
	dump_req(&q, RTM_GETNEIGH, 82, &nd, sizeof(nd));
	send_req(f, f->s, &q);
	recv_all(f->s, &ms);
	assert_int_equal(ms.n, 1);
	assert_int_equal(ms.m[0].h.nlmsg_type, NLMSG_DONE);
	msgs_free(&ms);
}

/* ---- links created and deleted at runtime, lo's addresses ---- */

/* "ip link add NAME type KIND" as iproute2 sends it; flags: ifi_flags (IFF_UP for "up"). */
static void link_add_req(struct req *q, uint32_t seq, const char *name, const char *kind,
			 uint32_t flags)
{
	memset(q, 0, sizeof(*q));
	struct ifinfomsg ifi = { .ifi_flags = flags, .ifi_change = flags ? IFF_UP : 0 };
	begin(q, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, &ifi, sizeof(ifi));
	attr(q, IFLA_IFNAME, name, strlen(name) + 1);
	struct nlattr li = { .nla_len = (uint16_t)(NLA_HDRLEN + NLA_HDRLEN + NLA_ALIGN(strlen(kind))),
			     .nla_type = IFLA_LINKINFO | NLA_F_NESTED };
	put(q, &li, sizeof(li));
	attr(q, IFLA_INFO_KIND, kind, strlen(kind));
	end(q);
}

static int ack_of(struct fx *f, struct req *q)
{
	send_req(f, f->s, q);
	struct msgs ms;
	recv_all(f->s, &ms);
	assert_int_equal(ms.n, 1);
	int e = error_of(&ms.m[0]);
	msgs_free(&ms);
	return e;
}

static void ifaddr_req(struct req *q, uint16_t type, uint32_t seq, uint32_t ifindex,
		     const char *prefix)
{
	memset(q, 0, sizeof(*q));
	struct ip_prefix p = pfx(prefix);
	struct ifaddrmsg ifa = { .ifa_family = p.addr.family, .ifa_prefixlen = p.len,
				 .ifa_index = ifindex };
	begin(q, type, NLM_F_ACK | (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0), seq,
	      &ifa, sizeof(ifa));
	attr(q, IFA_LOCAL, p.addr.bytes, ip_addr_size(&p.addr));
	attr(q, IFA_ADDRESS, p.addr.bytes, ip_addr_size(&p.addr));
	end(q);
}

static bool routed_via(struct fx *f, const char *dst, uint32_t ifindex)
{
	struct fib_route rt;
	struct ip_addr a = addr(dst);
	return fib_lookup(f->r.fib, &a, &rt) == 0 && rt.ifindex == ifindex;
}

static void test_link_create_dummy(void **state)
{
	struct fx *f = *state;
	struct rtnl_sock *mon = monitor(f, RTMGRP_LINK | RTMGRP_IPV4_IFADDR);
	struct req q;
	link_add_req(&q, 30, "dn42", "dummy", 0);
	assert_int_equal(ack_of(f, &q), 0);
	struct netif *d = ip_router_netif_by_name(&f->r, "dn42");
	assert_non_null(d);
	assert_int_equal(d->ifindex, 4);
	assert_true(d->down);   /* as on Linux, until "ip link set dn42 up" */
	struct msgs ms;
	recv_n(mon, &ms, 1);   /* one RTM_NEWLINK, already with its final flags */
	assert_int_equal(ms.m[0].h.nlmsg_type, RTM_NEWLINK);
	struct ifinfomsg ifi;
	memcpy(&ifi, ms.m[0].body, sizeof(ifi));
	assert_int_equal(ifi.ifi_index, 4);
	assert_int_equal(ifi.ifi_flags & IFF_UP, 0);
	assert_int_equal(ifi.ifi_type, ARPHRD_ETHER);
	msgs_free(&ms);

	/* Again: EEXIST; an unknown kind: EOPNOTSUPP. */
	link_add_req(&q, 31, "dn42", "dummy", 0);
	assert_int_equal(ack_of(f, &q), -EEXIST);
	link_add_req(&q, 32, "br0", "bridge", 0);
	assert_int_equal(ack_of(f, &q), -EOPNOTSUPP);
	assert_null(ip_router_netif_by_name(&f->r, "br0"));
	link_add_req(&q, 33, "a/b", "dummy", 0);
	assert_int_equal(ack_of(f, &q), -EINVAL);
	/* A pattern takes the first free number, as dev_alloc_name. */
	link_add_req(&q, 39, "dn%d", "dummy", 0);
	assert_int_equal(ack_of(f, &q), 0);
	link_add_req(&q, 39, "dn%d", "dummy", 0);
	assert_int_equal(ack_of(f, &q), 0);
	assert_non_null(ip_router_netif_by_name(&f->r, "dn0"));
	struct netif *dn1 = ip_router_netif_by_name(&f->r, "dn1");
	assert_non_null(dn1);
	link_add_req(&q, 39, "dn%d%d", "dummy", 0);
	assert_int_equal(ack_of(f, &q), -EINVAL);
	ip_router_destroy_netif(&f->r, ip_router_netif_by_name(&f->r, "dn0"));
	ip_router_destroy_netif(&f->r, dn1);

	/* An address on a down dummy is not local yet and has no route. */
	ifaddr_req(&q, RTM_NEWADDR, 34, 4, "172.20.9.1/24");
	assert_int_equal(ack_of(f, &q), 0);
	struct ip_addr a = addr("172.20.9.1");
	assert_null(ip_router_local_netif(&f->r, &a, NULL));
	assert_false(routed_via(f, "172.20.9.7", 4));
	recv_all(mon, &ms);
	msgs_free(&ms);

	/* ip link set dn42 up: local, connected route, RTM_NEWLINK with IFF_UP. */
	struct ifinfomsg up = { .ifi_index = 4, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
	memset(&q, 0, sizeof(q));
	begin(&q, RTM_NEWLINK, NLM_F_ACK, 35, &up, sizeof(up));
	end(&q);
	assert_int_equal(ack_of(f, &q), 0);
	assert_ptr_equal(ip_router_local_netif(&f->r, &a, NULL), d);
	assert_true(routed_via(f, "172.20.9.7", 4));
	recv_n(mon, &ms, 1);
	memcpy(&ifi, ms.m[0].body, sizeof(ifi));
	assert_int_equal(ifi.ifi_flags & IFF_UP, IFF_UP);
	msgs_free(&ms);

	/* The dump shows it with its kind; a kind filter finds it alone. */
	struct ifinfomsg any = { 0 };
	dump_req(&q, RTM_GETLINK, 36, &any, sizeof(any));
	send_req(f, f->s, &q);
	recv_all(f->s, &ms);
	assert_int_equal(ms.n, 5);   /* lo, wg0, wg1, dn42, DONE */
	uint16_t len;
	const uint8_t *name = find_attr(&ms.m[3], sizeof(ifi), IFLA_IFNAME, &len);
	assert_non_null(name);
	assert_string_equal((const char *)name, "dn42");
	msgs_free(&ms);

	/* ip link del dn42: its address, then the link, are withdrawn; its route goes. */
	memset(&q, 0, sizeof(q));
	begin(&q, RTM_DELLINK, NLM_F_ACK, 37, &(struct ifinfomsg){ 0 }, sizeof(struct ifinfomsg));
	attr(&q, IFLA_IFNAME, "dn42", 5);
	end(&q);
	assert_int_equal(ack_of(f, &q), 0);
	assert_null(ip_router_netif_by_name(&f->r, "dn42"));
	assert_false(routed_via(f, "172.20.9.7", 4));
	recv_n(mon, &ms, 2);
	assert_int_equal(ms.m[0].h.nlmsg_type, RTM_DELADDR);
	assert_int_equal(ms.m[1].h.nlmsg_type, RTM_DELLINK);
	msgs_free(&ms);
	assert_int_equal(ack_of(f, &q), -ENODEV);

	/* lo cannot be deleted. */
	memset(&q, 0, sizeof(q));
	begin(&q, RTM_DELLINK, NLM_F_ACK, 38, &(struct ifinfomsg){ .ifi_index = 1 },
	      sizeof(struct ifinfomsg));
	end(&q);
	assert_int_equal(ack_of(f, &q), -EOPNOTSUPP);
	rtnl_sock_free(mon);
}

static void test_link_down_up(void **state)
{
	struct fx *f = *state;
	/* ip link set wg0 down: the connected route goes, its addresses stop being ours. */
	assert_true(routed_via(f, "172.20.1.9", 2));
	struct req q;
	struct ifinfomsg down = { .ifi_index = 2, .ifi_flags = 0, .ifi_change = IFF_UP };
	memset(&q, 0, sizeof(q));
	begin(&q, RTM_NEWLINK, NLM_F_ACK, 40, &down, sizeof(down));
	end(&q);
	assert_int_equal(ack_of(f, &q), 0);
	assert_true(f->wg0.down);
	assert_false(routed_via(f, "172.20.1.9", 2));
	struct ip_addr a = addr("172.20.1.1");
	assert_null(ip_router_local_netif(&f->r, &a, NULL));
	/* A packet routed out of it anyway is dropped, not sent. */
	struct ifinfomsg up = { .ifi_index = 2, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
	memset(&q, 0, sizeof(q));
	begin(&q, RTM_SETLINK, NLM_F_ACK, 41, &up, sizeof(up));
	attr_u32(&q, IFLA_MTU, 1300);
	end(&q);
	assert_int_equal(ack_of(f, &q), 0);
	assert_false(f->wg0.down);
	assert_int_equal(f->wg0.mtu, 1300);
	assert_true(routed_via(f, "172.20.1.9", 2));
	assert_ptr_equal(ip_router_local_netif(&f->r, &a, NULL), &f->wg0);
}

static struct netif made;
static struct netif *make_test_link(void *ctx, const char *name, int *err)
{
	struct fx *f = ctx;
	memset(&made, 0, sizeof(made));
	snprintf(made.name, sizeof(made.name), "%s", name);
	made.mtu = 1420;
	made.ops = &drop_ops;   /* kind wireguard */
	*err = ip_router_add_netif(&f->r, &made);
	return *err ? NULL : &made;
}

static void test_link_kind_registry(void **state)
{
	struct fx *f = *state;
	assert_int_equal(rtnl_register_link_kind(f->nl, "wireguard", make_test_link, f), 0);
	assert_int_equal(rtnl_register_link_kind(f->nl, "wireguard", make_test_link, f), -EEXIST);
	assert_int_equal(rtnl_register_link_kind(f->nl, "dummy", make_test_link, f), -EEXIST);
	struct rtnl_sock *mon = monitor(f, RTMGRP_LINK);
	/* "ip link add wg9 mtu 1400 up type wireguard" */
	struct req q;
	link_add_req(&q, 50, "wg9", "wireguard", IFF_UP);
	/* MTU attribute after the link info: iproute2's order does not matter. */
	q.start = 0;
	attr_u32(&q, IFLA_MTU, 1400);
	end(&q);
	assert_int_equal(ack_of(f, &q), 0);
	assert_false(made.down);
	assert_int_equal(made.mtu, 1400);
	struct msgs ms;
	recv_n(mon, &ms, 1);
	assert_int_equal(attr_get_u32(&ms.m[0], sizeof(struct ifinfomsg), IFLA_MTU), 1400);
	msgs_free(&ms);
	/* An MTU the kind refuses creates nothing. */
	link_add_req(&q, 51, "wg10", "wireguard", 0);
	q.start = 0;
	attr_u32(&q, IFLA_MTU, 9000);
	end(&q);
	assert_int_equal(ack_of(f, &q), -EINVAL);
	assert_null(ip_router_netif_by_name(&f->r, "wg10"));
	ip_router_del_netif(&f->r, &made);
	recv_all(mon, &ms);
	msgs_free(&ms);
	rtnl_sock_free(mon);
}

static void test_lo_addresses(void **state)
{
	struct fx *f = *state;
	struct rtnl_sock *mon = monitor(f, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR);
	/* ip addr add 172.20.0.53/32 dev lo; ip addr add fd42:53::1/128 dev lo */
	struct req q;
	ifaddr_req(&q, RTM_NEWADDR, 60, 1, "172.20.0.53/32");
	assert_int_equal(ack_of(f, &q), 0);
	ifaddr_req(&q, RTM_NEWADDR, 61, 1, "fd42:53::1/128");
	assert_int_equal(ack_of(f, &q), 0);
	struct ip_addr a4 = addr("172.20.0.53"), a6 = addr("fd42:53::1");
	assert_ptr_equal(ip_router_local_netif(&f->r, &a4, NULL), &f->r.loopback);
	assert_ptr_equal(ip_router_local_netif(&f->r, &a6, NULL), &f->r.loopback);
	struct msgs ms;
	recv_n(mon, &ms, 2);
	struct ifaddrmsg ifa;
	memcpy(&ifa, ms.m[0].body, sizeof(ifa));
	assert_int_equal(ifa.ifa_index, 1);
	assert_int_equal(ifa.ifa_scope, RT_SCOPE_UNIVERSE);
	msgs_free(&ms);

	/* The dump: lo's 127.0.0.1 first, then the node address, then wg0's and wg1's. */
	dump_addrs(f, AF_INET, &ms);
	assert_int_equal(ms.n, 5);
	assert_true(attr_is_addr(&ms.m[0], sizeof(ifa), IFA_LOCAL, "127.0.0.1"));
	assert_true(attr_is_addr(&ms.m[1], sizeof(ifa), IFA_LOCAL, "172.20.0.53"));
	memcpy(&ifa, ms.m[1].body, sizeof(ifa));
	assert_int_equal(ifa.ifa_index, 1);
	msgs_free(&ms);

	/* The host's loopback addresses stay the host's. */
	ifaddr_req(&q, RTM_NEWADDR, 62, 1, "127.0.0.2/8");
	assert_int_equal(ack_of(f, &q), -EOPNOTSUPP);
	ifaddr_req(&q, RTM_DELADDR, 63, 1, "172.20.0.53/32");
	assert_int_equal(ack_of(f, &q), 0);
	assert_null(ip_router_local_netif(&f->r, &a4, NULL));
	recv_one(mon, &ms, RTM_DELADDR);
	msgs_free(&ms);
	rtnl_sock_free(mon);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_link_dump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_get_by_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_added_with_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_changed_outside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_set_mtu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addr_dump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addr_new_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addr_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_dump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_add_excl_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_replace_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_via_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_multipath, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_dump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump_in_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notifications, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enobufs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strict_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_and_portids, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_create_dummy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_down_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_kind_registry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lo_addresses, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
