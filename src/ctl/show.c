#include "ctl/show.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "ip/netif.h"

static void json_key(struct strbuf *out, const char *key)
{
	strbuf_json_string(out, key);
	strbuf_puts(out, ":");
}

static void json_str_field(struct strbuf *out, const char *key, const char *val, bool comma)
{
	json_key(out, key);
	strbuf_json_string(out, val);
	if (comma)
		strbuf_puts(out, ",");
}

static void json_u64_field(struct strbuf *out, const char *key, uint64_t v, bool comma)
{
	json_key(out, key);
	strbuf_printf(out, "%" PRIu64 "%s", v, comma ? "," : "");
}

static void json_prefix_array(struct strbuf *out, const struct ip_prefix *p, size_t n)
{
	strbuf_puts(out, "[");
	for (size_t i = 0; i < n; i++) {
		char buf[IP_PREFIX_STRLEN];
		if (i)
			strbuf_puts(out, ",");
		strbuf_json_string(out, ip_prefix_format(&p[i], buf));
	}
	strbuf_puts(out, "]");
}

static void text_prefix_list(struct strbuf *out, const struct ip_prefix *p, size_t n)
{
	if (n == 0)
		strbuf_puts(out, "(none)");
	for (size_t i = 0; i < n; i++) {
		char buf[IP_PREFIX_STRLEN];
		strbuf_printf(out, "%s%s", i ? ", " : "", ip_prefix_format(&p[i], buf));
	}
}

/* The i-th WireGuard interface of the router (others are skipped), or NULL past the last. */
static const struct wg_device *nth_wg_device(const struct ip_router *r, size_t i)
{
	for (size_t k = 0; k < r->n_netifs; k++) {
		struct netif *nif = r->netifs[k];
		if (nif->ops->kind == NETIF_KIND_WIREGUARD && i-- == 0)
			return wg_device_of_netif(nif);
	}
	return NULL;
}

void show_interfaces(struct strbuf *out, const struct ip_router *r, bool json)
{
	if (json)
		strbuf_puts(out, "{\"interfaces\":[");
	const struct wg_device *dev;
	for (size_t i = 0; (dev = nth_wg_device(r, i)); i++) {
		const struct netif *nif = &dev->netif;
		if (json) {
			strbuf_puts(out, i ? ",{" : "{");
			json_str_field(out, "name", nif->name, true);
			json_u64_field(out, "ifindex", nif->ifindex, true);
			json_str_field(out, "public_key", dev->public_key_b64, true);
			json_u64_field(out, "listen_port", dev->listen_port, true);
			json_u64_field(out, "mtu", nif->mtu, true);
			json_u64_field(out, "peers", dev->n_peers, true);
			json_key(out, "addresses");
			json_prefix_array(out, nif->addrs, nif->n_addrs);
			strbuf_puts(out, ",");
			json_u64_field(out, "rx_packets", nif->stats.rx_packets, true);
			json_u64_field(out, "rx_bytes", nif->stats.rx_bytes, true);
			json_u64_field(out, "tx_packets", nif->stats.tx_packets, true);
			json_u64_field(out, "tx_bytes", nif->stats.tx_bytes, true);
			json_u64_field(out, "cookie_replies_sent", dev->cookie_replies_sent, true);
			json_key(out, "drops");
			strbuf_puts(out, "{");
			bool first = true;
			for (unsigned d = 0; d < DROP_MAX; d++) {
				const char *name = netif_drop_name(nif, d);
				if (!name)
					continue;
				if (!first)
					strbuf_puts(out, ",");
				json_u64_field(out, name, nif->stats.drops[d], false);
				first = false;
			}
			strbuf_puts(out, "}}");
			continue;
		}
		strbuf_printf(out, "%s%s: ifindex %u, mtu %u, listening port %u%s, %zu peer%s\n",
			      i ? "\n" : "", nif->name, nif->ifindex, nif->mtu, dev->listen_port,
			      dev->listen_port_configured ? "" : " (ephemeral)", dev->n_peers,
			      dev->n_peers == 1 ? "" : "s");
		strbuf_printf(out, "  public key: %s\n  addresses: ",
			      dev->public_key_b64[0] ? dev->public_key_b64 : "(none: no private key)");
		text_prefix_list(out, nif->addrs, nif->n_addrs);
		strbuf_printf(out, "\n  rx: %" PRIu64 " packets, %" PRIu64 " bytes\n"
				   "  tx: %" PRIu64 " packets, %" PRIu64 " bytes\n",
			      nif->stats.rx_packets, nif->stats.rx_bytes,
			      nif->stats.tx_packets, nif->stats.tx_bytes);
		bool any = false;
		for (unsigned d = 0; d < DROP_MAX; d++) {
			const char *name = netif_drop_name(nif, d);
			if (!name || !nif->stats.drops[d])
				continue;
			strbuf_printf(out, "%s %s %" PRIu64, any ? "," : "  drops:", name,
				      nif->stats.drops[d]);
			any = true;
		}
		strbuf_puts(out, any ? "\n" : "  drops: none\n");
	}
	if (json)
		strbuf_puts(out, "]}\n");
}

static void text_ago(struct strbuf *out, uint64_t then_ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t secs = (int64_t)ts.tv_sec - (int64_t)(then_ns / 1000000000ULL);
	if (secs < 0)
		secs = 0;
	int64_t h = secs / 3600, m = (secs / 60) % 60, s = secs % 60;
	if (h)
		strbuf_printf(out, "%" PRId64 " hour%s, ", h, h == 1 ? "" : "s");
	if (h || m)
		strbuf_printf(out, "%" PRId64 " minute%s, ", m, m == 1 ? "" : "s");
	strbuf_printf(out, "%" PRId64 " second%s ago", s, s == 1 ? "" : "s");
}

static void text_bytes(struct strbuf *out, uint64_t bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned u = 0;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		strbuf_printf(out, "%" PRIu64 " B", bytes);
	else
		strbuf_printf(out, "%.2f %s", v, units[u]);
}

static void show_peer_json(struct strbuf *out, const struct wg_peer *peer)
{
	char ep[64];
	json_str_field(out, "public_key", peer->public_key_b64, true);
	json_key(out, "endpoint");
	if (peer->has_endpoint)
		strbuf_json_string(out, sockaddr_inet_format(&peer->endpoint, ep, sizeof(ep)));
	else
		strbuf_puts(out, "null");
	strbuf_puts(out, ",");
	json_key(out, "allowed_ips");
	json_prefix_array(out, peer->allowed_ips, peer->n_allowed_ips);
	strbuf_puts(out, ",");
	json_u64_field(out, "latest_handshake", peer->walltime_last_handshake / 1000000000ULL, true);
	json_u64_field(out, "rx_bytes", peer->rx_bytes, true);
	json_u64_field(out, "tx_bytes", peer->tx_bytes, true);
	json_u64_field(out, "persistent_keepalive", peer->persistent_keepalive, true);
	json_u64_field(out, "handshakes", peer->handshakes_completed, true);
	json_key(out, "has_session");
	strbuf_puts(out, peer->current && peer->current->valid ? "true" : "false");
}

void show_peers(struct strbuf *out, const struct ip_router *r, bool json)
{
	if (json)
		strbuf_puts(out, "{\"interfaces\":[");
	const struct wg_device *dev;
	for (size_t i = 0; (dev = nth_wg_device(r, i)); i++) {
		if (json) {
			strbuf_puts(out, i ? ",{" : "{");
			json_str_field(out, "name", dev->netif.name, true);
			json_str_field(out, "public_key", dev->public_key_b64, true);
			json_u64_field(out, "listen_port", dev->listen_port, true);
			json_key(out, "peers");
			strbuf_puts(out, "[");
			for (size_t p = 0; p < dev->n_peers; p++) {
				strbuf_puts(out, p ? ",{" : "{");
				show_peer_json(out, dev->peers[p]);
				strbuf_puts(out, "}");
			}
			strbuf_puts(out, "]}");
			continue;
		}
		strbuf_printf(out, "%sinterface: %s\n  public key: %s\n  listening port: %u\n",
			      i ? "\n" : "", dev->netif.name,
			      dev->public_key_b64[0] ? dev->public_key_b64 : "(none: no private key)",
			      dev->listen_port);
		for (size_t p = 0; p < dev->n_peers; p++) {
			const struct wg_peer *peer = dev->peers[p];
			char ep[64];
			strbuf_printf(out, "\npeer: %s\n", peer->public_key_b64);
			if (peer->has_endpoint)
				strbuf_printf(out, "  endpoint: %s\n",
					      sockaddr_inet_format(&peer->endpoint, ep, sizeof(ep)));
			strbuf_puts(out, "  allowed ips: ");
			text_prefix_list(out, peer->allowed_ips, peer->n_allowed_ips);
			strbuf_puts(out, "\n");
			if (peer->walltime_last_handshake) {
				strbuf_puts(out, "  latest handshake: ");
				text_ago(out, peer->walltime_last_handshake);
				strbuf_puts(out, "\n");
			}
			if (peer->rx_bytes || peer->tx_bytes) {
				strbuf_puts(out, "  transfer: ");
				text_bytes(out, peer->rx_bytes);
				strbuf_puts(out, " received, ");
				text_bytes(out, peer->tx_bytes);
				strbuf_puts(out, " sent\n");
			}
			if (peer->persistent_keepalive)
				strbuf_printf(out, "  persistent keepalive: every %u seconds\n",
					      peer->persistent_keepalive);
		}
	}
	if (json)
		strbuf_puts(out, "]}\n");
}

struct routes_ctx {
	struct strbuf *out;
	const struct ip_router *router;
	bool json;
	bool first;
};

static const char *route_type_name(uint8_t type)
{
	switch (type) {
	case FIB_TYPE_UNREACHABLE: return "unreachable";
	case FIB_TYPE_BLACKHOLE: return "blackhole";
	case FIB_TYPE_PROHIBIT: return "prohibit";
	default: return "unicast";
	}
}

static const char *route_proto_name(uint8_t proto, char buf[8])
{
	switch (proto) {
	case FIB_PROTO_KERNEL: return "kernel";
	case FIB_PROTO_BOOT: return "boot";
	case FIB_PROTO_STATIC: return "static";
	case FIB_PROTO_BIRD: return "bird";
	default: snprintf(buf, 8, "%u", proto); return buf;
	}
}

static int show_route(const struct fib_route *r, void *arg)
{
	struct routes_ctx *c = arg;
	char pfx[IP_PREFIX_STRLEN], gw[IP_ADDR_STRLEN], src[IP_ADDR_STRLEN], pbuf[8];
	const struct netif *nif = r->ifindex ? ip_router_netif_by_index(c->router, r->ifindex) : NULL;
	ip_prefix_format(&r->prefix, pfx);
	if (c->json) {
		strbuf_puts(c->out, c->first ? "{" : ",{");
		c->first = false;
		json_str_field(c->out, "dst", pfx, true);
		json_str_field(c->out, "type", route_type_name(r->type), true);
		if (r->gateway.family)
			json_str_field(c->out, "gateway", ip_addr_format(&r->gateway, gw), true);
		if (nif)
			json_str_field(c->out, "dev", nif->name, true);
		if (r->prefsrc.family)
			json_str_field(c->out, "prefsrc", ip_addr_format(&r->prefsrc, src), true);
		json_str_field(c->out, "protocol", route_proto_name(r->protocol, pbuf), true);
		json_u64_field(c->out, "metric", r->priority, true);
		json_u64_field(c->out, "table", r->table ? r->table : FIB_TABLE_MAIN, false);
		strbuf_puts(c->out, "}");
		return 0;
	}
	if (r->type != FIB_TYPE_UNICAST)
		strbuf_printf(c->out, "%s ", route_type_name(r->type));
	strbuf_puts(c->out, pfx);
	if (r->gateway.family)
		strbuf_printf(c->out, " via %s", ip_addr_format(&r->gateway, gw));
	if (nif)
		strbuf_printf(c->out, " dev %s", nif->name);
	strbuf_printf(c->out, " proto %s", route_proto_name(r->protocol, pbuf));
	if (r->scope == FIB_SCOPE_LINK)
		strbuf_puts(c->out, " scope link");
	if (r->prefsrc.family)
		strbuf_printf(c->out, " src %s", ip_addr_format(&r->prefsrc, src));
	if (r->priority)
		strbuf_printf(c->out, " metric %u", r->priority);
	strbuf_puts(c->out, "\n");
	return 0;
}

void show_routes(struct strbuf *out, const struct ip_router *router, bool json)
{
	struct routes_ctx c = { .out = out, .router = router, .json = json, .first = true };
	if (json)
		strbuf_puts(out, "{\"routes\":[");
	fib_walk(router->fib, AF_UNSPEC, show_route, &c);
	if (json)
		strbuf_puts(out, "]}\n");
}
