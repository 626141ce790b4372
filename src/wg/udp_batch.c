#include "wg/udp_batch.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "wg/datapath.h"
#include "wg/device.h"
#include "wg/messages.h"


/*
 * Datagrams per recvmmsg, as on the plain path. Each lands in a pbuf, and
 * what a coalesced one has beyond it in an overflow area in the bss (2 MiB,
 * touched only by coalesced traffic).
 */
#define GRO_BATCH 32
/* Segments land here so the IP packet inside starts at PBUF_HEADROOM (as in device.c). */
#define SEGMENT_OFFSET (PBUF_HEADROOM - MESSAGE_DATA_HEADER_LEN)

bool udp_batch_offload_allowed(void)
{
	const char *v = getenv("RR_UDP_OFFLOAD");
	return !v || strcmp(v, "0") != 0;
}

void udp_batch_socket_setup(struct wg_socket *s)
{
	bool on = s->lfd.fd >= 0 && udp_batch_offload_allowed();
	s->gro = on && udp_batch_enable_gro(s->lfd.fd);
	s->gso = on && udp_batch_probe_gso(s->lfd.fd);
	s->gso_refused_len = 0;
}

bool udp_batch_enable_gro(int fd)
{
	int one = 1;
	return setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) == 0;
}

bool udp_batch_probe_gso(int fd)
{
	/* Segment size 0 is the default ("no GSO unless a cmsg asks"): setting it changes nothing. */
	int zero = 0;
	return setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
}

size_t udp_batch_gro_segment_size(const struct msghdr *msg, size_t len)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
		if (c->cmsg_level != IPPROTO_UDP || c->cmsg_type != UDP_GRO ||
		    c->cmsg_len < CMSG_LEN(sizeof(int)))
			continue;
		int seg;
		memcpy(&seg, CMSG_DATA(c), sizeof(seg));
		/* Nonsense from a kernel bug must not loop us forever or overrun. */
		if (seg > 0 && (size_t)seg < len)
			return (size_t)seg;
	}
	return len;
}

unsigned udp_batch_gso_run(struct pbuf *const *bufs, const union sockaddr_inet *dst, unsigned n)
{
	if (n == 0)
		return 0;
	size_t seg = bufs[0]->len, total = seg;
	unsigned k = 1;
	while (k < n && k < UDP_BATCH_GSO_MAX_SEGS) {
		size_t len = bufs[k]->len;
		if (len > seg || total + len > UDP_BATCH_GSO_MAX_BYTES ||
		    !sockaddr_inet_equal(&dst[k], &dst[0]))
			break;
		total += len;
		k++;
		if (len < seg)   /* a shorter one can only end the run */
			break;
	}
	return k;
}

/*
 * Where one received datagram's bytes are: the first HEAD_ROOM in the pbuf
 * it was received into (already at the offset the data path wants), the
 * rest in its overflow area; `tail` keeps the head's bytes past the first
 * segment, saved before that pbuf goes up the stack and is reused in place.
 */
#define HEAD_ROOM (PBUF_SIZE - SEGMENT_OFFSET)

struct gro_datagram {
	const uint8_t *area;
	uint8_t tail[HEAD_ROOM];
	size_t first_len;    /* bytes of segment 0 (the head's own) */
};

static void copy_out(const struct gro_datagram *d, uint8_t *dst, size_t off, size_t n)
{
	if (off < HEAD_ROOM) {
		size_t k = HEAD_ROOM - off < n ? HEAD_ROOM - off : n;
		memcpy(dst, d->tail + (off - d->first_len), k);
		dst += k;
		off += k;
		n -= k;
	}
	if (n)
		memcpy(dst, d->area + (off - HEAD_ROOM), n);
}

/*
 * Cuts one datagram of len bytes (head + area) at seg and hands every segment
 * to wg_receive, in order. A datagram that was not coalesced costs no copy.
 */
static void deliver(struct wg_device *dev, struct pbuf *head, const uint8_t *area, size_t len,
		    size_t seg, const union sockaddr_inet *from)
{
	static struct gro_datagram d;
	size_t n_seg = len ? (len + seg - 1) / seg : 1;   /* an empty datagram is one message too */
	d.area = area;
	d.first_len = seg < len ? seg : len;
	if (n_seg > 1 && d.first_len < HEAD_ROOM) {
		size_t in_head = len < HEAD_ROOM ? len : HEAD_ROOM;
		memcpy(d.tail, pbuf_data(head) + d.first_len, in_head - d.first_len);
	}
	if (d.first_len > HEAD_ROOM) {
		netif_drop(&dev->netif, DROP_TRUNCATED);
		pbuf_free(head);
	} else {
		head->len = (uint16_t)d.first_len;
		wg_receive(dev, head, from);
	}
	for (size_t k = 1; k < n_seg; k++) {
		size_t off = k * seg, part = len - off < seg ? len - off : seg;
		if (part > HEAD_ROOM) {
			netif_drop(&dev->netif, DROP_TRUNCATED);
			continue;
		}
		struct pbuf *b = pbuf_alloc();
		if (!b) {
			netif_drop(&dev->netif, DROP_NOMEM);
			continue;
		}
		pbuf_reset(b, SEGMENT_OFFSET);
		copy_out(&d, pbuf_put(b, part), off, part);
		wg_receive(dev, b, from);
	}
}

int udp_batch_recv(struct wg_device *dev, int fd, struct mmsghdr *msgs, int n_bufs)
{
	if (n_bufs == 0) {
		netif_drop(&dev->netif, DROP_NOMEM);
		return -1;
	}
	int n = recvmmsg(fd, msgs, (unsigned)n_bufs, MSG_DONTWAIT, NULL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			log_warn("%s: receiving on UDP port %u: %s", dev->netif.name,
				 dev->listen_port, strerror(errno));
		n = 0;
	}
	return n;
}

bool udp_batch_received(struct wg_device *dev, const struct mmsghdr *m, bool received,
			struct pbuf *b)
{
	if (received && !(m->msg_hdr.msg_flags & MSG_TRUNC))
		return true;
	if (received)
		netif_drop(&dev->netif, DROP_TRUNCATED);
	pbuf_free(b);
	return false;
}

void udp_batch_receive_gro(struct wg_device *dev, struct wg_socket *s)
{
	static uint8_t area[GRO_BATCH][UDP_BATCH_GRO_MAX_BYTES];
	struct pbuf *heads[GRO_BATCH];
	struct mmsghdr msgs[GRO_BATCH];
	struct iovec iov[GRO_BATCH][2];
	union sockaddr_inet from[GRO_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl[GRO_BATCH];

	/* Bounded rounds so one busy socket cannot starve the others. */
	for (int round = 0; round < 8; round++) {
		int n_bufs = 0;
		for (; n_bufs < GRO_BATCH; n_bufs++) {
			int i = n_bufs;
			heads[i] = pbuf_alloc();
			if (!heads[i])
				break;
			pbuf_reset(heads[i], SEGMENT_OFFSET);
			/* A datagram fills the pbuf first; only coalesced ones reach the area. */
			iov[i][0] = (struct iovec){ pbuf_data(heads[i]), HEAD_ROOM };
			iov[i][1] = (struct iovec){ area[i], sizeof(area[i]) };
			msgs[i].msg_hdr = (struct msghdr){
				.msg_name = &from[i], .msg_namelen = sizeof(from[i]),
				.msg_iov = iov[i], .msg_iovlen = 2,
				.msg_control = ctl[i].buf, .msg_controllen = sizeof(ctl[i].buf),
			};
			msgs[i].msg_len = 0;
		}
		int n = udp_batch_recv(dev, s->lfd.fd, msgs, n_bufs);
		if (n < 0)
			return;
		for (int i = 0; i < n_bufs; i++) {
			if (!udp_batch_received(dev, &msgs[i], i < n, heads[i]))
				continue;
			const struct msghdr *m = &msgs[i].msg_hdr;
			size_t len = msgs[i].msg_len;
			deliver(dev, heads[i], area[i], len, udp_batch_gro_segment_size(m, len), &from[i]);
		}
		if (n < n_bufs)
			return;
	}
}

/* An error that says this socket's route cannot do GSO at all. */
static bool gso_unsupported(int err)
{
	return err == EIO || err == EOPNOTSUPP || err == ENOPROTOOPT;
}

/*
 * Builds messages for the queued packets from first on (GSO runs when gso,
 * else one packet each) and hands them to sendmmsg. Returns the index of the
 * first packet of a GSO message the kernel refused (EIO, EINVAL, EMSGSIZE: the
 * caller resends from there without GSO), or s->tx_len when all were dealt with.
 */
static unsigned send_from(struct wg_device *dev, struct wg_socket *s, unsigned first, bool gso)
{
	struct mmsghdr msgs[WG_TX_BATCH];
	struct iovec iov[WG_TX_BATCH];
	unsigned start[WG_TX_BATCH + 1];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctl[WG_TX_BATCH];
	unsigned n_msgs = 0, i = first;

	while (i < s->tx_len) {
		/* Sizes a route refused before would be refused again: not even tried. */
		bool may = gso && (!s->gso_refused_len || s->tx_bufs[i]->len < s->gso_refused_len);
		unsigned run = may ? udp_batch_gso_run(s->tx_bufs + i, s->tx_dst + i, s->tx_len - i) : 1;
		for (unsigned k = 0; k < run; k++)
			iov[i + k] = (struct iovec){ pbuf_data(s->tx_bufs[i + k]), s->tx_bufs[i + k]->len };
		struct msghdr *h = &msgs[n_msgs].msg_hdr;
		*h = (struct msghdr){
			.msg_name = &s->tx_dst[i], .msg_namelen = sockaddr_inet_len(&s->tx_dst[i]),
			.msg_iov = &iov[i], .msg_iovlen = run,
		};
		if (run > 1) {
			uint16_t seg = s->tx_bufs[i]->len;
			h->msg_control = ctl[n_msgs].buf;
			h->msg_controllen = sizeof(ctl[n_msgs].buf);
			struct cmsghdr *c = CMSG_FIRSTHDR(h);
			c->cmsg_level = IPPROTO_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		}
		start[n_msgs++] = i;
		i += run;
	}
	start[n_msgs] = s->tx_len;

	unsigned done = 0;
	while (done < n_msgs) {
		int r = sendmmsg(s->lfd.fd, msgs + done, n_msgs - done, MSG_DONTWAIT);
		if (r >= 0) {
			done += (unsigned)r;
			continue;
		}
		int err = errno;
		if (err == EINTR)
			continue;
		unsigned packets = start[done + 1] - start[done];
		if (err == EAGAIN || err == EWOULDBLOCK) {
			/* Full socket buffer: the rest would fail the same way, one syscall each. */
			dev->netif.stats.drops[DROP_SEND_FAILED] += s->tx_len - start[done];
			for (unsigned k = start[done]; k < s->tx_len; k++)
				wg_device_untake_tx_bytes(s, k);
			return s->tx_len;
		}
		/* EMSGSIZE/EINVAL: segments larger than the route's MTU, which plain sends fragment. */
		if (packets > 1 && (gso_unsupported(err) || err == EINVAL || err == EMSGSIZE)) {
			if (gso_unsupported(err)) {
				log_info("%s: UDP GSO refused (%s); sending one datagram per packet",
					 dev->netif.name, strerror(err));
				s->gso = false;
			} else {
				/* Too large for some endpoint's route: at most one refused try per size. */
				uint16_t seg = s->tx_bufs[start[done]]->len;
				if (!s->gso_refused_len || seg < s->gso_refused_len)
					s->gso_refused_len = seg;
			}
			return start[done];
		}
		/* An unreachable endpoint: this message is lost, the others may go. */
		log_debug("%s: sendmmsg: %s", dev->netif.name, strerror(err));
		dev->netif.stats.drops[DROP_SEND_FAILED] += packets;
		for (unsigned k = start[done]; k < start[done + 1]; k++)
			wg_device_untake_tx_bytes(s, k);
		done++;
	}
	return s->tx_len;
}

void udp_batch_send_gso(struct wg_device *dev, struct wg_socket *s)
{
	unsigned next = send_from(dev, s, 0, true);
	/* Segments too large for the route, or no GSO here: the rest of this batch goes plain. */
	if (next < s->tx_len)
		send_from(dev, s, next, false);
	for (unsigned i = 0; i < s->tx_len; i++)
		pbuf_free(s->tx_bufs[i]);
	s->tx_len = 0;
}
