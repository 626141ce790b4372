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
#include "wg/udp_batch.h"

#define RECV_BATCH 32
/* Received datagrams land here so the IP packet inside starts at PBUF_HEADROOM. */
#define RECV_OFFSET (PBUF_HEADROOM - MESSAGE_DATA_HEADER_LEN)
#define SOCKET_BUFFER_BYTES (4 << 20)

static void device_output(struct netif *nif, struct pbuf *b, const struct ip_addr *nexthop);

static const struct netif_ops wg_netif_ops = {
	.output = device_output,
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

int wg_device_send_to_peer(struct wg_device *dev, struct wg_peer *peer,
			   const void *data, size_t len)
{
	if (!peer->has_endpoint)
		return -EDESTADDRREQ;
	const union sockaddr_inet *to = &peer->endpoint;
	int fd = to->sa.sa_family == AF_INET ? dev->sock4.lfd.fd : dev->sock6.lfd.fd;
	if (fd < 0)
		return -EAFNOSUPPORT;
	ssize_t n = sendto(fd, data, len, MSG_DONTWAIT, &to->sa, sockaddr_inet_len(to));
	if (n < 0) {
		int err = errno;
		log_debug("%s: peer %u: sendto failed: %s", dev->netif.name, peer->id, strerror(err));
		return -err;
	}
	return 0;
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
				break;
			}
			/* An unreachable endpoint: this one is lost, the others may go. */
			log_debug("%s: sendmmsg: %s", dev->netif.name, strerror(errno));
			netif_drop(&dev->netif, DROP_SEND_FAILED);
			done++;
			continue;
		}
		done += (unsigned)r;
	}
	for (unsigned i = 0; i < n; i++)
		pbuf_free(s->tx_bufs[i]);
	s->tx_len = 0;
}

static void tx_flush(struct loop_hook *h)
{
	struct wg_device *dev = container_of(h, struct wg_device, tx_flush);
	if (dev->sock4.tx_len)
		flush_socket(dev, &dev->sock4);
	if (dev->sock6.tx_len)
		flush_socket(dev, &dev->sock6);
}

int wg_device_queue_to_peer(struct wg_device *dev, struct wg_peer *peer, struct pbuf *b)
{
	if (!peer->has_endpoint) {
		pbuf_free(b);
		return -EDESTADDRREQ;
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
	s->tx_len++;
	loop_defer(dev->loop, &dev->tx_flush);
	return 0;
}

/* The IP layer hands us a packet for nexthop: AllowedIPs pick the peer. */
static void device_output(struct netif *nif, struct pbuf *b, const struct ip_addr *nexthop)
{
	struct wg_device *dev = wg_device_of_netif(nif);
	struct wg_peer *peer = wg_device_peer_by_addr(dev, nexthop);
	if (!peer) {
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
		if (n_bufs == 0) {
			netif_drop(&dev->netif, DROP_NOMEM);
			return;
		}
		int n = recvmmsg(lfd->fd, msgs, (unsigned)n_bufs, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("%s: receiving on UDP port %u: %s", dev->netif.name,
					 dev->listen_port, strerror(errno));
			n = 0;
		}
		for (int i = 0; i < n_bufs; i++) {
			if (i >= n) {
				pbuf_free(bufs[i]);
				continue;
			}
			if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
				netif_drop(&dev->netif, DROP_TRUNCATED);
				pbuf_free(bufs[i]);
				continue;
			}
			bufs[i]->len = (uint16_t)msgs[i].msg_len;
			wg_receive(dev, bufs[i], &from[i]);
		}
		if (n < n_bufs)
			return;
	}
}

static int open_socket(struct wg_device *dev, struct wg_socket *s, int family, uint16_t port)
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
	if (udp_batch_offload_allowed()) {
		s->gro = udp_batch_enable_gro(fd);
		s->gso = udp_batch_probe_gso(fd);
	}
	return 0;
}

static uint16_t bound_port(int fd)
{
	union sockaddr_inet a;
	socklen_t len = sizeof(a);
	if (getsockname(fd, &a.sa, &len) < 0)
		return 0;
	return ntohs(a.sa.sa_family == AF_INET ? a.in4.sin_port : a.in6.sin6_port);
}

/* IPv4 and IPv6 on one port; IPv6 is optional (a host without it still works). */
static int open_sockets(struct wg_device *dev, uint16_t port)
{
	int r = open_socket(dev, &dev->sock4, AF_INET, port);
	if (r < 0) {
		log_error("%s: cannot bind UDP port %u for IPv4: %s", dev->netif.name, port,
			  strerror(-r));
		return r;
	}
	dev->listen_port = bound_port(dev->sock4.lfd.fd);
	r = open_socket(dev, &dev->sock6, AF_INET6, dev->listen_port);
	if (r < 0)
		log_warn("%s: no IPv6 underlay on UDP port %u (%s); IPv4 only", dev->netif.name,
			 dev->listen_port, strerror(-r));
	return 0;
}

static void close_socket(struct wg_device *dev, struct wg_socket *s)
{
	for (unsigned i = 0; i < s->tx_len; i++)
		pbuf_free(s->tx_bufs[i]);
	s->tx_len = 0;
	if (s->lfd.fd < 0)
		return;
	loop_del_fd(dev->loop, &s->lfd);
	close(s->lfd.fd);
	s->lfd.fd = -1;
}

static int add_peer(struct wg_device *dev, const struct wg_peer_conf *pc, uint32_t id)
{
	struct wg_peer *peer = malloc(sizeof(*peer));
	if (!peer)
		return -ENOMEM;
	int r = wg_peer_init(peer, dev, id, pc->public_key, pc->has_psk ? pc->psk : NULL);
	if (r < 0) {
		log_error("%s: peer %u: public key is not usable (%s)", dev->netif.name, id,
			  strerror(-r));
		free(peer);
		return r;
	}
	dev->peers[dev->n_peers++] = peer;
	if (pc->has_endpoint) {
		peer->endpoint = pc->endpoint;
		peer->has_endpoint = true;
	}
	peer->persistent_keepalive = pc->persistent_keepalive;
	if (pc->n_allowed_ips) {
		peer->allowed_ips = calloc(pc->n_allowed_ips, sizeof(*peer->allowed_ips));
		if (!peer->allowed_ips)
			return -ENOMEM;
		memcpy(peer->allowed_ips, pc->allowed_ips,
		       pc->n_allowed_ips * sizeof(*peer->allowed_ips));
		peer->n_allowed_ips = pc->n_allowed_ips;
	}
	for (size_t i = 0; i < pc->n_allowed_ips; i++) {
		const struct ip_prefix *p = &pc->allowed_ips[i];
		struct lpm *t = p->addr.family == AF_INET ? dev->allowedips4 : dev->allowedips6;
		void *old = NULL;
		r = lpm_insert(t, p->addr.bytes, p->len, peer, &old);
		if (r < 0)
			return r;
		if (old && old != peer) {
			char buf[IP_PREFIX_STRLEN];
			log_warn("%s: AllowedIPs %s moves from peer %u to peer %u (last one wins, as in wg)",
				 dev->netif.name, ip_prefix_format(p, buf),
				 ((struct wg_peer *)old)->id, peer->id);
		}
	}
	return 0;
}

struct wg_device *wg_device_create(struct loop *loop, struct ip_router *router,
				   const struct wg_iface_conf *conf)
{
	struct wg_device *dev = calloc(1, sizeof(*dev));
	if (!dev) {
		log_error("%s: out of memory", conf->name);
		return NULL;
	}
	dev->loop = loop;
	dev->sock4.lfd.fd = dev->sock6.lfd.fd = -1;
	dev->tx_flush.cb = tx_flush;
	snprintf(dev->netif.name, sizeof(dev->netif.name), "%s", conf->name);
	dev->netif.mtu = conf->mtu;
	dev->netif.ops = &wg_netif_ops;
	dev->table = conf->table;
	dev->listen_port_configured = conf->has_listen_port;

	if (noise_static_identity_set(&dev->identity, conf->private_key) < 0) {
		log_error("%s: %s: PrivateKey is not a usable X25519 key", conf->name, conf->path);
		goto fail;
	}
	key_to_base64(dev->public_key_b64, dev->identity.public_key);
	cookie_checker_init(&dev->cookie_checker);
	cookie_checker_set_public_key(&dev->cookie_checker, dev->identity.public_key);

	if (conf->n_addresses) {
		dev->netif.addrs = calloc(conf->n_addresses, sizeof(*dev->netif.addrs));
		if (!dev->netif.addrs)
			goto nomem;
		memcpy(dev->netif.addrs, conf->addresses, conf->n_addresses * sizeof(*conf->addresses));
		dev->netif.n_addrs = conf->n_addresses;
	}
	dev->allowedips4 = lpm_new(AF_INET);
	dev->allowedips6 = lpm_new(AF_INET6);
	dev->peers = calloc(conf->n_peers ? conf->n_peers : 1, sizeof(*dev->peers));
	if (!dev->allowedips4 || !dev->allowedips6 || !dev->peers)
		goto nomem;
	for (size_t i = 0; i < conf->n_peers; i++) {
		int r = add_peer(dev, &conf->peers[i], (uint32_t)i + 1);
		if (r == -ENOMEM)
			goto nomem;
		if (r < 0)
			goto fail;
	}
	if (open_sockets(dev, conf->has_listen_port ? conf->listen_port : 0) < 0)
		goto fail;
	if (ip_router_add_netif(router, &dev->netif) < 0)
		goto nomem;
	if (loop_add_fd(loop, &dev->sock4.lfd, EPOLLIN) < 0 ||
	    (dev->sock6.lfd.fd >= 0 && loop_add_fd(loop, &dev->sock6.lfd, EPOLLIN) < 0)) {
		log_error("%s: cannot watch its sockets: %s", conf->name, strerror(errno));
		goto fail;
	}
	log_info("%s: public key %s, UDP port %u%s, %zu peer(s), MTU %u", dev->netif.name,
		 dev->public_key_b64, dev->listen_port,
		 conf->has_listen_port ? "" : " (ephemeral: dials out only)", dev->n_peers,
		 dev->netif.mtu);

	/* Peers we must keep a path to (dial-out behind NAT) connect right away. */
	for (size_t i = 0; i < dev->n_peers; i++) {
		struct wg_peer *peer = dev->peers[i];
		if (peer->persistent_keepalive && peer->has_endpoint)
			wg_send_keepalive(peer);
	}
	return dev;

nomem:
	log_error("%s: out of memory", conf->name);
fail:
	wg_device_destroy(dev);
	return NULL;
}

void wg_device_destroy(struct wg_device *dev)
{
	if (!dev)
		return;
	loop_cancel_deferred(dev->loop, &dev->tx_flush);
	close_socket(dev, &dev->sock4);
	close_socket(dev, &dev->sock6);
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
