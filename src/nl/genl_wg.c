/*
 * The "wireguard" generic netlink family, as the kernel module has it
 * (drivers/net/wireguard/netlink.c and include/uapi/linux/wireguard.h), so the
 * `wg` tool works unmodified inside the router.
 *
 * WG_CMD_GET_DEVICE is a dump of one device (WGDEVICE_A_IFINDEX or _IFNAME):
 * the first message carries the device's attributes, and peers follow in as
 * many messages as they need, each at most GENL_DUMP_MSG_MAX bytes. A peer
 * whose AllowedIPs do not fit continues in the next message under its public
 * key alone, which `wg` merges (its coalesce_peers), exactly as the kernel
 * splits big peer lists.
 *
 * WG_CMD_SET_DEVICE applies, in the kernel's order: listen port, REPLACE_PEERS,
 * private key, then each peer (REMOVE_ME, UPDATE_ONLY, preshared key,
 * endpoint, REPLACE_ALLOWEDIPS, AllowedIPs, keepalive). Like the kernel's, it
 * is not atomic: an error stops it where it happened, and the errno is the
 * kernel's (-ENODEV, -EOPNOTSUPP for a device that is not WireGuard or unknown
 * flags, -EBADR without exactly one of ifindex/ifname, -EINVAL for malformed
 * attributes, -EPFNOSUPPORT for another protocol version, -EADDRINUSE…).
 *
 * Byte counters are the peer's rx_bytes/tx_bytes, which count what the kernel
 * counts: whole UDP payloads of handshake messages and transport messages
 * (keepalives included) that authenticated or were sent.
 */
#include <errno.h>
#include <linux/wireguard.h>
#include <net/if.h>
#include <string.h>

#include "nl/genl.h"
#include "wg/device.h"
#include "wg/peer.h"

/* What `wg` reads as struct timespec64. */
struct wg_timespec64 {
	int64_t tv_sec;
	int64_t tv_nsec;
};

/* ---- attribute helpers ---- */

static bool get_u16(const struct nla *a, uint16_t *v)
{
	if (!a->data || a->len != sizeof(*v))
		return false;
	memcpy(v, a->data, sizeof(*v));
	return true;
}

static void put_u16(struct nlbuf *b, uint16_t type, uint16_t v)
{
	nla_put(b, type, &v, sizeof(v));
}

static void put_u64(struct nlbuf *b, uint16_t type, uint64_t v)
{
	nla_put(b, type, &v, sizeof(v));
}

/*
 * Walks the attributes nested in a: *off is the cursor (start at 0). Fills
 * *out with the next one; false at the end. *bad is set if one is malformed.
 */
static bool nested_next(const struct nla *a, const uint8_t *base, size_t *off, struct nla *out,
			bool *bad)
{
	if (!a->data || *off + NLA_HDRLEN > a->len)
		return false;
	struct nlattr h;
	memcpy(&h, a->data + *off, sizeof(h));
	if (h.nla_len < NLA_HDRLEN || h.nla_len > a->len - *off) {
		*bad = true;
		return false;
	}
	*out = (struct nla){ .data = a->data + *off + NLA_HDRLEN,
			     .len = (uint16_t)(h.nla_len - NLA_HDRLEN),
			     .offset = (size_t)(a->data + *off - base) };
	*off += NLA_ALIGN(h.nla_len);
	return true;
}

/* The device the request names, as the kernel's lookup_interface. */
static int lookup_device(struct rtnl_req *q, const struct nla *tb, struct wg_device **out)
{
	struct ip_router *r = q->s->nl->router;
	const struct nla *ai = &tb[WGDEVICE_A_IFINDEX], *an = &tb[WGDEVICE_A_IFNAME];
	if (!ai->data == !an->data)
		return rtnl_fail(q, -EBADR, "Exactly one of WGDEVICE_A_IFINDEX and WGDEVICE_A_IFNAME");
	struct netif *nif = NULL;
	bool is_lo = false;
	if (ai->data) {
		uint32_t index;
		if (!nla_get_u32(ai, &index))
			return rtnl_fail(q, -EINVAL, "WGDEVICE_A_IFINDEX is not a u32");
		nif = ip_router_netif_by_index(r, index);
		is_lo = index == IP_LOOPBACK_IFINDEX;
	} else {
		char name[IFNAMSIZ];
		size_t n = strnlen((const char *)an->data, an->len);
		if (n == 0 || n >= IFNAMSIZ)
			return rtnl_fail(q, -EINVAL, "WGDEVICE_A_IFNAME is not an interface name");
		memcpy(name, an->data, n);
		name[n] = '\0';
		nif = ip_router_netif_by_name(r, name);
		is_lo = strcmp(name, "lo") == 0;
	}
	if (!nif && is_lo)
		return -EOPNOTSUPP;   /* it exists, but is not WireGuard */
	if (!nif)
		return -ENODEV;
	if (nif->ops->kind != NETIF_KIND_WIREGUARD)
		return -EOPNOTSUPP;
	*out = wg_device_of_netif(nif);
	return 0;
}

/* ---- WG_CMD_GET_DEVICE ---- */

static void put_device_attrs(struct nlbuf *b, const struct wg_device *dev)
{
	put_u16(b, WGDEVICE_A_LISTEN_PORT, dev->listen_port);
	nla_put_u32(b, WGDEVICE_A_FWMARK, dev->fwmark);
	nla_put_u32(b, WGDEVICE_A_IFINDEX, dev->netif.ifindex);
	nla_put_str(b, WGDEVICE_A_IFNAME, dev->netif.name);
	if (dev->identity.has_identity) {
		nla_put(b, WGDEVICE_A_PRIVATE_KEY, dev->identity.private_key, WG_KEY_LEN);
		nla_put(b, WGDEVICE_A_PUBLIC_KEY, dev->identity.public_key, WG_KEY_LEN);
	}
}

static void put_peer_attrs(struct nlbuf *b, const struct wg_peer *peer)
{
	nla_put(b, WGPEER_A_PUBLIC_KEY, peer->public_key, WG_KEY_LEN);
	nla_put(b, WGPEER_A_PRESHARED_KEY, peer->handshake.preshared_key, WG_KEY_LEN);
	struct wg_timespec64 ts = {
		.tv_sec = (int64_t)(peer->walltime_last_handshake / NSEC_PER_SEC),
		.tv_nsec = (int64_t)(peer->walltime_last_handshake % NSEC_PER_SEC),
	};
	nla_put(b, WGPEER_A_LAST_HANDSHAKE_TIME, &ts, sizeof(ts));
	put_u16(b, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, peer->persistent_keepalive);
	put_u64(b, WGPEER_A_TX_BYTES, peer->tx_bytes);
	put_u64(b, WGPEER_A_RX_BYTES, peer->rx_bytes);
	nla_put_u32(b, WGPEER_A_PROTOCOL_VERSION, 1);
	if (peer->has_endpoint)
		nla_put(b, WGPEER_A_ENDPOINT, &peer->endpoint, sockaddr_inet_len(&peer->endpoint));
}

static void put_allowed_ip(struct nlbuf *b, const struct ip_prefix *p)
{
	size_t n = nla_nest_begin(b, 0);
	put_u16(b, WGALLOWEDIP_A_FAMILY, p->addr.family);
	nla_put(b, WGALLOWEDIP_A_IPADDR, p->addr.bytes, ip_addr_size(&p->addr));
	nla_put_u8(b, WGALLOWEDIP_A_CIDR_MASK, p->len);
	nla_nest_end(b, n);
}

/* Where a dump stands: the next peer and, inside it, the next AllowedIP. */
struct dump_pos {
	size_t peer, allowed_ip;
};

/*
 * One dump message: device attributes in the first, then whole peers or the
 * rest of one, until GENL_DUMP_MSG_MAX. Rolls back whatever would overflow.
 */
static void fill_dump_message(struct nlbuf *b, const struct wg_device *dev, struct dump_pos *pos,
			      bool first, uint32_t seq, uint32_t portid)
{
	size_t msg = genlmsg_begin(b, GENL_WG_FAMILY_ID, NLM_F_MULTI, seq, portid,
				   WG_CMD_GET_DEVICE, WG_GENL_VERSION);
	if (first)
		put_device_attrs(b, dev);
	size_t peers = nla_nest_begin(b, WGDEVICE_A_PEERS);
	bool any = false;
	while (pos->peer < dev->n_peers && !b->nomem) {
		const struct wg_peer *peer = dev->peers[pos->peer];
		size_t before_peer = b->len;
		size_t pn = nla_nest_begin(b, 0);
		if (pos->allowed_ip == 0)
			put_peer_attrs(b, peer);
		else   /* continuation: `wg` merges it with the peer before by its key */
			nla_put(b, WGPEER_A_PUBLIC_KEY, peer->public_key, WG_KEY_LEN);
		if (b->len - msg > GENL_DUMP_MSG_MAX && any) {
			b->len = before_peer;
			break;
		}
		size_t ai = nla_nest_begin(b, WGPEER_A_ALLOWEDIPS);
		bool full = false;
		while (pos->allowed_ip < peer->n_allowed_ips) {
			size_t before = b->len;
			put_allowed_ip(b, &peer->allowed_ips[pos->allowed_ip]);
			if (b->len - msg > GENL_DUMP_MSG_MAX) {
				b->len = before;
				full = true;
				break;
			}
			pos->allowed_ip++;
		}
		nla_nest_end(b, ai);
		nla_nest_end(b, pn);
		any = true;
		if (full)
			break;
		pos->peer++;
		pos->allowed_ip = 0;
	}
	nla_nest_end(b, peers);
	nlmsg_end(b, msg);
}

static int wg_get_device(struct rtnl_req *q, const uint8_t *attrs, size_t len)
{
	/* The kernel has only a dumpit for this command. */
	if ((q->hdr.nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
		return -EOPNOTSUPP;
	struct nla tb[WGDEVICE_A_MAX + 1];
	if (nla_parse(attrs, len, q->msg, tb, WGDEVICE_A_MAX) < 0)
		return rtnl_fail(q, -EINVAL, "Malformed attribute");
	struct wg_device *dev;
	int r = lookup_device(q, tb, &dev);
	if (r)
		return r;

	struct rtnl_dump d;
	rtnl_dump_init(&d, q);
	/*
	 * The kernel sends a dump one skb (one message here) per datagram, and
	 * readers size their buffer for that: never pack several big ones.
	 */
	d.chunk = GENL_DUMP_MSG_MAX;
	struct dump_pos pos = { 0, 0 };
	bool first = true;
	while (first || pos.peer < dev->n_peers) {
		struct nlbuf b = { 0 };
		struct dump_pos was = pos;
		fill_dump_message(&b, dev, &pos, first, q->hdr.nlmsg_seq, q->s->portid);
		if (b.nomem)
			d.nomem = true;
		else
			rtnl_dump_add(&d, b.data, b.len);
		if (b.data)
			crypto_wipe(b.data, b.cap);   /* the private key was in it */
		nlbuf_free(&b);
		if (d.nomem || (!first && pos.peer == was.peer && pos.allowed_ip == was.allowed_ip))
			break;   /* no progress: out of memory */
		first = false;
	}
	return rtnl_dump_finish(&d) < 0 ? -ENOMEM : RTNL_DONE;
}

/* ---- WG_CMD_SET_DEVICE ---- */

static int set_allowed_ip(struct rtnl_req *q, struct wg_device *dev, struct wg_peer *peer,
			  const struct nla *attr)
{
	struct nla tb[WGALLOWEDIP_A_MAX + 1];
	if (nla_parse(attr->data, attr->len, q->msg, tb, WGALLOWEDIP_A_MAX) < 0)
		return rtnl_fail(q, -EINVAL, "Malformed AllowedIP attribute");
	uint16_t family;
	uint8_t cidr;
	if (!get_u16(&tb[WGALLOWEDIP_A_FAMILY], &family) || !tb[WGALLOWEDIP_A_IPADDR].data ||
	    !nla_get_u8(&tb[WGALLOWEDIP_A_CIDR_MASK], &cidr))
		return -EINVAL;
	struct ip_prefix p = { .len = cidr };
	if (!((family == AF_INET && cidr <= 32) || (family == AF_INET6 && cidr <= 128)) ||
	    !nla_get_addr(&tb[WGALLOWEDIP_A_IPADDR], family, &p.addr))
		return -EINVAL;
	return wg_device_peer_add_allowed_ip(dev, peer, &p);
}

static bool endpoint_from_attr(const struct nla *a, union sockaddr_inet *out)
{
	memset(out, 0, sizeof(*out));
	if (a->len == sizeof(struct sockaddr_in)) {
		memcpy(&out->in4, a->data, sizeof(out->in4));
		return out->sa.sa_family == AF_INET;
	}
	if (a->len == sizeof(struct sockaddr_in6)) {
		memcpy(&out->in6, a->data, sizeof(out->in6));
		return out->sa.sa_family == AF_INET6;
	}
	return false;
}

static int set_peer(struct rtnl_req *q, struct wg_device *dev, const struct nla *attr)
{
	struct nla tb[WGPEER_A_MAX + 1];
	if (nla_parse(attr->data, attr->len, q->msg, tb, WGPEER_A_MAX) < 0)
		return rtnl_fail(q, -EINVAL, "Malformed peer attribute");
	const struct nla *key = &tb[WGPEER_A_PUBLIC_KEY];
	if (!key->data || key->len != WG_KEY_LEN)
		return rtnl_fail(q, -EINVAL, "A peer needs WGPEER_A_PUBLIC_KEY");
	const struct nla *pska = &tb[WGPEER_A_PRESHARED_KEY];
	/* The kernel's policy: keys exactly 32 bytes, an endpoint at least a sockaddr. */
	if (pska->data && pska->len != WG_KEY_LEN)
		return rtnl_fail(q, -EINVAL, "WGPEER_A_PRESHARED_KEY is not 32 bytes");
	if (tb[WGPEER_A_ENDPOINT].data && tb[WGPEER_A_ENDPOINT].len < sizeof(struct sockaddr))
		return rtnl_fail(q, -EINVAL, "WGPEER_A_ENDPOINT is shorter than a sockaddr");
	const uint8_t *psk = pska->data;
	uint32_t flags = 0, version;
	if (tb[WGPEER_A_FLAGS].data && !nla_get_u32(&tb[WGPEER_A_FLAGS], &flags))
		return -EINVAL;
	if (flags & ~(uint32_t)__WGPEER_F_ALL)
		return -EOPNOTSUPP;
	if (tb[WGPEER_A_PROTOCOL_VERSION].data &&
	    (!nla_get_u32(&tb[WGPEER_A_PROTOCOL_VERSION], &version) || version != 1))
		return -EPFNOSUPPORT;

	struct wg_peer *peer = wg_device_peer_by_key(dev, key->data);
	if (!peer) {
		if (flags & (WGPEER_F_REMOVE_ME | WGPEER_F_UPDATE_ONLY))
			return 0;
		flags &= ~(uint32_t)WGPEER_F_REPLACE_ALLOWEDIPS;   /* nothing to replace */
		/* The kernel silently ignores a peer with the device's own public key. */
		if (dev->identity.has_identity &&
		    memcmp(key->data, dev->identity.public_key, WG_KEY_LEN) == 0)
			return 0;
		int err;
		peer = wg_device_add_peer(dev, key->data, &err);
		if (!peer)
			return err;
	}
	if (flags & WGPEER_F_REMOVE_ME) {
		wg_device_remove_peer(dev, peer);
		return 0;
	}
	if (psk)
		wg_peer_set_preshared_key(peer, psk);
	if (tb[WGPEER_A_ENDPOINT].data) {
		union sockaddr_inet ep;
		/* Anything but a sockaddr_in/in6 is ignored, as in the kernel. */
		if (endpoint_from_attr(&tb[WGPEER_A_ENDPOINT], &ep))
			wg_peer_configure_endpoint(peer, &ep);
	}
	if (flags & WGPEER_F_REPLACE_ALLOWEDIPS)
		wg_device_peer_clear_allowed_ips(dev, peer);
	if (tb[WGPEER_A_ALLOWEDIPS].data) {
		size_t off = 0;
		bool bad = false;
		struct nla ai;
		while (nested_next(&tb[WGPEER_A_ALLOWEDIPS], q->msg, &off, &ai, &bad)) {
			int r = set_allowed_ip(q, dev, peer, &ai);
			if (r < 0)
				return r;
		}
		if (bad)
			return rtnl_fail(q, -EINVAL, "Malformed AllowedIPs");
	}
	uint16_t keepalive;
	if (tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL].data) {
		if (!get_u16(&tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL], &keepalive))
			return -EINVAL;
		wg_peer_set_persistent_keepalive(peer, keepalive);
	}
	wg_peer_kick(peer);
	return 0;
}

static int wg_set_device(struct rtnl_req *q, const uint8_t *attrs, size_t len)
{
	struct nla tb[WGDEVICE_A_MAX + 1];
	if (nla_parse(attrs, len, q->msg, tb, WGDEVICE_A_MAX) < 0)
		return rtnl_fail(q, -EINVAL, "Malformed attribute");
	/* The kernel's policy checks the attributes before anything happens. */
	if (tb[WGDEVICE_A_PRIVATE_KEY].data && tb[WGDEVICE_A_PRIVATE_KEY].len != WG_KEY_LEN)
		return rtnl_fail(q, -EINVAL, "WGDEVICE_A_PRIVATE_KEY is not 32 bytes");
	struct wg_device *dev;
	int r = lookup_device(q, tb, &dev);
	if (r)
		return r;
	uint32_t flags = 0;
	if (tb[WGDEVICE_A_FLAGS].data && !nla_get_u32(&tb[WGDEVICE_A_FLAGS], &flags))
		return -EINVAL;
	if (flags & ~(uint32_t)__WGDEVICE_F_ALL)
		return -EOPNOTSUPP;
	if (tb[WGDEVICE_A_FWMARK].data) {
		uint32_t mark;
		if (!nla_get_u32(&tb[WGDEVICE_A_FWMARK], &mark))
			return -EINVAL;
		dev->fwmark = mark;
	}
	if (tb[WGDEVICE_A_LISTEN_PORT].data) {
		uint16_t port;
		if (!get_u16(&tb[WGDEVICE_A_LISTEN_PORT], &port))
			return -EINVAL;
		r = wg_device_set_listen_port(dev, port);
		if (r < 0)
			return r;
	}
	if (flags & WGDEVICE_F_REPLACE_PEERS)
		wg_device_remove_all_peers(dev);
	const struct nla *pk = &tb[WGDEVICE_A_PRIVATE_KEY];
	if (pk->data) {
		r = wg_device_set_private_key(dev, pk->data);
		if (r < 0)
			return r;
	}
	if (tb[WGDEVICE_A_PEERS].data) {
		size_t off = 0;
		bool bad = false;
		struct nla peer;
		while (nested_next(&tb[WGDEVICE_A_PEERS], q->msg, &off, &peer, &bad)) {
			r = set_peer(q, dev, &peer);
			if (r < 0)
				return r;
		}
		if (bad)
			return rtnl_fail(q, -EINVAL, "Malformed peer list");
	}
	return 0;
}

int genl_wg_request(struct rtnl_req *q, uint8_t cmd, const uint8_t *attrs, size_t len)
{
	switch (cmd) {
	case WG_CMD_GET_DEVICE:
		return wg_get_device(q, attrs, len);
	case WG_CMD_SET_DEVICE:
		return wg_set_device(q, attrs, len);
	default:
		return -EOPNOTSUPP;
	}
}
