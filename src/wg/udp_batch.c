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

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/* Coalesced datagrams per recvmmsg; their buffers live in the bss, touched only when used. */
#define GRO_BATCH 16
/* Segments land here so the IP packet inside starts at PBUF_HEADROOM (as in device.c). */
#define SEGMENT_OFFSET (PBUF_HEADROOM - MESSAGE_DATA_HEADER_LEN)

bool udp_batch_offload_allowed(void)
{
	const char *v = getenv("RR_UDP_OFFLOAD");
	return !v || strcmp(v, "0") != 0;
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

void udp_batch_receive_gro(struct wg_device *dev, struct wg_socket *s)
{
	static uint8_t area[GRO_BATCH][UDP_BATCH_GRO_MAX_BYTES];
	struct mmsghdr msgs[GRO_BATCH];
	struct iovec iov[GRO_BATCH];
	union sockaddr_inet from[GRO_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl[GRO_BATCH];

	/* Bounded rounds so one busy socket cannot starve the others. */
	for (int round = 0; round < 8; round++) {
		for (int i = 0; i < GRO_BATCH; i++) {
			iov[i] = (struct iovec){ area[i], sizeof(area[i]) };
			msgs[i].msg_hdr = (struct msghdr){
				.msg_name = &from[i], .msg_namelen = sizeof(from[i]),
				.msg_iov = &iov[i], .msg_iovlen = 1,
				.msg_control = ctl[i].buf, .msg_controllen = sizeof(ctl[i].buf),
			};
			msgs[i].msg_len = 0;
		}
		int n = recvmmsg(s->lfd.fd, msgs, GRO_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("%s: receiving on UDP port %u: %s", dev->netif.name,
					 dev->listen_port, strerror(errno));
			return;
		}
		for (int i = 0; i < n; i++) {
			const struct msghdr *m = &msgs[i].msg_hdr;
			size_t len = msgs[i].msg_len;
			if (m->msg_flags & MSG_TRUNC) {
				netif_drop(&dev->netif, DROP_TRUNCATED);
				continue;
			}
			size_t seg = udp_batch_gro_segment_size(m, len);
			for (size_t off = 0; off < len; off += seg) {
				size_t part = len - off < seg ? len - off : seg;
				struct pbuf *b = pbuf_alloc();
				if (!b) {
					netif_drop(&dev->netif, DROP_NOMEM);
					continue;
				}
				pbuf_reset(b, SEGMENT_OFFSET);
				if (part > pbuf_tailroom(b)) {
					netif_drop(&dev->netif, DROP_TRUNCATED);
					pbuf_free(b);
					continue;
				}
				memcpy(pbuf_put(b, part), area[i] + off, part);
				wg_receive(dev, b, &from[i]);
			}
		}
		if (n < GRO_BATCH)
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
 * first packet of a GSO message the kernel refused (EIO/EINVAL: the caller
 * resends from there without GSO), or s->tx_len when all were dealt with.
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
		unsigned run = gso ? udp_batch_gso_run(s->tx_bufs + i, s->tx_dst + i, s->tx_len - i) : 1;
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
			return s->tx_len;
		}
		if (packets > 1 && (gso_unsupported(err) || err == EINVAL)) {
			if (gso_unsupported(err)) {
				log_info("%s: UDP GSO refused (%s); sending one datagram per packet",
					 dev->netif.name, strerror(err));
				s->gso = false;
			}
			return start[done];
		}
		/* An unreachable endpoint: this message is lost, the others may go. */
		log_debug("%s: sendmmsg: %s", dev->netif.name, strerror(err));
		dev->netif.stats.drops[DROP_SEND_FAILED] += packets;
		done++;
	}
	return s->tx_len;
}

void udp_batch_send_gso(struct wg_device *dev, struct wg_socket *s)
{
	unsigned next = send_from(dev, s, 0, true);
	/* EINVAL (a segment too large for the route) or no GSO here: this batch goes plain. */
	if (next < s->tx_len)
		send_from(dev, s, next, false);
	for (unsigned i = 0; i < s->tx_len; i++)
		pbuf_free(s->tx_bufs[i]);
	s->tx_len = 0;
}
