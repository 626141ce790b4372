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

#include "core/loop.h"
#include "ip/lpm.h"
#include "ip/netif.h"
#include "ip/router.h"
#include "wg/cookie.h"
#include "wg/noise.h"
#include "wg/peer.h"

struct wg_device;

/* WireGuard's own drop reasons, after the IP layer's (ip/netif.h); the receive path's first. */
enum wg_drop_reason {
	DROP_INVALID_MESSAGE = NETIF_DROP_LINK_BASE,   /* unknown type or wrong length */
	DROP_INVALID_MAC,        /* mac1/mac2 wrong */
	DROP_HANDSHAKE_FAILED,   /* did not decrypt, unknown peer, replayed or flooded */
	DROP_HANDSHAKE_RATELIMITED, /* under load, its source sent more than 20/s */
	DROP_UNKNOWN_INDEX,      /* receiver index matches no session */
	DROP_DECRYPT_FAILED,     /* transport packet did not authenticate */
	DROP_REPLAYED,           /* counter seen before or too old */
	DROP_KEY_EXPIRED,        /* session past REJECT_AFTER_TIME/MESSAGES */
	DROP_ALLOWEDIPS,         /* inner source not in the peer's AllowedIPs */
	DROP_TRUNCATED,          /* UDP datagram larger than a packet buffer */
	WG_DROP_RX_END,
	DROP_NO_PEER = WG_DROP_RX_END,   /* no peer's AllowedIPs covers the destination */
	DROP_QUEUE_FULL,         /* staged queue of a peer waiting for a handshake */
	DROP_SEND_FAILED,        /* the underlay socket refused it */
	WG_DROP_END
};
_Static_assert((int)WG_DROP_END <= (int)DROP_MAX, "ip/netif.h leaves room for WireGuard's drop reasons");

/* 1500 less the largest WireGuard overhead (IPv6 + UDP + 32), as the kernel and wg-quick. */
#define WG_MTU_DEFAULT 1420

/* Encrypted packets waiting for one sendmmsg at the end of the loop round. */
#define WG_TX_BATCH 64

struct wg_socket {
	struct loop_fd lfd;
	struct wg_device *dev;
	int family;
	bool gro, gso;                   /* UDP offloads on (wg/udp_batch.h) */
	uint16_t gso_refused_len;        /* segments this long or longer go plain (0: none refused) */
	unsigned tx_len;
	struct pbuf *tx_bufs[WG_TX_BATCH];
	union sockaddr_inet tx_dst[WG_TX_BATCH];
	/* Whose tx_bytes a failed send is taken back from (NULL once the peer is gone). */
	struct wg_peer *tx_peer[WG_TX_BATCH];
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
	uint32_t fwmark;                 /* `wg set fwmark`: kept and shown, unused (no kernel routing to mark) */

	struct wg_peer **peers;          /* in the order they were added, as the kernel lists them */
	size_t n_peers, cap_peers;
	uint32_t next_peer_id;           /* ids are never reused: log lines stay unambiguous */
	struct lpm *allowedips4, *allowedips6;

	/* Load estimate for the cookie mechanism. */
	uint64_t load_window_start;
	unsigned handshakes_in_window;
	uint64_t under_load_until;

	uint64_t cookie_replies_sent;
	struct loop_hook tx_flush;
	void *transport;                 /* the transport hook's state (wg/transport.h), or NULL */
};

/*
 * What a configuration asks of a device, in the device's own terms: the
 * input of wg_device_apply (wgconf/ makes one from a wg-quick file). The
 * pointers are only borrowed for the call.
 */
struct wg_peer_setting {
	int line;                              /* its [Peer] line, for messages (0: none) */
	const uint8_t *public_key;
	const uint8_t *psk;                    /* NULL: none */
	const union sockaddr_inet *endpoint;   /* NULL: none (or a name not resolved yet) */
	uint16_t persistent_keepalive;
	const struct ip_prefix *allowed_ips;
	size_t n_allowed_ips;
};

struct wg_device_setting {
	const char *origin;                    /* the file, for messages; NULL: the device's name */
	const uint8_t *private_key;
	bool has_listen_port;                  /* false: keep the port (an ephemeral one at first) */
	uint16_t listen_port;
	const struct wg_peer_setting *peers;
	size_t n_peers;
};

/*
 * A device with no key, socket or peer that is not in the router yet: the
 * caller configures it (wg_device_apply) and then adds dev->netif to the
 * router, or destroys it. NULL with *err = -EINVAL (bad name) or -ENOMEM.
 */
struct wg_device *wg_device_new(struct loop *loop, const char *name, int *err);
/*
 * As `ip link add NAME type wireguard`: no private key, no peers, an
 * ephemeral UDP port, MTU WG_MTU_DEFAULT, registered with the router. Without a
 * private key it neither sends nor answers handshakes and drops what the IP
 * layer routes to it. NULL with *err = -errno (-EINVAL for a bad name,
 * -EEXIST if the router has an interface by that name).
 */
struct wg_device *wg_device_create_empty(struct loop *loop, struct ip_router *router,
					 const char *name, int *err);
void wg_device_destroy(struct wg_device *dev);

/*
 * `wg syncconf` (device_conf.c): private key, listen port (kept when the
 * setting has none), and the peers with their preshared keys, endpoints,
 * keepalives and AllowedIPs. Peers missing from the setting are removed, new
 * ones added, the others updated in place: a peer whose key stays keeps its
 * sessions, counters and timers (and a roamed endpoint while its configured
 * endpoint is unchanged). A new private key expires every session (as the
 * kernel does). All or nothing: everything that can fail (keys, sockets,
 * memory) is done before the first change; new peers with an endpoint and a
 * persistent keepalive start a handshake. 0, or -errno with
 * "ORIGIN:LINE: message" (or "NAME: message") in err.
 */
int wg_device_apply(struct wg_device *dev, const struct wg_device_setting *set, char *err,
		    size_t errlen);
/*
 * What wg_device_apply would say, changing nothing (a new port is bound and
 * released again): lets a reload of several interfaces check them all before
 * applying any. 0 or -errno with err as wg_device_apply's.
 */
int wg_device_check(struct wg_device *dev, const struct wg_device_setting *set, char *err,
		    size_t errlen);

/*
 * The primitives of `wg set` / WG_CMD_SET_DEVICE (device_conf.c), each one
 * step with the kernel's semantics; they take effect at once.
 */
/* NULL or all zeros removes the key. A peer with the new public key is removed
 * (the kernel does so too); every session expires. 0 or -EINVAL. */
int wg_device_set_private_key(struct wg_device *dev, const uint8_t private_key[CRYPTO_KEY_LEN]);
/* Rebinds both sockets (0: an ephemeral port); unchanged on error. 0 or -errno (-EADDRINUSE). */
int wg_device_set_listen_port(struct wg_device *dev, uint16_t port);
/* A peer with no endpoint, keepalive or AllowedIPs, appended. NULL with *err = -EINVAL
 * (low-order key) or -ENOMEM. The caller checks that the key is not taken. */
struct wg_peer *wg_device_add_peer(struct wg_device *dev, const uint8_t public_key[CRYPTO_KEY_LEN],
				   int *err);
void wg_device_remove_peer(struct wg_device *dev, struct wg_peer *peer);
void wg_device_remove_all_peers(struct wg_device *dev);
/* NULL or all zeros: none. Sessions are kept (the key only matters to the next handshake). */
void wg_peer_set_preshared_key(struct wg_peer *peer, const uint8_t psk[CRYPTO_KEY_LEN]);
/* As configured (wg set … endpoint): replaces a roamed endpoint too. */
void wg_peer_configure_endpoint(struct wg_peer *peer, const union sockaddr_inet *endpoint);
/* Seconds, 0 = off; turning it on sends a keepalive at once, as the kernel does. */
void wg_peer_set_persistent_keepalive(struct wg_peer *peer, uint16_t seconds);
/* AllowedIPs: p is masked here. Adding moves the prefix from whichever peer had it.
 * 0 or -ENOMEM / -EINVAL. Removing a prefix the peer does not have is a no-op. */
int wg_device_peer_add_allowed_ip(struct wg_device *dev, struct wg_peer *peer,
				  const struct ip_prefix *p);
void wg_device_peer_remove_allowed_ip(struct wg_device *dev, struct wg_peer *peer,
				      const struct ip_prefix *p);
void wg_device_peer_clear_allowed_ips(struct wg_device *dev, struct wg_peer *peer);
/*
 * Sends the packets staged for the peer (starting a handshake if they need
 * one), as the kernel does after a change; with nothing staged it does nothing
 * (a keepalive is the caller's call: wg_send_keepalive).
 */
void wg_peer_kick(struct wg_peer *peer);

struct wg_peer *wg_device_peer_by_key(const struct wg_device *dev,
				      const uint8_t public_key[CRYPTO_KEY_LEN]);
/* The peer whose AllowedIPs cover addr, or NULL. */
struct wg_peer *wg_device_peer_by_addr(const struct wg_device *dev, const struct ip_addr *addr);

/* Sends one message to an endpoint: a UDP datagram, or a transport path (wg/transport.h). */
int wg_device_send_to(struct wg_device *dev, const union sockaddr_inet *to,
		      const void *data, size_t len);
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

/* For device_conf.c: the UDP sockets of a device. */
int wg_device_open_socket(struct wg_device *dev, struct wg_socket *s, int family, uint16_t port);
void wg_device_close_socket(struct wg_device *dev, struct wg_socket *s);
uint16_t wg_device_bound_port(int fd);
void wg_device_flush_tx(struct wg_device *dev);
/* Packet i of s's batch was not sent: its peer's tx_bytes no longer count it. */
void wg_device_untake_tx_bytes(struct wg_socket *s, unsigned i);
/* Forgets peer in the batches waiting to be sent (it is being freed). */
void wg_device_forget_tx_peer(struct wg_device *dev, const struct wg_peer *peer);

static inline struct wg_device *wg_device_of_netif(struct netif *nif)
{
	return container_of(nif, struct wg_device, netif);
}

#endif
