/*
 * The metrics exposition (ctl/metrics.h). Every family is written whole
 * (HELP, TYPE, then all its samples) because the 0.0.4 text format wants a
 * family's samples together; so the interfaces and peers are walked once per
 * family rather than once in all. Counters end in _total and restart at zero
 * when rrouted does (Prometheus' rate() takes resets in its stride); a drop
 * reason is exported even at zero so that rate() has a series from the start.
 */
#include "ctl/metrics.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ip/netif.h"
#include "wg/device.h"
#include "wg/peer.h"

void metrics_label_value(struct strbuf *out, const char *s)
{
	const char *run = s;
	for (; *s; s++) {
		const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
		if (!esc)
			continue;
		strbuf_append(out, run, (size_t)(s - run));
		strbuf_puts(out, esc);
		run = s + 1;
	}
	strbuf_append(out, run, (size_t)(s - run));
}

static void family(struct strbuf *out, const char *name, const char *type, const char *help)
{
	/* The help texts are ours and hold neither a backslash nor a newline to escape. */
	strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample; labels are name/value pairs, n_labels of them. */
static void sample(struct strbuf *out, const char *name, const char *const *labels,
		   size_t n_labels, uint64_t value)
{
	strbuf_puts(out, name);
	for (size_t i = 0; i < n_labels; i++) {
		strbuf_printf(out, "%s%s=\"", i ? "," : "{", labels[2 * i]);
		metrics_label_value(out, labels[2 * i + 1]);
		strbuf_puts(out, "\"");
	}
	strbuf_printf(out, "%s %" PRIu64 "\n", n_labels ? "}" : "", value);
}

static const struct {
	const char *name, *help;
	size_t offset;
} netif_counters[] = {
	{ "rr_interface_rx_packets_total", "IP packets received on the interface.",
	  offsetof(struct netif_stats, rx_packets) },
	{ "rr_interface_rx_bytes_total", "Bytes of IP packets received on the interface.",
	  offsetof(struct netif_stats, rx_bytes) },
	{ "rr_interface_tx_packets_total", "IP packets sent through the interface.",
	  offsetof(struct netif_stats, tx_packets) },
	{ "rr_interface_tx_bytes_total", "Bytes of IP packets sent through the interface.",
	  offsetof(struct netif_stats, tx_bytes) },
};

static void interface_metrics(struct strbuf *out, const struct ip_router *r)
{
	for (size_t c = 0; c < sizeof(netif_counters) / sizeof(netif_counters[0]); c++) {
		family(out, netif_counters[c].name, "counter", netif_counters[c].help);
		for (size_t k = 0; k < r->n_netifs; k++) {
			const struct netif *nif = r->netifs[k];
			const char *labels[] = { "interface", nif->name,
						 "kind", netif_kind_name(nif->ops->kind) };
			const uint64_t *v = (const uint64_t *)((const char *)&nif->stats +
							       netif_counters[c].offset);
			sample(out, netif_counters[c].name, labels, 2, *v);
		}
	}
	family(out, "rr_interface_drops_total", "counter",
	       "Packets dropped on the interface, by reason.");
	for (size_t k = 0; k < r->n_netifs; k++) {
		const struct netif *nif = r->netifs[k];
		for (unsigned d = 0; d < DROP_MAX; d++) {
			const char *reason = netif_drop_name(nif, d);
			if (!reason)
				continue;
			const char *labels[] = { "interface", nif->name,
						 "kind", netif_kind_name(nif->ops->kind),
						 "reason", reason };
			sample(out, "rr_interface_drops_total", labels, 3, nif->stats.drops[d]);
		}
	}
	family(out, "rr_interface_up", "gauge", "1 if the interface is up, 0 if set down.");
	for (size_t k = 0; k < r->n_netifs; k++) {
		const struct netif *nif = r->netifs[k];
		const char *labels[] = { "interface", nif->name,
					 "kind", netif_kind_name(nif->ops->kind) };
		sample(out, "rr_interface_up", labels, 2, !nif->down);
	}
}

enum peer_value { PEER_RX_BYTES, PEER_TX_BYTES, PEER_HANDSHAKES, PEER_HANDSHAKE_AGE, PEER_ENDPOINT };

static const struct {
	const char *name, *type, *help;
} peer_families[] = {
	[PEER_RX_BYTES] = { "rr_wireguard_peer_rx_bytes_total", "counter",
			    "UDP payload bytes received from the peer (as wg show counts)." },
	[PEER_TX_BYTES] = { "rr_wireguard_peer_tx_bytes_total", "counter",
			    "UDP payload bytes sent to the peer (as wg show counts)." },
	[PEER_HANDSHAKES] = { "rr_wireguard_peer_handshakes_total", "counter",
			      "Handshakes completed with the peer." },
	[PEER_HANDSHAKE_AGE] = { "rr_wireguard_peer_last_handshake_age_seconds", "gauge",
				 "Seconds since the last completed handshake (absent: none yet)." },
	[PEER_ENDPOINT] = { "rr_wireguard_peer_endpoint_info", "gauge",
			    "The peer's current endpoint, as a label (absent: none known)." },
};

static void peer_metrics(struct strbuf *out, const struct ip_router *r)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	uint64_t now_ns = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;

	for (size_t f = 0; f < sizeof(peer_families) / sizeof(peer_families[0]); f++) {
		family(out, peer_families[f].name, peer_families[f].type, peer_families[f].help);
		for (size_t k = 0; k < r->n_netifs; k++) {
			if (r->netifs[k]->ops->kind != NETIF_KIND_WIREGUARD)
				continue;
			const struct wg_device *dev = wg_device_of_netif(r->netifs[k]);
			for (size_t p = 0; p < dev->n_peers; p++) {
				const struct wg_peer *peer = dev->peers[p];
				char ep[64];
				const char *labels[] = { "interface", dev->netif.name,
							 "public_key", peer->public_key_b64,
							 "endpoint", ep };
				uint64_t v;
				switch ((enum peer_value)f) {
				case PEER_RX_BYTES: v = peer->rx_bytes; break;
				case PEER_TX_BYTES: v = peer->tx_bytes; break;
				case PEER_HANDSHAKES: v = peer->handshakes_completed; break;
				case PEER_HANDSHAKE_AGE:
					if (!peer->walltime_last_handshake)
						continue;
					/* A clock stepped back shows a fresh handshake, not a huge age. */
					v = now_ns > peer->walltime_last_handshake
						    ? (now_ns - peer->walltime_last_handshake) /
							      1000000000ULL
						    : 0;
					break;
				case PEER_ENDPOINT:
					if (!peer->has_endpoint)
						continue;
					sockaddr_inet_format(&peer->endpoint, ep, sizeof(ep));
					sample(out, peer_families[f].name, labels, 3, 1);
					continue;
				default:
					continue;
				}
				sample(out, peer_families[f].name, labels, 2, v);
			}
		}
	}
}

static void router_metrics(struct strbuf *out, const struct ip_router *r)
{
	family(out, "rr_fib_routes", "gauge", "Routes in the forwarding table, by address family.");
	sample(out, "rr_fib_routes", (const char *const[]){ "family", "ipv4" }, 1,
	       fib_count(r->fib, AF_INET));
	sample(out, "rr_fib_routes", (const char *const[]){ "family", "ipv6" }, 1,
	       fib_count(r->fib, AF_INET6));
	static const struct {
		const char *name, *help;
		size_t offset;
	} counters[] = {
		{ "rr_forwarded_packets_total", "Packets the router forwarded.",
		  offsetof(struct ip_router_stats, forwarded) },
		{ "rr_local_delivered_packets_total", "Packets addressed to the router itself.",
		  offsetof(struct ip_router_stats, local_delivered) },
		{ "rr_icmp_errors_sent_total", "ICMP errors the router sent.",
		  offsetof(struct ip_router_stats, icmp_errors_sent) },
		{ "rr_icmp_errors_ratelimited_total", "ICMP errors not sent because of the rate limit.",
		  offsetof(struct ip_router_stats, icmp_errors_ratelimited) },
	};
	for (size_t c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
		family(out, counters[c].name, "counter", counters[c].help);
		sample(out, counters[c].name, NULL, 0,
		       *(const uint64_t *)((const char *)&r->stats + counters[c].offset));
	}
}

static void program_metrics(struct strbuf *out, const struct supervisor *sup)
{
	family(out, "rr_exec_program_restarts_total", "counter",
	       "Times an [exec] program was started again after it ended.");
	for (const struct supervised *s = sup->list; s; s = s->next) {
		/* Hooks run once, and a program a reload retired is no longer configured. */
		if (!s->restart || s->retired)
			continue;
		sample(out, "rr_exec_program_restarts_total",
		       (const char *const[]){ "program", s->name }, 1, s->starts ? s->starts - 1 : 0);
	}
	family(out, "rr_exec_program_running", "gauge", "1 while the [exec] program runs.");
	for (const struct supervised *s = sup->list; s; s = s->next) {
		if (!s->restart || s->retired)
			continue;
		sample(out, "rr_exec_program_running", (const char *const[]){ "program", s->name }, 1,
		       s->pid != 0);
	}
}

static void socket_metrics(struct strbuf *out, const struct sock_stats *st)
{
	family(out, "rr_shim_sockets", "gauge",
	       "Router sockets open for hosted programs (UDP, TCP, ICMP, netlink).");
	sample(out, "rr_shim_sockets", NULL, 0, st->sockets);
	family(out, "rr_shim_clients", "gauge", "Hosted processes connected to the shim socket.");
	sample(out, "rr_shim_clients", NULL, 0, st->clients);
}

static void process_metrics(struct strbuf *out, uint64_t uptime_ns)
{
	family(out, "rr_uptime_seconds", "gauge", "Seconds since rrouted started.");
	sample(out, "rr_uptime_seconds", NULL, 0, uptime_ns / 1000000000ULL);
	/* statm's second field is the resident set in pages; without /proc the family is left out. */
	FILE *f = fopen("/proc/self/statm", "re");
	if (!f)
		return;
	unsigned long long size, resident;
	int n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	long page = sysconf(_SC_PAGESIZE);
	if (n != 2 || page <= 0)
		return;
	family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	sample(out, "process_resident_memory_bytes", NULL, 0, resident * (uint64_t)page);
}

void metrics_render(struct strbuf *out, const struct metrics_sources *src)
{
	if (src->router) {
		interface_metrics(out, src->router);
		peer_metrics(out, src->router);
		router_metrics(out, src->router);
	}
	if (src->sup)
		program_metrics(out, src->sup);
	if (src->sockets)
		socket_metrics(out, src->sockets);
	process_metrics(out, src->uptime_ns);
}
