/*
 * A wg-quick interface file applied to a WireGuard device: the one place
 * where conf/ (what the file says) meets wg/ (the device) and ws/ (its
 * WebSocket paths). The device knows nothing of files; it takes a
 * wg_device_setting, made here from the parsed file.
 */
#ifndef RR_WGCONF_WGCONF_H
#define RR_WGCONF_WGCONF_H

#include <stddef.h>

#include "conf/config.h"
#include "core/loop.h"
#include "ip/router.h"
#include "wg/device.h"

/*
 * Builds the interface from its file (name, MTU, addresses, keys, peers,
 * WebSocket paths), binds its sockets and adds it to the router; peers with
 * an endpoint and a persistent keepalive start a handshake. NULL with a log
 * line on failure.
 */
struct wg_device *wg_device_create(struct loop *loop, struct ip_router *router,
				   const struct wg_iface_conf *conf);
/*
 * `wg syncconf` of the file's WireGuard part (wg_device_apply), then its
 * WebSocket listener and dial-outs. Addresses, MTU, Table and hooks are not
 * this function's business. 0, or -errno with "file:line: message" in err.
 */
int wg_device_apply_conf(struct wg_device *dev, const struct wg_iface_conf *conf, char *err,
			 size_t errlen);
/* What wg_device_apply_conf would say, changing nothing (wg_device_check). */
int wg_device_check_conf(struct wg_device *dev, const struct wg_iface_conf *conf, char *err,
			 size_t errlen);

#endif
