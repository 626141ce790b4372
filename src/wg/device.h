/*
 * A WireGuard interface: one wg-quick file, one static identity, the UDP
 * sockets it listens on, its peers and their AllowedIPs. To the IP layer it
 * is a netif: plaintext packets go up through netif_input() and come down
 * through the netif output op, which picks the peer by AllowedIPs.
 */
#ifndef RR_WG_DEVICE_H
#define RR_WG_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/config.h"
#include "core/loop.h"
#include "ip/lpm.h"
#include "ip/netif.h"
#include "ip/router.h"
#include "wg/cookie.h"
#include "wg/noise.h"
#include "wg/peer.h"

struct wg_device;

/* Encrypted packets waiting for one sendmmsg at the end of the loop round. */
#define WG_TX_BATCH 64

struct wg_socket {
	struct loop_fd lfd;
	struct wg_device *dev;
	int family;
	bool gro, gso;                   /* UDP offloads on (wg/udp_batch.h) */
	unsigned tx_len;
	struct pbuf *tx_bufs[WG_TX_BATCH];
	union sockaddr_inet tx_dst[WG_TX_BATCH];
};

/* Handshake messages per second above which mac2 (a cookie) is demanded. */
#define WG_UNDER_LOAD_HANDSHAKES_PER_SEC 256

struct wg_device {
	struct netif netif;              /* name, ifindex, mtu, addresses, counters */
	struct loop *loop;
	struct noise_static_identity identity;
	char public_key_b64[KEY_BASE64_LEN + 1];
	struct cookie_checker cookie_checker;

	struct wg_socket sock4, sock6;   /* fd -1 when not open */
	uint16_t listen_port;            /* as bound (ephemeral when not configured) */
	bool listen_port_configured;
	enum table_mode table;

	struct wg_peer **peers;
	size_t n_peers;
	struct lpm *allowedips4, *allowedips6;

	/* Load estimate for the cookie mechanism. */
	uint64_t load_window_start;
	unsigned handshakes_in_window;
	uint64_t under_load_until;

	uint64_t cookie_replies_sent;
	struct loop_hook tx_flush;
};

/*
 * Builds the interface from its config, binds its sockets, registers it with
 * the router, and sets the peers' timers going (peers with an endpoint and a
 * persistent keepalive start a handshake). NULL with a log line on failure.
 */
struct wg_device *wg_device_create(struct loop *loop, struct ip_router *router,
				   const struct wg_iface_conf *conf);
void wg_device_destroy(struct wg_device *dev);

struct wg_peer *wg_device_peer_by_key(const struct wg_device *dev,
				      const uint8_t public_key[CRYPTO_KEY_LEN]);
/* The peer whose AllowedIPs cover addr, or NULL. */
struct wg_peer *wg_device_peer_by_addr(const struct wg_device *dev, const struct ip_addr *addr);

/* Sends one datagram to the peer's endpoint. 0 or -errno (counted by the caller). */
int wg_device_send_to_peer(struct wg_device *dev, struct wg_peer *peer,
			   const void *data, size_t len);
/*
 * Queues an encrypted transport packet for the peer's endpoint; it leaves
 * with the rest of the batch (sendmmsg) when the loop round ends. Consumes b.
 * 0, or -errno when it cannot be queued (counted by the caller).
 */
int wg_device_queue_to_peer(struct wg_device *dev, struct wg_peer *peer, struct pbuf *b);
/* True while handshakes arrive faster than WG_UNDER_LOAD_HANDSHAKES_PER_SEC. */
bool wg_device_note_handshake_and_check_load(struct wg_device *dev);

static inline struct wg_device *wg_device_of_netif(struct netif *nif)
{
	return container_of(nif, struct wg_device, netif);
}

#endif
