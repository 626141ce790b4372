/*
 * What a reload must do: the difference between the running configuration
 * and a freshly loaded one, as plain lists. Pure (no I/O, no daemon state),
 * so every rule is unit-tested; src/rrouted/reload.c applies the result.
 *
 * An interface is matched by name. Its changes are split by who applies
 * them: the WireGuard part (key, port, peers) goes to wg_device_apply_conf (wgconf/),
 * which keeps unchanged peers' sessions; addresses, MTU and the AllowedIPs
 * routes go to the router API. Hooks are compared but never re-run for an
 * interface that stays (wg-quick runs them only at up and down).
 */
#ifndef RR_CONF_CONFDIFF_H
#define RR_CONF_CONFDIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"

/* confdiff_iface.changes bits */
#define CONFDIFF_WG     0x1u   /* private key, listen port or peers */
#define CONFDIFF_ADDRS  0x2u   /* Address = */
#define CONFDIFF_MTU    0x4u
#define CONFDIFF_ROUTES 0x8u   /* the routes wg-quick installs for AllowedIPs (Table, peers) */
#define CONFDIFF_HOOKS  0x10u  /* Pre/PostUp/Down: noted, applied at the next up/down only */

/* A route wg-quick installs for a peer's AllowedIPs: prefix in a table (0 = main). */
struct confdiff_route {
	struct ip_prefix prefix;   /* masked */
	uint32_t table;
};

struct confdiff_iface {
	const struct wg_iface_conf *old;   /* NULL: the interface is new */
	const struct wg_iface_conf *new;   /* NULL: the interface goes */
	unsigned changes;                  /* CONFDIFF_* (all set for new/removed ones) */
	size_t peers_added, peers_removed, peers_changed;   /* for the log line */
	/* Changed interfaces only: what to add and remove. */
	struct ip_prefix *addrs_del, *addrs_add;
	size_t n_addrs_del, n_addrs_add;
	struct confdiff_route *routes_del, *routes_add;
	size_t n_routes_del, n_routes_add;
};

struct confdiff {
	struct confdiff_iface *ifaces;     /* only those added, removed or changed, by name */
	size_t n_ifaces;
	/* rrouted.conf route = lines, compared whole (the line number aside). */
	const struct route_conf **routes_del, **routes_add;
	size_t n_routes_del, n_routes_add;
	/* [exec]: a program whose command changed is in both lists (a restart). */
	const struct exec_conf **execs_stop, **execs_start;
	size_t n_execs_stop, n_execs_start;
	bool control_changed;              /* cannot move at runtime: the caller warns */
	bool log_level_changed;
	bool batch_hold_changed;
	bool metrics_changed;              /* the metrics listener stays until a restart: warned */
};

/*
 * Fills diff with what turns old into new; the lists point into old and new,
 * which must outlive diff. 0 or -ENOMEM (diff then empty).
 */
int confdiff_compute(const struct router_conf *old, const struct router_conf *new,
		     struct confdiff *diff);
void confdiff_free(struct confdiff *diff);

/* True if the diff changes nothing at all. */
bool confdiff_empty(const struct confdiff *diff);

/*
 * The routes wg-quick would install for iface (none with Table = off):
 * every peer's AllowedIPs, masked, deduplicated. *out is malloc'd (NULL when
 * empty). 0 or -ENOMEM.
 */
int confdiff_iface_routes(const struct wg_iface_conf *iface, struct confdiff_route **out,
			  size_t *n);

/* Whether two peers are configured identically (same key, PSK, endpoint, keepalive, AllowedIPs). */
bool confdiff_peer_equal(const struct wg_peer_conf *a, const struct wg_peer_conf *b);

#endif
