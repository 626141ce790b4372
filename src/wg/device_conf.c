/*
 * Configuring a running WireGuard device: a whole setting at once
 * (wg_device_apply, `wg syncconf` semantics, used at start and at reload
 * through wgconf/), and the single steps `wg set` and WG_CMD_SET_DEVICE make.
 *
 * wg_device_apply is all or nothing. It works in two phases:
 *   prepare  everything that can fail: the new identity, new peers (handshake
 *            precomputation rejects bad keys), fresh AllowedIPs tables built
 *            from scratch for the final state, the peer array, new sockets if
 *            the port changes (bound and already in epoll, with no events);
 *   commit   only pointer swaps and frees, which cannot fail.
 * A failed prepare frees what it made and leaves the device as it was.
 *
 * AllowedIPs live twice: in the device's LPM tables (lookup) and in each
 * peer's allowed_ips array (display, in the order they were added, as the
 * kernel's per-peer list). The functions here keep the two in step: a
 * prefix moving to another peer leaves the old peer's array.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "wg/datapath.h"
#include "wg/device.h"
#include "wg/udp_batch.h"
#include "wg/timers.h"

/* ---- AllowedIPs arrays ------------------------------------------------- */

static bool prefix_equal(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->len == b->len && ip_addr_equal(&a->addr, &b->addr);
}

static void list_remove(struct ip_prefix *list, size_t *n, const struct ip_prefix *p)
{
	for (size_t i = 0; i < *n; i++) {
		if (prefix_equal(&list[i], p)) {
			memmove(&list[i], &list[i + 1], (*n - i - 1) * sizeof(*list));
			(*n)--;
			return;
		}
	}
}

static struct lpm *table_for(const struct wg_device *dev, int family)
{
	return family == AF_INET ? dev->allowedips4 : dev->allowedips6;
}

static bool prefix_valid(const struct ip_prefix *p)
{
	return (p->addr.family == AF_INET && p->len <= 32) ||
	       (p->addr.family == AF_INET6 && p->len <= 128);
}

int wg_device_peer_add_allowed_ip(struct wg_device *dev, struct wg_peer *peer,
				  const struct ip_prefix *p)
{
	if (!prefix_valid(p))
		return -EINVAL;
	struct ip_prefix masked = *p;
	ip_prefix_mask(&masked);
	struct ip_prefix *grown = realloc(peer->allowed_ips,
					  (peer->n_allowed_ips + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	peer->allowed_ips = grown;
	void *old = NULL;
	int r = lpm_insert(table_for(dev, masked.addr.family), masked.addr.bytes, masked.len,
			   peer, &old);
	if (r < 0)
		return r;
	if (old == peer)
		return 0;   /* already there: keeps its place in the list */
	if (old) {
		struct wg_peer *from = old;
		list_remove(from->allowed_ips, &from->n_allowed_ips, &masked);
	}
	peer->allowed_ips[peer->n_allowed_ips++] = masked;
	return 0;
}

void wg_device_peer_remove_allowed_ip(struct wg_device *dev, struct wg_peer *peer,
				      const struct ip_prefix *p)
{
	if (!prefix_valid(p))
		return;
	struct ip_prefix masked = *p;
	ip_prefix_mask(&masked);
	struct lpm *t = table_for(dev, masked.addr.family);
	if (lpm_get(t, masked.addr.bytes, masked.len) != peer)
		return;
	lpm_remove(t, masked.addr.bytes, masked.len, NULL);
	list_remove(peer->allowed_ips, &peer->n_allowed_ips, &masked);
}

void wg_device_peer_clear_allowed_ips(struct wg_device *dev, struct wg_peer *peer)
{
	lpm_remove_value(dev->allowedips4, peer);
	lpm_remove_value(dev->allowedips6, peer);
	free(peer->allowed_ips);
	peer->allowed_ips = NULL;
	peer->n_allowed_ips = 0;
}

/* ---- peers ------------------------------------------------------------- */

static int reserve_peers(struct wg_device *dev, size_t n)
{
	if (n <= dev->cap_peers)
		return 0;
	size_t cap = dev->cap_peers ? dev->cap_peers * 2 : 4;
	while (cap < n)
		cap *= 2;
	struct wg_peer **p = realloc(dev->peers, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	dev->peers = p;
	dev->cap_peers = cap;
	return 0;
}

/* A peer object not yet in the device (no id, no AllowedIPs). */
static struct wg_peer *peer_new(struct wg_device *dev, const uint8_t public_key[CRYPTO_KEY_LEN],
				const uint8_t *psk, int *err)
{
	struct wg_peer *peer = malloc(sizeof(*peer));
	if (!peer) {
		*err = -ENOMEM;
		return NULL;
	}
	int r = wg_peer_init(peer, dev, 0, public_key, psk);
	if (r < 0) {
		/* wg_peer_init failed before anything needed undoing. */
		crypto_wipe(peer, sizeof(*peer));
		free(peer);
		*err = r;
		return NULL;
	}
	*err = 0;
	return peer;
}

static void peer_free(struct wg_peer *peer)
{
	wg_device_forget_tx_peer(peer->dev, peer);
	wg_peer_destroy(peer);
	crypto_wipe(peer, sizeof(*peer));
	free(peer);
}

struct wg_peer *wg_device_add_peer(struct wg_device *dev, const uint8_t public_key[CRYPTO_KEY_LEN],
				   int *err)
{
	if (reserve_peers(dev, dev->n_peers + 1) < 0) {
		*err = -ENOMEM;
		return NULL;
	}
	struct wg_peer *peer = peer_new(dev, public_key, NULL, err);
	if (!peer)
		return NULL;
	peer->id = ++dev->next_peer_id;
	dev->peers[dev->n_peers++] = peer;
	log_info("%s: peer %u (%.8s…) added", dev->netif.name, peer->id, peer->public_key_b64);
	return peer;
}

/* Takes peer out of the peer array only (its AllowedIPs are the caller's business). */
static void unlink_peer(struct wg_device *dev, struct wg_peer *peer)
{
	for (size_t i = 0; i < dev->n_peers; i++) {
		if (dev->peers[i] == peer) {
			memmove(&dev->peers[i], &dev->peers[i + 1],
				(dev->n_peers - i - 1) * sizeof(*dev->peers));
			dev->n_peers--;
			return;
		}
	}
}

void wg_device_remove_peer(struct wg_device *dev, struct wg_peer *peer)
{
	log_info("%s: peer %u (%.8s…) removed", dev->netif.name, peer->id, peer->public_key_b64);
	wg_device_peer_clear_allowed_ips(dev, peer);
	unlink_peer(dev, peer);
	peer_free(peer);
}

void wg_device_remove_all_peers(struct wg_device *dev)
{
	while (dev->n_peers)
		wg_device_remove_peer(dev, dev->peers[dev->n_peers - 1]);
}

void wg_peer_set_preshared_key(struct wg_peer *peer, const uint8_t psk[CRYPTO_KEY_LEN])
{
	noise_handshake_set_psk(&peer->handshake, psk);
}

void wg_peer_configure_endpoint(struct wg_peer *peer, const union sockaddr_inet *endpoint)
{
	wg_peer_set_endpoint(peer, endpoint);
}

void wg_peer_set_persistent_keepalive(struct wg_peer *peer, uint16_t seconds)
{
	bool turned_on = !peer->persistent_keepalive && seconds;
	peer->persistent_keepalive = seconds;
	if (!seconds)
		timer_cancel(peer->dev->loop, &peer->t_persistent_keepalive);
	if (turned_on && peer->has_endpoint)
		wg_send_keepalive(peer);
}

void wg_peer_kick(struct wg_peer *peer)
{
	if (peer->staged.len && peer->dev->identity.has_identity)
		wg_send_staged(peer);
}

/* ---- identity ---------------------------------------------------------- */

/*
 * The kernel's wg_noise_expire_current_peer_keypairs: sessions made under the
 * old identity stop being used, the exchange in progress is forgotten, and
 * the next packet starts a handshake at once.
 */
static void expire_sessions(struct wg_peer *peer)
{
	index_table_remove(&peer->handshake_entry);
	noise_handshake_zero(&peer->handshake);
	peer->last_sent_handshake = 0;
	if (peer->current)
		peer->current->valid = false;
	if (peer->next)
		peer->next->valid = false;
}

/* Installs id (already validated) and re-derives what depends on it. */
static void install_identity(struct wg_device *dev, const struct noise_static_identity *id)
{
	dev->identity = *id;
	if (id->has_identity) {
		key_to_base64(dev->public_key_b64, id->public_key);
		cookie_checker_set_public_key(&dev->cookie_checker, id->public_key);
	} else {
		dev->public_key_b64[0] = '\0';
		cookie_checker_set_public_key(&dev->cookie_checker, NULL);
	}
	for (size_t i = 0; i < dev->n_peers; i++) {
		struct wg_peer *peer = dev->peers[i];
		/* Cannot fail: low-order peer keys were refused when the peer was made. */
		if (noise_handshake_precompute(&peer->handshake, &dev->identity) < 0)
			log_warn("%s: peer %u: no shared secret with the new key", dev->netif.name,
				 peer->id);
		expire_sessions(peer);
	}
}

static bool identity_same(const struct noise_static_identity *a,
			  const struct noise_static_identity *b)
{
	if (a->has_identity != b->has_identity)
		return false;
	return !a->has_identity || crypto_equal(a->private_key, b->private_key, CRYPTO_KEY_LEN);
}

int wg_device_set_private_key(struct wg_device *dev, const uint8_t private_key[CRYPTO_KEY_LEN])
{
	struct noise_static_identity id;
	if (noise_static_identity_set(&id, private_key) < 0)
		return -EINVAL;
	if (identity_same(&id, &dev->identity)) {
		noise_static_identity_clear(&id);
		return 0;
	}
	if (id.has_identity) {
		struct wg_peer *self = wg_device_peer_by_key(dev, id.public_key);
		if (self)
			wg_device_remove_peer(dev, self);
	}
	install_identity(dev, &id);
	noise_static_identity_clear(&id);
	return 0;
}

/* ---- sockets ----------------------------------------------------------- */

/* New sockets, bound and in epoll (no events yet), not installed. */
struct socket_plan {
	bool changes;
	int fd4, fd6;
	uint16_t port;
};

static void socket_plan_abort(struct wg_device *dev, struct socket_plan *sp)
{
	struct loop_fd tmp;
	if (sp->fd4 >= 0) {
		tmp.fd = sp->fd4;
		loop_del_fd(dev->loop, &tmp);
		close(sp->fd4);
	}
	if (sp->fd6 >= 0) {
		tmp.fd = sp->fd6;
		loop_del_fd(dev->loop, &tmp);
		close(sp->fd6);
	}
	sp->fd4 = sp->fd6 = -1;
}

/* Opens one family's socket and registers it with epoll with no events. */
static int plan_socket(struct wg_device *dev, int family, uint16_t port, int *fd_out)
{
	struct wg_socket s;
	int r = wg_device_open_socket(dev, &s, family, port);
	if (r < 0)
		return r;
	r = loop_add_fd(dev->loop, &s.lfd, 0);
	if (r < 0) {
		close(s.lfd.fd);
		return r;
	}
	*fd_out = s.lfd.fd;
	return 0;
}

static int socket_plan_prepare(struct wg_device *dev, uint16_t port, struct socket_plan *sp)
{
	sp->fd4 = sp->fd6 = -1;
	sp->changes = true;
	int r = plan_socket(dev, AF_INET, port, &sp->fd4);
	if (r < 0)
		return r;
	sp->port = wg_device_bound_port(sp->fd4);
	r = plan_socket(dev, AF_INET6, sp->port, &sp->fd6);
	if (r < 0) {
		/* A host without IPv6 still works over IPv4. */
		log_warn("%s: no IPv6 underlay on UDP port %u (%s); IPv4 only", dev->netif.name,
			 sp->port, strerror(-r));
		sp->fd6 = -1;
	}
	return 0;
}

static void install_socket(struct wg_device *dev, struct wg_socket *s, int fd)
{
	if (fd < 0)
		return;
	s->lfd.fd = fd;
	udp_batch_socket_setup(s);   /* the flags did not come along with the fd */
	if (loop_mod_fd(dev->loop, &s->lfd, EPOLLIN) < 0)
		log_error("%s: cannot watch its UDP socket: %s", dev->netif.name, strerror(errno));
}

/* Cannot fail: the old sockets go (with what they still had to send), the new ones take over. */
static void socket_plan_commit(struct wg_device *dev, struct socket_plan *sp)
{
	if (!sp->changes)
		return;
	wg_device_flush_tx(dev);
	wg_device_close_socket(dev, &dev->sock4);
	wg_device_close_socket(dev, &dev->sock6);
	dev->sock4.dev = dev->sock6.dev = dev;
	dev->sock4.family = AF_INET;
	dev->sock6.family = AF_INET6;
	install_socket(dev, &dev->sock4, sp->fd4);
	install_socket(dev, &dev->sock6, sp->fd6);
	dev->listen_port = sp->port;
	sp->fd4 = sp->fd6 = -1;
}

int wg_device_set_listen_port(struct wg_device *dev, uint16_t port)
{
	bool open = dev->sock4.lfd.fd >= 0;
	if (open && port && port == dev->listen_port)
		return 0;
	struct socket_plan sp;
	int r = socket_plan_prepare(dev, port, &sp);
	if (r < 0)
		return r;
	socket_plan_commit(dev, &sp);
	dev->listen_port_configured = port != 0;
	return 0;
}

/* ---- wg_device_apply --------------------------------------------------- */

struct conf_plan {
	struct noise_static_identity identity;
	bool identity_changes;
	struct socket_plan sockets;
	size_t n;                        /* set->n_peers */
	struct wg_peer **target;         /* per wanted peer: existing or new peer */
	bool *is_new;
	struct ip_prefix **lists;        /* per wanted peer: its AllowedIPs, final */
	size_t *n_lists;
	struct lpm *ai4, *ai6;
	struct wg_peer **array;          /* the final peer array (capacity cap) */
	size_t cap;
};

static int plan_error(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int plan_error(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static void conf_plan_free(struct wg_device *dev, struct conf_plan *pl)
{
	noise_static_identity_clear(&pl->identity);
	socket_plan_abort(dev, &pl->sockets);
	for (size_t i = 0; i < pl->n; i++) {
		if (pl->is_new && pl->is_new[i] && pl->target[i])
			peer_free(pl->target[i]);
		if (pl->lists)
			free(pl->lists[i]);
	}
	free(pl->target);
	free(pl->is_new);
	free(pl->lists);
	free(pl->n_lists);
	if (pl->ai4)
		lpm_free(pl->ai4, NULL, NULL);
	if (pl->ai6)
		lpm_free(pl->ai6, NULL, NULL);
	free(pl->array);
}

static size_t target_index(const struct conf_plan *pl, const void *peer, size_t upto)
{
	for (size_t k = 0; k < upto; k++)
		if (pl->target[k] == peer)
			return k;
	return upto;
}

/* The final AllowedIPs tables and per-peer arrays, with "the last one wins" as wg has it. */
static int plan_allowed_ips(struct wg_device *dev, const struct wg_device_setting *set,
			    struct conf_plan *pl)
{
	pl->ai4 = lpm_new(AF_INET);
	pl->ai6 = lpm_new(AF_INET6);
	if (!pl->ai4 || !pl->ai6)
		return -ENOMEM;
	for (size_t i = 0; i < pl->n; i++) {
		const struct wg_peer_setting *pc = &set->peers[i];
		if (!pc->n_allowed_ips)
			continue;
		pl->lists[i] = calloc(pc->n_allowed_ips, sizeof(*pl->lists[i]));
		if (!pl->lists[i])
			return -ENOMEM;
		for (size_t a = 0; a < pc->n_allowed_ips; a++) {
			struct ip_prefix p = pc->allowed_ips[a];
			if (!prefix_valid(&p))
				return -EINVAL;
			ip_prefix_mask(&p);
			struct lpm *t = p.addr.family == AF_INET ? pl->ai4 : pl->ai6;
			void *old = NULL;
			int r = lpm_insert(t, p.addr.bytes, p.len, pl->target[i], &old);
			if (r < 0)
				return r;
			if (old == pl->target[i])
				continue;
			if (old) {
				size_t k = target_index(pl, old, i);
				char buf[IP_PREFIX_STRLEN];
				log_warn("%s: AllowedIPs %s moves from the peer of line %d to the peer of line %d (last one wins, as in wg)",
					 dev->netif.name, ip_prefix_format(&p, buf),
					 set->peers[k].line, pc->line);
				if (k < i)
					list_remove(pl->lists[k], &pl->n_lists[k], &p);
			}
			pl->lists[i][pl->n_lists[i]++] = p;
		}
	}
	return 0;
}

static int conf_plan_prepare(struct wg_device *dev, const struct wg_device_setting *set,
			     struct conf_plan *pl, char *err, size_t errlen)
{
	const char *file = set->origin && set->origin[0] ? set->origin : dev->netif.name;
	int r;

	if (noise_static_identity_set(&pl->identity, set->private_key) < 0)
		return plan_error(err, errlen, -EINVAL, "%s: PrivateKey is not a usable X25519 key",
				  file);
	pl->identity_changes = !identity_same(&pl->identity, &dev->identity);

	pl->n = set->n_peers;
	size_t n_alloc = pl->n ? pl->n : 1;
	pl->target = calloc(n_alloc, sizeof(*pl->target));
	pl->is_new = calloc(n_alloc, sizeof(*pl->is_new));
	pl->lists = calloc(n_alloc, sizeof(*pl->lists));
	pl->n_lists = calloc(n_alloc, sizeof(*pl->n_lists));
	if (!pl->target || !pl->is_new || !pl->lists || !pl->n_lists)
		goto nomem;

	for (size_t i = 0; i < pl->n; i++) {
		const struct wg_peer_setting *pc = &set->peers[i];
		for (size_t k = 0; k < i; k++)
			if (crypto_equal(set->peers[k].public_key, pc->public_key, CRYPTO_KEY_LEN))
				return plan_error(err, errlen, -EINVAL,
						  "%s:%d: this PublicKey is already the peer of line %d",
						  file, pc->line, set->peers[k].line);
		if (pl->identity.has_identity &&
		    crypto_equal(pl->identity.public_key, pc->public_key, CRYPTO_KEY_LEN))
			return plan_error(err, errlen, -EINVAL,
					  "%s:%d: PublicKey is this interface's own public key",
					  file, pc->line);
		pl->target[i] = wg_device_peer_by_key(dev, pc->public_key);
		if (pl->target[i])
			continue;
		pl->target[i] = peer_new(dev, pc->public_key, pc->psk, &r);
		if (!pl->target[i]) {
			if (r == -ENOMEM)
				goto nomem;
			return plan_error(err, errlen, r, "%s:%d: PublicKey is not a usable X25519 key",
					  file, pc->line);
		}
		pl->is_new[i] = true;
	}

	r = plan_allowed_ips(dev, set, pl);
	if (r == -EINVAL)
		return plan_error(err, errlen, r, "%s: an AllowedIPs prefix is malformed", file);
	if (r < 0)
		goto nomem;

	/* Kept peers stay where they are, new ones come after them. */
	pl->cap = dev->n_peers + pl->n;
	pl->array = calloc(pl->cap ? pl->cap : 1, sizeof(*pl->array));
	if (!pl->array)
		goto nomem;

	pl->sockets.fd4 = pl->sockets.fd6 = -1;
	bool open = dev->sock4.lfd.fd >= 0;
	if (!open || (set->has_listen_port && set->listen_port != dev->listen_port &&
		      !(set->listen_port == 0 && !dev->listen_port_configured))) {
		uint16_t port = set->has_listen_port ? set->listen_port : 0;
		r = socket_plan_prepare(dev, port, &pl->sockets);
		if (r < 0)
			return plan_error(err, errlen, r, "%s: cannot bind UDP port %u: %s", file,
					  port, strerror(-r));
	}
	return 0;
nomem:
	return plan_error(err, errlen, -ENOMEM, "%s: out of memory", file);
}

static void update_peer(struct wg_peer *peer, const struct wg_peer_setting *pc, bool is_new)
{
	noise_handshake_set_psk(&peer->handshake, pc->psk);
	if (pc->endpoint) {
		/* An unchanged Endpoint line leaves a roamed endpoint alone (reload of the same file). */
		if (is_new || !peer->has_configured_endpoint ||
		    !sockaddr_inet_equal(&peer->configured_endpoint, pc->endpoint))
			wg_peer_set_endpoint(peer, pc->endpoint);
		peer->has_configured_endpoint = true;
		peer->configured_endpoint = *pc->endpoint;
	} else {
		peer->has_configured_endpoint = false;
	}
	/* New peers are kicked by the caller once everything is in place. */
	if (is_new)
		peer->persistent_keepalive = pc->persistent_keepalive;
	else
		wg_peer_set_persistent_keepalive(peer, pc->persistent_keepalive);
}

static bool in_targets(const struct conf_plan *pl, const struct wg_peer *peer)
{
	return target_index(pl, peer, pl->n) < pl->n;
}

/*
 * A fresh plan for set, prepared (conf_plan_prepare: 0 or -errno with err set). The
 * caller frees it with conf_plan_free whatever the result.
 */
static int conf_plan_start(struct wg_device *dev, const struct wg_device_setting *set,
			   struct conf_plan *pl, char *err, size_t errlen)
{
	memset(pl, 0, sizeof(*pl));
	pl->sockets.fd4 = pl->sockets.fd6 = -1;
	if (err && errlen)
		err[0] = '\0';
	return conf_plan_prepare(dev, set, pl, err, errlen);
}

int wg_device_check(struct wg_device *dev, const struct wg_device_setting *set, char *err,
		    size_t errlen)
{
	struct conf_plan pl;
	int r = conf_plan_start(dev, set, &pl, err, errlen);
	conf_plan_free(dev, &pl);
	return r;
}

int wg_device_apply(struct wg_device *dev, const struct wg_device_setting *set, char *err,
		    size_t errlen)
{
	struct conf_plan pl;
	int r = conf_plan_start(dev, set, &pl, err, errlen);
	if (r < 0) {
		conf_plan_free(dev, &pl);
		return r;
	}

	/* Commit: nothing below can fail. */
	socket_plan_commit(dev, &pl.sockets);
	if (set->has_listen_port)
		dev->listen_port_configured = set->listen_port != 0;

	/* Peers that are not in the file go first, so the new key cannot meet one of them. */
	size_t kept = 0;
	for (size_t i = 0; i < dev->n_peers; i++) {
		struct wg_peer *peer = dev->peers[i];
		if (in_targets(&pl, peer)) {
			pl.array[kept++] = peer;
		} else {
			log_info("%s: peer %u (%.8s…) removed", dev->netif.name, peer->id,
				 peer->public_key_b64);
			peer_free(peer);
		}
	}
	size_t n_total = kept;
	for (size_t i = 0; i < pl.n; i++) {
		if (!pl.is_new[i])
			continue;
		struct wg_peer *peer = pl.target[i];
		peer->id = ++dev->next_peer_id;
		pl.array[n_total++] = peer;
	}
	free(dev->peers);
	dev->peers = pl.array;
	dev->n_peers = n_total;
	dev->cap_peers = pl.cap;
	pl.array = NULL;

	lpm_free(dev->allowedips4, NULL, NULL);
	lpm_free(dev->allowedips6, NULL, NULL);
	dev->allowedips4 = pl.ai4;
	dev->allowedips6 = pl.ai6;
	pl.ai4 = pl.ai6 = NULL;

	if (pl.identity_changes)
		install_identity(dev, &pl.identity);   /* expires the kept peers' sessions */

	for (size_t i = 0; i < pl.n; i++) {
		struct wg_peer *peer = pl.target[i];
		free(peer->allowed_ips);
		peer->allowed_ips = pl.lists[i];
		peer->n_allowed_ips = pl.n_lists[i];
		pl.lists[i] = NULL;
		update_peer(peer, &set->peers[i], pl.is_new[i]);
		if (pl.is_new[i])
			log_info("%s: peer %u (%.8s…) added", dev->netif.name, peer->id,
				 peer->public_key_b64);
	}
	/* New peers that must keep a path open (dial-out behind NAT) connect right away. */
	for (size_t i = 0; i < pl.n; i++) {
		struct wg_peer *peer = pl.target[i];
		if (pl.is_new[i] && peer->persistent_keepalive && peer->has_endpoint &&
		    dev->identity.has_identity)
			wg_send_keepalive(peer);
		else
			wg_peer_kick(peer);
		pl.is_new[i] = false;   /* owned by the device now */
	}
	conf_plan_free(dev, &pl);
	return 0;
}
