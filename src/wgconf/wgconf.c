/* A parsed wg-quick file turned into a device setting and applied (wgconf.h). */
#include "wgconf/wgconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "ws/ws_transport.h"

_Static_assert(MTU_DEFAULT == WG_MTU_DEFAULT, "wg-quick's default MTU is the device's");

/*
 * The device's view of conf, borrowing conf's keys and lists. *peers_out is
 * the array to free afterwards (NULL for a file without peers). -ENOMEM.
 */
static int setting_from_conf(const struct wg_iface_conf *conf, struct wg_device_setting *set,
			     struct wg_peer_setting **peers_out)
{
	struct wg_peer_setting *peers = NULL;
	if (conf->n_peers) {
		peers = calloc(conf->n_peers, sizeof(*peers));
		if (!peers)
			return -ENOMEM;
	}
	for (size_t i = 0; i < conf->n_peers; i++) {
		const struct wg_peer_conf *pc = &conf->peers[i];
		peers[i] = (struct wg_peer_setting){
			.line = pc->line,
			.public_key = pc->public_key,
			.psk = pc->has_psk ? pc->psk : NULL,
			.endpoint = pc->has_endpoint ? &pc->endpoint : NULL,
			.persistent_keepalive = pc->persistent_keepalive,
			.allowed_ips = pc->allowed_ips,
			.n_allowed_ips = pc->n_allowed_ips,
		};
	}
	*set = (struct wg_device_setting){
		.origin = conf->path,
		.private_key = conf->private_key,
		.has_listen_port = conf->has_listen_port,
		.listen_port = conf->listen_port,
		.peers = peers,
		.n_peers = conf->n_peers,
	};
	*peers_out = peers;
	return 0;
}

/* wg_device_apply or wg_device_check of conf's setting. */
static int apply_or_check(struct wg_device *dev, const struct wg_iface_conf *conf, bool apply,
			  char *err, size_t errlen)
{
	struct wg_device_setting set;
	struct wg_peer_setting *peers;
	if (setting_from_conf(conf, &set, &peers) < 0) {
		snprintf(err, errlen, "%s: out of memory", conf->path[0] ? conf->path : conf->name);
		return -ENOMEM;
	}
	int r = apply ? wg_device_apply(dev, &set, err, errlen)
		      : wg_device_check(dev, &set, err, errlen);
	free(peers);
	return r;
}

int wg_device_check_conf(struct wg_device *dev, const struct wg_iface_conf *conf, char *err,
			 size_t errlen)
{
	return apply_or_check(dev, conf, false, err, errlen);
}

int wg_device_apply_conf(struct wg_device *dev, const struct wg_iface_conf *conf, char *err,
			 size_t errlen)
{
	int r = apply_or_check(dev, conf, true, err, errlen);
	if (r < 0)
		return r;
	/* Listeners and dial-out paths other than UDP: after the peers exist. */
	return ws_transport_apply(dev, conf, err, errlen);
}

struct wg_device *wg_device_create(struct loop *loop, struct ip_router *router,
				   const struct wg_iface_conf *conf)
{
	char err[CONF_ERROR_LEN];
	int r;
	struct wg_device *dev = wg_device_new(loop, conf->name, &r);
	if (!dev) {
		log_error("%s: %s", conf->name, strerror(-r));
		return NULL;
	}
	dev->netif.mtu = conf->mtu;
	if (conf->n_addresses) {
		dev->netif.addrs = calloc(conf->n_addresses, sizeof(*dev->netif.addrs));
		if (!dev->netif.addrs) {
			log_error("%s: out of memory", conf->name);
			goto fail;
		}
		memcpy(dev->netif.addrs, conf->addresses, conf->n_addresses * sizeof(*conf->addresses));
		dev->netif.n_addrs = conf->n_addresses;
	}
	/* The configuration is applied as at a reload: one code path for both. */
	if (wg_device_apply_conf(dev, conf, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto fail;
	}
	if (ip_router_add_netif(router, &dev->netif) < 0) {
		log_error("%s: out of memory", conf->name);
		goto fail;
	}
	log_info("%s: public key %s, UDP port %u%s, %zu peer(s), MTU %u", dev->netif.name,
		 dev->public_key_b64, dev->listen_port,
		 conf->has_listen_port ? "" : " (ephemeral: dials out only)", dev->n_peers,
		 dev->netif.mtu);
	return dev;
fail:
	wg_device_destroy(dev);
	return NULL;
}
