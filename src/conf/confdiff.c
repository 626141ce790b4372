#include "conf/confdiff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- small set helpers (lists are short: a DN42 interface has one peer, a few prefixes) ---- */

static bool prefix_in(const struct ip_prefix *p, const struct ip_prefix *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ip_prefix_equal(p, &set[i]))
			return true;
	return false;
}

/* Same prefixes, order and duplicates aside. */
static bool prefix_sets_equal(const struct ip_prefix *a, size_t na, const struct ip_prefix *b,
			      size_t nb)
{
	for (size_t i = 0; i < na; i++)
		if (!prefix_in(&a[i], b, nb))
			return false;
	for (size_t i = 0; i < nb; i++)
		if (!prefix_in(&b[i], a, na))
			return false;
	return true;
}

/* Addresses keep their host bits, so ip_prefix_equal compares address and length as written. */
static int prefix_set_minus(const struct ip_prefix *a, size_t na, const struct ip_prefix *b,
			    size_t nb, struct ip_prefix **out, size_t *n_out)
{
	*out = NULL;
	*n_out = 0;
	if (!na)
		return 0;
	*out = calloc(na, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < na; i++)
		if (!prefix_in(&a[i], b, nb) && !prefix_in(&a[i], *out, *n_out))
			(*out)[(*n_out)++] = a[i];
	return 0;
}

static bool route_in(const struct confdiff_route *r, const struct confdiff_route *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i].table == r->table && ip_prefix_equal(&set[i].prefix, &r->prefix))
			return true;
	return false;
}

static int route_set_minus(const struct confdiff_route *a, size_t na,
			   const struct confdiff_route *b, size_t nb,
			   struct confdiff_route **out, size_t *n_out)
{
	*out = NULL;
	*n_out = 0;
	if (!na)
		return 0;
	*out = calloc(na, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < na; i++)
		if (!route_in(&a[i], b, nb))
			(*out)[(*n_out)++] = a[i];
	return 0;
}

/* ---- peers ---- */

static bool endpoint_equal(const struct wg_peer_conf *a, const struct wg_peer_conf *b)
{
	if (a->has_endpoint != b->has_endpoint)
		return false;
	if (strcmp(a->endpoint_text, b->endpoint_text) != 0)
		return false;
	if (a->has_endpoint_pin != b->has_endpoint_pin ||
	    (a->has_endpoint_pin && memcmp(a->endpoint_pin, b->endpoint_pin, 32) != 0))
		return false;
	if (!a->has_endpoint)
		return true;
	/* Same name, new address (DNS changed): the endpoint changes too. */
	return sockaddr_inet_len(&a->endpoint) == sockaddr_inet_len(&b->endpoint) &&
	       memcmp(&a->endpoint, &b->endpoint, sockaddr_inet_len(&a->endpoint)) == 0;
}

bool confdiff_peer_equal(const struct wg_peer_conf *a, const struct wg_peer_conf *b)
{
	if (memcmp(a->public_key, b->public_key, CRYPTO_KEY_LEN) != 0)
		return false;
	if (a->has_psk != b->has_psk || (a->has_psk && memcmp(a->psk, b->psk, CRYPTO_KEY_LEN) != 0))
		return false;
	if (a->persistent_keepalive != b->persistent_keepalive)
		return false;
	if (!endpoint_equal(a, b))
		return false;
	return prefix_sets_equal(a->allowed_ips, a->n_allowed_ips, b->allowed_ips,
				 b->n_allowed_ips);
}

static const struct wg_peer_conf *peer_by_key(const struct wg_iface_conf *c, const uint8_t *key)
{
	for (size_t i = 0; i < c->n_peers; i++)
		if (memcmp(c->peers[i].public_key, key, CRYPTO_KEY_LEN) == 0)
			return &c->peers[i];
	return NULL;
}

/* Counts added/removed/changed peers; true if any. */
static bool diff_peers(const struct wg_iface_conf *old, const struct wg_iface_conf *new,
		       struct confdiff_iface *d)
{
	for (size_t i = 0; i < new->n_peers; i++) {
		const struct wg_peer_conf *o = peer_by_key(old, new->peers[i].public_key);
		if (!o)
			d->peers_added++;
		else if (!confdiff_peer_equal(o, &new->peers[i]))
			d->peers_changed++;
	}
	for (size_t i = 0; i < old->n_peers; i++)
		if (!peer_by_key(new, old->peers[i].public_key))
			d->peers_removed++;
	return d->peers_added + d->peers_removed + d->peers_changed > 0;
}

/* ---- interfaces ---- */

int confdiff_iface_routes(const struct wg_iface_conf *iface, struct confdiff_route **out,
			  size_t *n)
{
	size_t total = 0;
	*out = NULL;
	*n = 0;
	if (iface->table == TABLE_OFF)
		return 0;
	for (size_t p = 0; p < iface->n_peers; p++)
		total += iface->peers[p].n_allowed_ips;
	if (!total)
		return 0;
	*out = calloc(total, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	uint32_t table = iface->table == TABLE_ID ? iface->table_id : 0;
	for (size_t p = 0; p < iface->n_peers; p++) {
		const struct wg_peer_conf *peer = &iface->peers[p];
		for (size_t a = 0; a < peer->n_allowed_ips; a++) {
			struct confdiff_route r = { .prefix = peer->allowed_ips[a], .table = table };
			ip_prefix_mask(&r.prefix);
			if (!route_in(&r, *out, *n))
				(*out)[(*n)++] = r;
		}
	}
	return 0;
}

static bool hooks_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static void iface_free(struct confdiff_iface *d)
{
	free(d->addrs_del);
	free(d->addrs_add);
	free(d->routes_del);
	free(d->routes_add);
}

/* Fills d for two versions of one interface. 0 or -ENOMEM. */
static int diff_iface(const struct wg_iface_conf *old, const struct wg_iface_conf *new,
		      struct confdiff_iface *d)
{
	*d = (struct confdiff_iface){ .old = old, .new = new };
	if (memcmp(old->private_key, new->private_key, CRYPTO_KEY_LEN) != 0 ||
	    old->has_listen_port != new->has_listen_port ||
	    (new->has_listen_port && old->listen_port != new->listen_port) ||
	    old->has_listen_ws != new->has_listen_ws || old->listen_ws_any != new->listen_ws_any ||
	    (new->has_listen_ws && !sockaddr_inet_equal(&old->listen_ws, &new->listen_ws)))
		d->changes |= CONFDIFF_WG;
	if (diff_peers(old, new, d))
		d->changes |= CONFDIFF_WG;
	if (old->mtu != new->mtu)
		d->changes |= CONFDIFF_MTU;
	if (!hooks_equal(old->pre_up, old->n_pre_up, new->pre_up, new->n_pre_up) ||
	    !hooks_equal(old->post_up, old->n_post_up, new->post_up, new->n_post_up) ||
	    !hooks_equal(old->pre_down, old->n_pre_down, new->pre_down, new->n_pre_down) ||
	    !hooks_equal(old->post_down, old->n_post_down, new->post_down, new->n_post_down))
		d->changes |= CONFDIFF_HOOKS;

	if (prefix_set_minus(old->addresses, old->n_addresses, new->addresses, new->n_addresses,
			     &d->addrs_del, &d->n_addrs_del) < 0 ||
	    prefix_set_minus(new->addresses, new->n_addresses, old->addresses, old->n_addresses,
			     &d->addrs_add, &d->n_addrs_add) < 0)
		goto nomem;
	if (d->n_addrs_del || d->n_addrs_add)
		d->changes |= CONFDIFF_ADDRS;

	struct confdiff_route *ro, *rn;
	size_t nro, nrn;
	if (confdiff_iface_routes(old, &ro, &nro) < 0)
		goto nomem;
	if (confdiff_iface_routes(new, &rn, &nrn) < 0) {
		free(ro);
		goto nomem;
	}
	int r = route_set_minus(ro, nro, rn, nrn, &d->routes_del, &d->n_routes_del);
	if (r == 0)
		r = route_set_minus(rn, nrn, ro, nro, &d->routes_add, &d->n_routes_add);
	free(ro);
	free(rn);
	if (r < 0)
		goto nomem;
	if (d->n_routes_del || d->n_routes_add)
		d->changes |= CONFDIFF_ROUTES;
	return 0;
nomem:
	iface_free(d);
	return -ENOMEM;
}

#define CONFDIFF_ALL (CONFDIFF_WG | CONFDIFF_ADDRS | CONFDIFF_MTU | CONFDIFF_ROUTES | CONFDIFF_HOOKS)

static int diff_ifaces(const struct router_conf *old, const struct router_conf *new,
		       struct confdiff *diff)
{
	/* Both lists are sorted by name (the loader sorts them): one merge pass. */
	size_t cap = old->n_ifaces + new->n_ifaces, i = 0, j = 0;
	if (!cap)
		return 0;
	diff->ifaces = calloc(cap, sizeof(*diff->ifaces));
	if (!diff->ifaces)
		return -ENOMEM;
	while (i < old->n_ifaces || j < new->n_ifaces) {
		int c = i == old->n_ifaces ? 1 : j == new->n_ifaces ? -1 :
			strcmp(old->ifaces[i].name, new->ifaces[j].name);
		struct confdiff_iface *d = &diff->ifaces[diff->n_ifaces];
		if (c < 0) {
			*d = (struct confdiff_iface){ .old = &old->ifaces[i++], .changes = CONFDIFF_ALL };
			d->peers_removed = d->old->n_peers;
			diff->n_ifaces++;
		} else if (c > 0) {
			*d = (struct confdiff_iface){ .new = &new->ifaces[j++], .changes = CONFDIFF_ALL };
			d->peers_added = d->new->n_peers;
			diff->n_ifaces++;
		} else {
			if (diff_iface(&old->ifaces[i++], &new->ifaces[j++], d) < 0)
				return -ENOMEM;
			if (d->changes)
				diff->n_ifaces++;
			else
				iface_free(d);
		}
	}
	return 0;
}

static bool route_conf_equal(const struct route_conf *a, const struct route_conf *b)
{
	return ip_prefix_equal(&a->prefix, &b->prefix) && a->type == b->type &&
	       a->has_gateway == b->has_gateway &&
	       (!a->has_gateway || ip_addr_equal(&a->gateway, &b->gateway)) &&
	       strcmp(a->dev, b->dev) == 0;
}

static bool route_conf_in(const struct route_conf *r, const struct route_conf *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (route_conf_equal(r, &set[i]))
			return true;
	return false;
}

static const struct exec_conf *exec_by_name(const struct router_conf *c, const char *name)
{
	for (size_t i = 0; i < c->n_execs; i++)
		if (strcmp(c->execs[i].name, name) == 0)
			return &c->execs[i];
	return NULL;
}

static int diff_router(const struct router_conf *old, const struct router_conf *new,
		       struct confdiff *diff)
{
	if ((old->n_routes && !(diff->routes_del = calloc(old->n_routes, sizeof(void *)))) ||
	    (new->n_routes && !(diff->routes_add = calloc(new->n_routes, sizeof(void *)))) ||
	    (old->n_execs && !(diff->execs_stop = calloc(old->n_execs, sizeof(void *)))) ||
	    (new->n_execs && !(diff->execs_start = calloc(new->n_execs, sizeof(void *)))))
		return -ENOMEM;
	for (size_t i = 0; i < old->n_routes; i++)
		if (!route_conf_in(&old->routes[i], new->routes, new->n_routes))
			diff->routes_del[diff->n_routes_del++] = &old->routes[i];
	for (size_t i = 0; i < new->n_routes; i++)
		if (!route_conf_in(&new->routes[i], old->routes, old->n_routes))
			diff->routes_add[diff->n_routes_add++] = &new->routes[i];
	for (size_t i = 0; i < old->n_execs; i++) {
		const struct exec_conf *n = exec_by_name(new, old->execs[i].name);
		if (!n || strcmp(n->command, old->execs[i].command) != 0)
			diff->execs_stop[diff->n_execs_stop++] = &old->execs[i];
	}
	for (size_t i = 0; i < new->n_execs; i++) {
		const struct exec_conf *o = exec_by_name(old, new->execs[i].name);
		if (!o || strcmp(o->command, new->execs[i].command) != 0)
			diff->execs_start[diff->n_execs_start++] = &new->execs[i];
	}
	diff->control_changed = strcmp(old->control_path, new->control_path) != 0;
	diff->log_level_changed = strcmp(old->log_level, new->log_level) != 0;
	diff->batch_hold_changed = old->batch_hold_us != new->batch_hold_us;
	diff->metrics_changed = old->has_metrics != new->has_metrics ||
				(old->has_metrics &&
				 !sockaddr_inet_equal(&old->metrics_addr, &new->metrics_addr));
	return 0;
}

int confdiff_compute(const struct router_conf *old, const struct router_conf *new,
		     struct confdiff *diff)
{
	*diff = (struct confdiff){ 0 };
	if (diff_ifaces(old, new, diff) < 0 || diff_router(old, new, diff) < 0) {
		confdiff_free(diff);
		return -ENOMEM;
	}
	return 0;
}

bool confdiff_empty(const struct confdiff *diff)
{
	return !diff->n_ifaces && !diff->n_routes_del && !diff->n_routes_add &&
	       !diff->n_execs_stop && !diff->n_execs_start && !diff->control_changed &&
	       !diff->log_level_changed && !diff->metrics_changed &&
	       !diff->batch_hold_changed;
}

void confdiff_free(struct confdiff *diff)
{
	for (size_t i = 0; i < diff->n_ifaces; i++)
		iface_free(&diff->ifaces[i]);
	/* A half-built entry (diff_iface failed) frees itself; entries past n are zero. */
	free(diff->ifaces);
	free(diff->routes_del);
	free(diff->routes_add);
	free(diff->execs_stop);
	free(diff->execs_start);
	*diff = (struct confdiff){ 0 };
}
