#include "wg/device.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "wg/datapath.h"
#include "wg/messages.h"
#include "wg/timers.h"
#include "wg/transport.h"
#include "wg/udp_batch.h"

#define RECV_BATCH 32
/* Received datagrams land here so the IP packet inside starts at PBUF_HEADROOM. */
#define RECV_OFFSET (PBUF_HEADROOM - MESSAGE_DATA_HEADER_LEN)
#define SOCKET_BUFFER_BYTES (4 << 20)

static void device_output(struct netif *nif, struct pbuf *b, const struct ip_addr *nexthop);

static void device_netif_destroy(struct netif *nif)
{
	wg_device_destroy(wg_device_of_netif(nif));
}

static const char *const wg_drop_names[WG_DROP_END - NETIF_DROP_LINK_BASE] = {
#define WG_DROP_NAME(reason, name) [(reason) - NETIF_DROP_LINK_BASE] = (name)
	WG_DROP_NAME(DROP_INVALID_MESSAGE, "invalid_message"),
	WG_DROP_NAME(DROP_INVALID_MAC, "invalid_mac"),
	WG_DROP_NAME(DROP_HANDSHAKE_FAILED, "handshake_failed"),
	WG_DROP_NAME(DROP_HANDSHAKE_RATELIMITED, "handshake_ratelimited"),
	WG_DROP_NAME(DROP_UNKNOWN_INDEX, "unknown_index"),
	WG_DROP_NAME(DROP_DECRYPT_FAILED, "decrypt_failed"),
	WG_DROP_NAME(DROP_REPLAYED, "replayed"),
	WG_DROP_NAME(DROP_KEY_EXPIRED, "key_expired"),
	WG_DROP_NAME(DROP_ALLOWEDIPS, "allowedips"),
	WG_DROP_NAME(DROP_TRUNCATED, "truncated"),
	WG_DROP_NAME(DROP_NO_PEER, "no_peer"),
	WG_DROP_NAME(DROP_QUEUE_FULL, "queue_full"),
	WG_DROP_NAME(DROP_SEND_FAILED, "send_failed"),
#undef WG_DROP_NAME
};

static const struct netif_ops wg_netif_ops = {
	.kind = NETIF_KIND_WIREGUARD,
	.output = device_output,
	.destroy = device_netif_destroy,
	.link_drop_names = wg_drop_names,
	.n_link_drops = WG_DROP_END - NETIF_DROP_LINK_BASE,
	.n_link_rx_drops = WG_DROP_RX_END - NETIF_DROP_LINK_BASE,
};

struct wg_peer *wg_device_peer_by_key(const struct wg_device *dev,
				      const uint8_t public_key[CRYPTO_KEY_LEN])
{
	/* Peers per interface are few (DN42: one); a scan beats a hash here. */
	for (size_t i = 0; i < dev->n_peers; i++)
		if (memcmp(dev->peers[i]->public_key, public_key, CRYPTO_KEY_LEN) == 0)
			return dev->peers[i];
	return NULL;
}

struct wg_peer *wg_device_peer_by_addr(const struct wg_device *dev, const struct ip_addr *addr)
{
	const struct lpm *t = addr->family == AF_INET ? dev->allowedips4 : dev->allowedips6;
	return lpm_lookup(t, addr->bytes);
}

bool wg_device_note_handshake_and_check_load(struct wg_device *dev)
{
	uint64_t now = loop_now(dev->loop);
	if (now - dev->load_window_start >= NSEC_PER_SEC) {
		dev->load_window_start = now;
		dev->handshakes_in_window = 0;
	}
	if (++dev->handshakes_in_window > WG_UNDER_LOAD_HANDSHAKES_PER_SEC)
		dev->under_load_until = now + NSEC_PER_SEC;   /* stays loaded for a second */
	return now < dev->under_load_until;
}

int wg_device_send_to(struct wg_device *dev, const union sockaddr_inet *to,
		      const void *data, size_t len)
{
	if (wg_transport_is_path(to)) {
		const struct wg_transport_ops *ops = wg_transport_ops();
		return ops ? ops->send(dev, to, data, len) : -ENETUNREACH;
	}
	int fd = to->sa.sa_family == AF_INET ? dev->sock4.lfd.fd : dev->sock6.lfd.fd;
	if (fd < 0)
		return -EAFNOSUPPORT;
	ssize_t n = sendto(fd, data, len, MSG_DONTWAIT, &to->sa, sockaddr_inet_len(to));
	if (n < 0) {
		int err = errno;
		char name[SOCKADDR_INET_STRLEN];
		log_debug("%s: sendto %s failed: %s", dev->netif.name,
			  sockaddr_inet_format(to, name, sizeof(name)), strerror(err));
		return -err;
	}
	return 0;
}

int wg_device_send_to_peer(struct wg_device *dev, struct wg_peer *peer,
			   const void *data, size_t len)
{
	if (!peer->has_endpoint)
		return -EDESTADDRREQ;
	return wg_device_send_to(dev, &peer->endpoint, data, len);
}

/*
 * tx_bytes counted a queued packet; the kernel counts only what the socket
 * took (wg_socket_send_skb_to_peer), so a packet that failed is taken back.
 */
void wg_device_untake_tx_bytes(struct wg_socket *s, unsigned i)
{
	if (s->tx_peer[i])
		s->tx_peer[i]->tx_bytes -= s->tx_bufs[i]->len;
}

void wg_device_forget_tx_peer(struct wg_device *dev, const struct wg_peer *peer)
{
	struct wg_socket *socks[2] = { &dev->sock4, &dev->sock6 };
	for (int k = 0; k < 2; k++)
		for (unsigned i = 0; i < socks[k]->tx_len; i++)
			if (socks[k]->tx_peer[i] == peer)
				socks[k]->tx_peer[i] = NULL;
}

static void flush_socket(struct wg_device *dev, struct wg_socket *s)
{
	if (s->gso) {
		udp_batch_send_gso(dev, s);
		return;
	}
	struct mmsghdr msgs[WG_TX_BATCH];
	struct iovec iov[WG_TX_BATCH];
	unsigned n = s->tx_len, done = 0;
	for (unsigned i = 0; i < n; i++) {
		iov[i] = (struct iovec){ pbuf_data(s->tx_bufs[i]), s->tx_bufs[i]->len };
		msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &s->tx_dst[i], .msg_namelen = sockaddr_inet_len(&s->tx_dst[i]),
			.msg_iov = &iov[i], .msg_iovlen = 1,
		};
	}
	while (done < n) {
		int r = sendmmsg(s->lfd.fd, msgs + done, n - done, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/* Full socket buffer: the rest would fail the same way, one syscall each. */
				dev->netif.stats.drops[DROP_SEND_FAILED] += n - done;
				for (; done < n; done++)
					wg_device_untake_tx_bytes(s, done);
				break;
			}
			/* An unreachable endpoint: this one is lost, the others may go. */
			log_debug("%s: sendmmsg: %s", dev->netif.name, strerror(errno));
			netif_drop(&dev->netif, DROP_SEND_FAILED);
			wg_device_untake_tx_bytes(s, done);
			done++;
			continue;
		}
		done += (unsigned)r;
	}
	for (unsigned i = 0; i < n; i++)
		pbuf_free(s->tx_bufs[i]);
	s->tx_len = 0;
}

void wg_device_flush_tx(struct wg_device *dev)
{
	if (dev->sock4.tx_len)
		flush_socket(dev, &dev->sock4);
	if (dev->sock6.tx_len)
		flush_socket(dev, &dev->sock6);
}

static void tx_flush(struct loop_hook *h)
{
	wg_device_flush_tx(container_of(h, struct wg_device, tx_flush));
}

int wg_device_queue_to_peer(struct wg_device *dev, struct wg_peer *peer, struct pbuf *b)
{
	if (!peer->has_endpoint) {
		pbuf_free(b);
		return -EDESTADDRREQ;
	}
	if (wg_transport_is_path(&peer->endpoint)) {
		/* The transport batches on its own (one write per loop round). */
		int r = wg_device_send_to(dev, &peer->endpoint, pbuf_data(b), b->len);
		pbuf_free(b);
		return r;
	}
	struct wg_socket *s = peer->endpoint.sa.sa_family == AF_INET ? &dev->sock4 : &dev->sock6;
	if (s->lfd.fd < 0) {
		pbuf_free(b);
		return -EAFNOSUPPORT;
	}
	if (s->tx_len == WG_TX_BATCH)
		flush_socket(dev, s);
	s->tx_bufs[s->tx_len] = b;
	s->tx_dst[s->tx_len] = peer->endpoint;
	s->tx_peer[s->tx_len] = peer;
	s->tx_len++;
	loop_defer(dev->loop, &dev->tx_flush);
	return 0;
}

/* The IP layer hands us a packet for nexthop: AllowedIPs pick the peer. */
static void device_output(struct netif *nif, struct pbuf *b, const struct ip_addr *nexthop)
{
	struct wg_device *dev = wg_device_of_netif(nif);
	struct wg_peer *peer = wg_device_peer_by_addr(dev, nexthop);
	/* Without a private key no session can exist: nothing would ever carry the packet. */
	if (!peer || !dev->identity.has_identity) {
		netif_drop(nif, DROP_NO_PEER);
		pbuf_free(b);
		return;
	}
	wg_send_packet(peer, b);
}

static void socket_readable(struct loop_fd *lfd, uint32_t events)
{
	struct wg_socket *s = container_of(lfd, struct wg_socket, lfd);
	struct wg_device *dev = s->dev;
	struct pbuf *bufs[RECV_BATCH];
	struct mmsghdr msgs[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	union sockaddr_inet from[RECV_BATCH];

	if (s->gro) {
		udp_batch_receive_gro(dev, s);
		return;
	}
	/* Bounded rounds so one busy socket cannot starve the others. */
	for (int round = 0; round < 8; round++) {
		int n_bufs = 0;
		for (; n_bufs < RECV_BATCH; n_bufs++) {
			bufs[n_bufs] = pbuf_alloc();
			if (!bufs[n_bufs])
				break;
			pbuf_reset(bufs[n_bufs], RECV_OFFSET);
			iov[n_bufs] = (struct iovec){ pbuf_data(bufs[n_bufs]), PBUF_SIZE - RECV_OFFSET };
			msgs[n_bufs].msg_hdr = (struct msghdr){
				.msg_name = &from[n_bufs], .msg_namelen = sizeof(from[n_bufs]),
				.msg_iov = &iov[n_bufs], .msg_iovlen = 1,
			};
			msgs[n_bufs].msg_len = 0;
		}
		int n = udp_batch_recv(dev, lfd->fd, msgs, n_bufs);
		if (n < 0)
			return;
		for (int i = 0; i < n_bufs; i++) {
			if (!udp_batch_received(dev, &msgs[i], i < n, bufs[i]))
				continue;
			bufs[i]->len = (uint16_t)msgs[i].msg_len;
			wg_receive(dev, bufs[i], &from[i]);
		}
		if (n < n_bufs)
			return;
	}
}

int wg_device_open_socket(struct wg_device *dev, struct wg_socket *s, int family, uint16_t port)
{
	s->dev = dev;
	s->family = family;
	s->lfd.fd = -1;
	s->lfd.cb = socket_readable;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1, size = SOCKET_BUFFER_BYTES;
	/* Larger buffers absorb bursts; the kernel caps them at rmem_max, which is fine. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	union sockaddr_inet addr = { 0 };
	if (family == AF_INET) {
		addr.in4.sin_family = AF_INET;
		addr.in4.sin_port = htons(port);
	} else {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) {
			int err = errno;
			close(fd);
			return -err;
		}
		addr.in6.sin6_family = AF_INET6;
		addr.in6.sin6_port = htons(port);
	}
	if (bind(fd, &addr.sa, sockaddr_inet_len(&addr)) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	s->lfd.fd = fd;
	udp_batch_socket_setup(s);
	return 0;
}

uint16_t wg_device_bound_port(int fd)
{
	union sockaddr_inet a;
	socklen_t len = sizeof(a);
	if (getsockname(fd, &a.sa, &len) < 0)
		return 0;
	return ntohs(a.sa.sa_family == AF_INET ? a.in4.sin_port : a.in6.sin6_port);
}

void wg_device_close_socket(struct wg_device *dev, struct wg_socket *s)
{
	for (unsigned i = 0; i < s->tx_len; i++)
		pbuf_free(s->tx_bufs[i]);
	s->tx_len = 0;
	s->gro = s->gso = false;
	if (s->lfd.fd < 0)
		return;
	loop_del_fd(dev->loop, &s->lfd);
	close(s->lfd.fd);
	s->lfd.fd = -1;
}

struct wg_device *wg_device_new(struct loop *loop, const char *name, int *err)
{
	if (!netif_name_valid(name)) {
		*err = -EINVAL;
		return NULL;
	}
	*err = -ENOMEM;
	struct wg_device *dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->loop = loop;
	dev->sock4.lfd.fd = dev->sock6.lfd.fd = -1;
	dev->sock4.dev = dev->sock6.dev = dev;
	/* Sockets come and go (listen port changes); their callback stays. */
	dev->sock4.lfd.cb = dev->sock6.lfd.cb = socket_readable;
	dev->tx_flush.cb = tx_flush;
	snprintf(dev->netif.name, sizeof(dev->netif.name), "%s", name);
	dev->netif.mtu = WG_MTU_DEFAULT;
	dev->netif.ops = &wg_netif_ops;
	cookie_checker_init(&dev->cookie_checker);
	dev->allowedips4 = lpm_new(AF_INET);
	dev->allowedips6 = lpm_new(AF_INET6);
	if (!dev->allowedips4 || !dev->allowedips6) {
		wg_device_destroy(dev);
		return NULL;
	}
	*err = 0;
	return dev;
}

struct wg_device *wg_device_create_empty(struct loop *loop, struct ip_router *router,
					 const char *name, int *err)
{
	if (ip_router_netif_by_name(router, name)) {
		*err = -EEXIST;
		return NULL;
	}
	struct wg_device *dev = wg_device_new(loop, name, err);
	if (!dev)
		return NULL;
	int r = wg_device_set_listen_port(dev, 0);
	if (r == 0)
		r = ip_router_add_netif(router, &dev->netif);
	if (r < 0) {
		wg_device_destroy(dev);
		*err = r;
		return NULL;
	}
	log_info("%s: created (no private key yet), UDP port %u", dev->netif.name, dev->listen_port);
	*err = 0;
	return dev;
}

void wg_device_destroy(struct wg_device *dev)
{
	if (!dev)
		return;
	if (dev->netif.router)
		ip_router_del_netif(dev->netif.router, &dev->netif);
	loop_cancel_deferred(dev->loop, &dev->tx_flush);
	if (dev->transport && wg_transport_ops())
		wg_transport_ops()->destroy(dev);
	wg_device_close_socket(dev, &dev->sock4);
	wg_device_close_socket(dev, &dev->sock6);
	for (size_t i = 0; i < dev->n_peers; i++) {
		wg_peer_destroy(dev->peers[i]);
		free(dev->peers[i]);
	}
	free(dev->peers);
	if (dev->allowedips4)
		lpm_free(dev->allowedips4, NULL, NULL);
	if (dev->allowedips6)
		lpm_free(dev->allowedips6, NULL, NULL);
	cookie_checker_clear(&dev->cookie_checker);
	noise_static_identity_clear(&dev->identity);
	free(dev->netif.addrs);
	free(dev);
}
