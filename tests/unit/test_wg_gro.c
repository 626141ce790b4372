/*
 * UDP GRO/GSO helpers (wg/udp_batch.c): the segment size a coalesced
 * datagram carries, the grouping of queued packets into GSO runs, both
 * through the real kernel over loopback, and two real devices using them
 * (skipped where the kernel lacks them).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/pbuf.h"
#include "crypto/crypto.h"
#include "ip/checksum.h"
#include "ip/router.h"
#include "wg/datapath.h"
#include "wg/device.h"
#include "wgconf/wgconf.h"
#include "wg/udp_batch.h"

#include "testlib.h"
#include "wgpair.h"

union cmsg_space {
	char buf[CMSG_SPACE(sizeof(int)) * 2];
	struct cmsghdr align;
};

/* A msghdr whose control data holds one cmsg (level, type, int value). */
static void msg_with_cmsg(struct msghdr *m, union cmsg_space *space, int level, int type, int v)
{
	memset(m, 0, sizeof(*m));
	memset(space, 0, sizeof(*space));
	m->msg_control = space->buf;
	m->msg_controllen = CMSG_SPACE(sizeof(int));
	struct cmsghdr *c = CMSG_FIRSTHDR(m);
	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &v, sizeof(v));
}

static void test_segment_size(void **state)
{
	(void)state;
	struct msghdr m = { 0 };
	union cmsg_space sp;

	assert_int_equal(udp_batch_gro_segment_size(&m, 1452), 1452);   /* no control data */
	msg_with_cmsg(&m, &sp, IPPROTO_UDP, UDP_GRO, 1452);
	assert_int_equal(udp_batch_gro_segment_size(&m, 1452 * 3), 1452);
	assert_int_equal(udp_batch_gro_segment_size(&m, 1452 * 2 + 100), 1452);
	/* A segment size not smaller than the datagram: one segment, the whole datagram. */
	assert_int_equal(udp_batch_gro_segment_size(&m, 1452), 1452);
	assert_int_equal(udp_batch_gro_segment_size(&m, 1000), 1000);
	/* Nonsense values never give a zero or negative step. */
	msg_with_cmsg(&m, &sp, IPPROTO_UDP, UDP_GRO, 0);
	assert_int_equal(udp_batch_gro_segment_size(&m, 3000), 3000);
	msg_with_cmsg(&m, &sp, IPPROTO_UDP, UDP_GRO, -5);
	assert_int_equal(udp_batch_gro_segment_size(&m, 3000), 3000);
	/* Another option's cmsg is not a segment size. */
	msg_with_cmsg(&m, &sp, IPPROTO_IP, UDP_GRO, 100);
	assert_int_equal(udp_batch_gro_segment_size(&m, 3000), 3000);
	msg_with_cmsg(&m, &sp, IPPROTO_UDP, UDP_SEGMENT, 100);
	assert_int_equal(udp_batch_gro_segment_size(&m, 3000), 3000);
}

#define N 100

struct queue {
	struct pbuf *bufs[N];
	union sockaddr_inet dst[N];
};

static void queue_fill(struct queue *q, size_t len)
{
	for (int i = 0; i < N; i++) {
		q->bufs[i] = pbuf_alloc();
		assert_non_null(q->bufs[i]);
		q->bufs[i]->len = (uint16_t)len;
		memset(&q->dst[i], 0, sizeof(q->dst[i]));
		q->dst[i].in4.sin_family = AF_INET;
		q->dst[i].in4.sin_port = htons(51820);
		q->dst[i].in4.sin_addr.s_addr = htonl(0xc0000201);
	}
}

static void queue_free(struct queue *q)
{
	for (int i = 0; i < N; i++)
		pbuf_free(q->bufs[i]);
}

static void test_gso_runs(void **state)
{
	(void)state;
	struct queue q;
	queue_fill(&q, 1452);

	assert_int_equal(udp_batch_gso_run(q.bufs, q.dst, 0), 0);
	assert_int_equal(udp_batch_gso_run(q.bufs, q.dst, 1), 1);
	assert_int_equal(udp_batch_gso_run(q.bufs, q.dst, 10), 10);
	/* 44 x 1452 = 63888 fits; 45 would pass UDP_BATCH_GSO_MAX_BYTES. */
	assert_int_equal(udp_batch_gso_run(q.bufs, q.dst, N), 44);

	/* A shorter packet ends its run (it is the last segment); a longer one starts the next. */
	q.bufs[5]->len = 100;
	assert_int_equal(udp_batch_gso_run(q.bufs, q.dst, N), 6);
	assert_int_equal(udp_batch_gso_run(q.bufs + 6, q.dst + 6, N - 6), 44);
	q.bufs[5]->len = 1452;
	q.bufs[3]->len = 1500;
	assert_int_equal(udp_batch_gso_run(q.bufs, q.dst, N), 3);

	/* Another endpoint (port, then address) ends the run. */
	q.bufs[3]->len = 1452;
	q.dst[7].in4.sin_port = htons(51821);
	assert_int_equal(udp_batch_gso_run(q.bufs, q.dst, N), 7);
	q.dst[7].in4.sin_port = htons(51820);
	q.dst[2].in4.sin_addr.s_addr = htonl(0xc0000202);
	assert_int_equal(udp_batch_gso_run(q.bufs, q.dst, N), 2);
	queue_free(&q);

	/* Small packets: the segment count limit, not the bytes, ends the run. */
	queue_fill(&q, 100);
	assert_int_equal(udp_batch_gso_run(q.bufs, q.dst, N), UDP_BATCH_GSO_MAX_SEGS);
	queue_free(&q);
}

/* A UDP socket on loopback whose receives give up after 2 s. */
static int udp_socket(union sockaddr_inet *bound)
{
	int fd = tl_loopback_socket(SOCK_DGRAM, bound);
	struct timeval tv = { .tv_sec = 2 };
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

/*
 * The send path as the device uses it (udp_batch_send_gso on a queue of 10
 * packets: 7 of 1000 bytes, then 300, then 2 to another port), into a socket
 * with GRO on: whatever the kernel coalesces, cutting at the segment size
 * gives back every packet, in order, byte for byte.
 */
static void test_gso_to_gro_over_loopback(void **state)
{
	(void)state;
	union sockaddr_inet to, to2, from_addr;
	int rx = udp_socket(&to), rx2 = udp_socket(&to2), tx = udp_socket(&from_addr);
	if (!udp_batch_probe_gso(tx) || !udp_batch_enable_gro(rx)) {
		close(rx);
		close(rx2);
		close(tx);
		skip();
	}
	struct wg_device *dev = calloc(1, sizeof(*dev));
	assert_non_null(dev);
	strcpy(dev->netif.name, "wgtest");
	struct wg_socket *s = &dev->sock4;
	s->dev = dev;
	s->lfd.fd = tx;
	s->gso = true;
	size_t lens[10] = { 1000, 1000, 1000, 1000, 1000, 1000, 1000, 300, 1000, 1000 };
	for (unsigned i = 0; i < 10; i++) {
		struct pbuf *b = pbuf_alloc();
		assert_non_null(b);
		uint8_t *p = pbuf_put(b, lens[i]);
		assert_non_null(p);
		memset(p, 'a' + (int)i, lens[i]);
		s->tx_bufs[i] = b;
		s->tx_dst[i] = i < 8 ? to : to2;
	}
	s->tx_len = 10;
	udp_batch_send_gso(dev, s);
	assert_int_equal(s->tx_len, 0);
	assert_true(s->gso);   /* loopback takes GSO */
	assert_int_equal(dev->netif.stats.drops[DROP_SEND_FAILED], 0);

	static uint8_t buf[UDP_BATCH_GRO_MAX_BYTES];
	unsigned got = 0;
	while (got < 8) {
		union cmsg_space sp;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = sp.buf, .msg_controllen = sizeof(sp.buf) };
		ssize_t n = recvmsg(rx, &m, 0);
		assert_true(n > 0);
		size_t seg = udp_batch_gro_segment_size(&m, (size_t)n);
		for (size_t off = 0; off < (size_t)n; off += seg) {
			size_t part = (size_t)n - off < seg ? (size_t)n - off : seg;
			assert_true(got < 8);
			assert_int_equal(part, lens[got]);
			for (size_t k = 0; k < part; k++)
				assert_int_equal(buf[off + k], 'a' + (int)got);
			got++;
		}
	}
	/* The two for the other endpoint went there, and without GRO on it, one each. */
	for (unsigned i = 8; i < 10; i++) {
		ssize_t n = recv(rx2, buf, sizeof(buf), 0);
		assert_int_equal(n, 1000);
		assert_int_equal(buf[0], 'a' + (int)i);
	}
	close(rx);
	close(rx2);
	close(tx);
	free(dev);
}

/* Packets that form no run (each longer than the one before) leave one datagram each, in order. */
static void test_no_runs_keeps_order(void **state)
{
	(void)state;
	union sockaddr_inet to, from_addr;
	int rx = udp_socket(&to), tx = udp_socket(&from_addr);
	struct wg_device *dev = calloc(1, sizeof(*dev));
	assert_non_null(dev);
	struct wg_socket *s = &dev->sock4;
	s->dev = dev;
	s->lfd.fd = tx;
	for (unsigned i = 0; i < 5; i++) {
		struct pbuf *b = pbuf_alloc();
		assert_non_null(b);
		uint8_t *p = pbuf_put(b, 200 + i);
		assert_non_null(p);
		memset(p, 'k' + (int)i, 200 + i);
		s->tx_bufs[i] = b;
		s->tx_dst[i] = to;
	}
	s->tx_len = 5;
	udp_batch_send_gso(dev, s);
	uint8_t buf[2048];
	for (unsigned i = 0; i < 5; i++) {
		ssize_t n = recv(rx, buf, sizeof(buf), 0);
		assert_int_equal(n, 200 + i);
		assert_int_equal(buf[0], 'k' + (int)i);
	}
	close(rx);
	close(tx);
	free(dev);
}

/*
 * A run the kernel refuses (segments larger than the route's MTU: EMSGSIZE
 * here, EINVAL on some kernels) is resent one datagram per packet, which the
 * kernel fragments as before: nothing lost, GSO kept for other runs.
 * Needs a loopback with a small MTU: a child process in its own user and
 * network namespace (skipped where unprivileged namespaces are not allowed).
 */
static int refused_run_child(void)
{
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		return 77;
	int ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	ifr.ifr_mtu = 1280;
	if (ctl < 0 || ioctl(ctl, SIOCSIFMTU, &ifr) < 0)
		return 77;
	ifr.ifr_flags = IFF_UP;
	if (ioctl(ctl, SIOCSIFFLAGS, &ifr) < 0)
		return 77;
	close(ctl);

	union sockaddr_inet to, from_addr;
	int rx = udp_socket(&to), tx = udp_socket(&from_addr);
	if (!udp_batch_probe_gso(tx))
		return 77;
	static struct wg_device dev;
	struct wg_socket *s = &dev.sock4;
	s->dev = &dev;
	s->lfd.fd = tx;
	s->gso = true;
	/* 6 packets too big for one GSO message here, then 4 small ones that may go as one. */
	for (unsigned i = 0; i < 10; i++) {
		size_t len = i < 6 ? 1400 : 200;
		struct pbuf *b = pbuf_alloc();
		uint8_t *p = b ? pbuf_put(b, len) : NULL;
		if (!p)
			return 1;
		memset(p, 'A' + (int)i, len);
		s->tx_bufs[i] = b;
		s->tx_dst[i] = to;
	}
	s->tx_len = 10;
	udp_batch_send_gso(&dev, s);
	if (s->tx_len != 0 || !s->gso || dev.netif.stats.drops[DROP_SEND_FAILED] != 0)
		return 2;
	uint8_t buf[2048];
	for (unsigned i = 0; i < 10; i++) {
		ssize_t n = recv(rx, buf, sizeof(buf), 0);
		if (n != (i < 6 ? 1400 : 200) || buf[0] != 'A' + (int)i || buf[n - 1] != 'A' + (int)i)
			return 3;
	}
	/* The refused size is remembered (no second refused try); smaller runs keep GSO. */
	if (s->gso_refused_len != 1400)
		return 4;
	for (unsigned i = 0; i < 10; i++) {
		struct pbuf *b = pbuf_alloc();
		uint8_t *p = b ? pbuf_put(b, i < 5 ? 1400 : 1000) : NULL;
		if (!p)
			return 1;
		memset(p, 'a' + (int)i, b->len);
		s->tx_bufs[i] = b;
		s->tx_dst[i] = to;
	}
	s->tx_len = 10;
	udp_batch_send_gso(&dev, s);
	if (s->gso_refused_len != 1400 || dev.netif.stats.drops[DROP_SEND_FAILED] != 0)
		return 5;
	for (unsigned i = 0; i < 10; i++) {
		ssize_t n = recv(rx, buf, sizeof(buf), 0);
		if (n != (i < 5 ? 1400 : 1000) || buf[0] != 'a' + (int)i)
			return 6;
	}
	return 0;
}

static void test_refused_run_goes_plain(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(refused_run_child());
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- Two real devices over loopback: the offloads inside the data path. */

/* The loop runs on real time here: nothing waits on a timer. */
static int pair_setup(void **state)
{
	*state = wgpair_new(false);
	return 0;
}

/*
 * Garbage through B's GRO path: an empty datagram and a GSO message of three
 * 100-byte segments of an unknown type are four invalid messages, and two
 * coalesced transport messages with an unknown index are two, exactly as one
 * datagram each would be.
 */
static void test_gro_path_counts_each_segment(void **state)
{
	struct wgpair *p = *state;
	if (!p->b->sock4.gro)
		skip();
	union sockaddr_inet self, to = { 0 };
	int fd = udp_socket(&self);
	to.in4.sin_family = AF_INET;
	to.in4.sin_port = htons(p->b->listen_port);
	to.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(sendto(fd, "", 0, 0, &to.sa, sizeof(to.in4)), 0);

	static uint8_t garbage[300], data[2 * 48];
	memset(garbage, 0xff, sizeof(garbage));
	memset(data, 0, sizeof(data));
	data[0] = MESSAGE_DATA;
	data[48] = MESSAGE_DATA;
	const struct { const uint8_t *buf; size_t len; uint16_t seg; } sends[] = {
		{ garbage, sizeof(garbage), 100 }, { data, sizeof(data), 48 },
	};
	for (size_t i = 0; i < 2; i++) {
		union cmsg_space sp;
		memset(&sp, 0, sizeof(sp));
		struct iovec iov = { (void *)sends[i].buf, sends[i].len };
		struct msghdr m = { .msg_name = &to, .msg_namelen = sizeof(to.in4),
				    .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = sp.buf, .msg_controllen = CMSG_SPACE(sizeof(uint16_t)) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = IPPROTO_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
		memcpy(CMSG_DATA(c), &sends[i].seg, sizeof(uint16_t));
		assert_int_equal(sendmsg(fd, &m, 0), (ssize_t)sends[i].len);
	}
	wgpair_pump(p);
	assert_int_equal(p->b->netif.stats.drops[DROP_INVALID_MESSAGE], 4);
	assert_int_equal(p->b->netif.stats.drops[DROP_UNKNOWN_INDEX], 2);
	close(fd);
}

/* A runtime listen-port change brings new sockets: they must come with the offload flags. */
static void test_new_socket_keeps_offloads(void **state)
{
	struct wgpair *p = *state;
	if (!p->b->sock4.gro || !p->b->sock4.gso)
		skip();
	uint16_t old_port = p->b->listen_port;
	assert_int_equal(wg_device_set_listen_port(p->b, 0), 0);
	assert_int_not_equal(p->b->listen_port, old_port);
	assert_true(p->b->sock4.gro);
	assert_true(p->b->sock4.gso);
}

/* Real traffic: a burst A -> B leaves as GSO runs, arrives through GRO, every packet decrypts. */
static void test_burst_through_both_offloads(void **state)
{
	struct wgpair *p = *state;
	wg_send_keepalive(p->a->peers[0]);
	wgpair_pump(p);
	assert_non_null(p->a->peers[0]->current);
	uint64_t before = p->b->netif.stats.rx_packets;
	for (int i = 0; i < 150; i++) {
		struct pbuf *b = pbuf_alloc();
		assert_non_null(b);
		uint8_t *ip = pbuf_put(b, 1000);
		assert_non_null(ip);
		memset(ip, 0, 1000);
		ip[0] = 0x45;
		ip[2] = 1000 >> 8;
		ip[3] = 1000 & 0xff;
		ip[8] = 64;
		ip[9] = 17;
		ip[12] = 10; ip[15] = 1;    /* 10.0.0.1, in B's AllowedIPs for A */
		ip[16] = 10; ip[19] = 2;
		uint16_t sum = csum_fold(csum_partial(ip, 20, 0));
		memcpy(ip + 10, &sum, 2);
		wg_send_packet(p->a->peers[0], b);
	}
	wgpair_pump(p);
	assert_int_equal(p->b->netif.stats.rx_packets - before, 150);
	assert_int_equal(p->b->netif.stats.drops[DROP_DECRYPT_FAILED], 0);
	assert_int_equal(p->a->netif.stats.drops[DROP_SEND_FAILED], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segment_size),
		cmocka_unit_test(test_gso_runs),
		cmocka_unit_test(test_gso_to_gro_over_loopback),
		cmocka_unit_test(test_no_runs_keeps_order),
		cmocka_unit_test(test_refused_run_goes_plain),
		cmocka_unit_test_setup_teardown(test_gro_path_counts_each_segment, pair_setup,
						wgpair_teardown),
		cmocka_unit_test_setup_teardown(test_burst_through_both_offloads, pair_setup,
						wgpair_teardown),
		cmocka_unit_test_setup_teardown(test_new_socket_keeps_offloads, pair_setup,
						wgpair_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
