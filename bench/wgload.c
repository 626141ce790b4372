/*
 * wgload: a WireGuard load generator and sink built on src/wg and src/crypto,
 * to measure rrouted alone (bench/wgload.sh drives it).
 *
 *   wgload gen CONF --size N --seconds S [--mbps R] [--src A --dst B] [--stamp]
 *       A WireGuard peer of the router (real handshake, from the wg-quick file
 *       CONF): sends inner IPv4/UDP packets of N bytes from A to B (routed by
 *       the router to the sink) at R Mbit/s of inner packets, or as fast as it
 *       can when R is 0, for S seconds. Sending goes through the device's
 *       batched flush (sendmmsg or UDP_SEGMENT). Prints "gen_packets P" etc.
 *       --stamp puts the send time in each packet: a sink decrypting every
 *       packet reports the one-way delay through the router (same clock).
 *   wgload sink CONF --stats FILE [--sample K] [--poll]
 *       The other peer: counts the transport messages that arrive (without
 *       decrypting them: it must be cheaper than the router) and hands one in
 *       K (default 256) plus every handshake message to the real receive path,
 *       which decrypts, checks the counter and the inner source. FILE gets
 *       "packets bytes decrypted_ok latency_samples p50_ns p99_ns" every 50 ms
 *       (SIGUSR1 toggles decrypting every packet, for latency), so a script can read the
 *       counts before and after a quiet run. Runs until SIGTERM/SIGINT.
 *       --poll: never sleep in epoll_wait (yield the CPU instead). Over veth,
 *       the sender's sendmmsg runs the receiver's softirq and wakes a sleeping
 *       receiver, a cost a NIC would not put on the router; polling takes it
 *       out of the router's figure.
 *   wgload flood --peer-pub KEY --to IP:PORT --seconds S [--pps R]
 *       A handshake flood: 64 initiations from a throwaway identity to the
 *       interface whose public key is KEY, each with a valid mac1 (what
 *       anyone who knows the public key can send), sent over and over at R
 *       messages/s (default 20000) with sendmmsg. Prints "flood_sent N".
 *   wgload floor --size N
 *       The crypto floor: ns for one ChaCha20-Poly1305 seal plus one open of
 *       an N-byte packet with the data path's own contexts (aead_ctx_*).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conf/config.h"
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
#include "wg/messages.h"
#include "wg/noise.h"
#include "wg/cookie.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

static volatile sig_atomic_t stop_requested, decrypt_all;
static void on_usr1(int sig) { (void)sig; decrypt_all = !decrypt_all; }
static void on_signal(int sig) { (void)sig; stop_requested = 1; }

struct opts {
	const char *conf;
	const char *stats;
	size_t size;
	double seconds;
	double mbps;
	unsigned sample;
	bool poll, stamp;
	const char *peer_pub, *to;
	double pps;
	struct in_addr src, dst;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: wgload gen CONF --size N --seconds S [--mbps R (0: max)] [--src A] [--dst B] [--stamp]\n"
		"       wgload sink CONF --stats FILE [--sample K] [--poll]\n"
		"       wgload flood --peer-pub KEY --to IP:PORT --seconds S [--pps R]\n"
		"       wgload floor --size N\n");
	exit(2);
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 't' },
		{ "mbps", required_argument, NULL, 'r' },
		{ "sample", required_argument, NULL, 'k' },
		{ "stats", required_argument, NULL, 'o' },
		{ "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "poll", no_argument, NULL, 'p' },
		{ "peer-pub", required_argument, NULL, 'K' },
		{ "to", required_argument, NULL, 'T' },
		{ "pps", required_argument, NULL, 'P' },
		{ "stamp", no_argument, NULL, 'S' },
		{ 0 },
	};
	*o = (struct opts){ .size = 1420, .seconds = 5, .sample = 256, .pps = 20000 };
	inet_pton(AF_INET, "10.1.0.2", &o->src);
	inet_pton(AF_INET, "10.2.0.2", &o->dst);
	int c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': o->size = strtoul(optarg, NULL, 10); break;
		case 't': o->seconds = strtod(optarg, NULL); break;
		case 'r': o->mbps = strtod(optarg, NULL); break;
		case 'k': o->sample = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'o': o->stats = optarg; break;
		case 'p': o->poll = true; break;
		case 'K': o->peer_pub = optarg; break;
		case 'T': o->to = optarg; break;
		case 'P': o->pps = strtod(optarg, NULL); break;
		case 'S': o->stamp = true; break;
		case 's':
			if (inet_pton(AF_INET, optarg, &o->src) != 1)
				usage();
			break;
		case 'd':
			if (inet_pton(AF_INET, optarg, &o->dst) != 1)
				usage();
			break;
		default: usage();
		}
	}
	if (optind < argc)
		o->conf = argv[optind];
	if (o->size < 28 || o->size > 1500) {
		fprintf(stderr, "wgload: --size must be 28..1500 (an IPv4/UDP packet)\n");
		exit(2);
	}
	return 0;
}

/* ------------------------------------------------------------------ floor */

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static int run_floor(const struct opts *o)
{
	uint8_t key[CRYPTO_KEY_LEN], tag[CRYPTO_AEAD_TAG_LEN];
	static uint8_t buf[2048];
	crypto_random(key, sizeof(key));
	crypto_random(buf, o->size);
	struct aead_ctx seal, open;
	if (aead_ctx_init(&seal, key, true) < 0 || aead_ctx_init(&open, key, false) < 0) {
		fprintf(stderr, "wgload: cannot set up the AEAD\n");
		return 1;
	}
	crypto_wipe(key, sizeof(key));
	/* CPU time, not wall time: the router's figure is CPU time too, and another
	 * process sharing the core must not count. Long enough for the clock; best of 3. */
	const unsigned n = 50000;
	double best = 1e18;
	for (int round = 0; round < 3; round++) {
		uint64_t t0 = thread_cpu_ns();
		for (unsigned i = 0; i < n; i++) {
			if (aead_ctx_seal(&seal, i, buf, o->size, tag) < 0 ||
			    aead_ctx_open(&open, i, buf, o->size, tag) < 0) {
				fprintf(stderr, "wgload: seal/open round trip failed\n");
				return 1;
			}
		}
		double ns = (double)(thread_cpu_ns() - t0) / n;
		if (ns < best)
			best = ns;
	}
	aead_ctx_free(&seal);
	aead_ctx_free(&open);
	printf("floor_ns %.0f\n", best);
	return 0;
}

/* ------------------------------------------------------------ the device */

#define LAT_SAMPLES 4096
/* --stamp: the UDP payload starts with a magic and the CLOCK_MONOTONIC send time. */
#define STAMP_MAGIC "wgloadts"
#define STAMP_END   44

struct node {
	uint64_t lat[LAT_SAMPLES];    /* one-way delays of stamped packets, a ring */
	uint64_t n_lat;
	struct loop loop;
	struct ip_router router;
	struct wg_iface_conf conf;
	struct wg_device *dev;
	struct wg_peer *peer;
	uint64_t local_delivered;
};

static bool count_local(void *ctx, struct netif *in, struct pbuf *b, struct ip_packet *pkt)
{
	struct node *n = ctx;
	n->local_delivered++;
	const uint8_t *p = pbuf_data(b);
	if (b->len >= STAMP_END && memcmp(p + 28, STAMP_MAGIC, 8) == 0) {
		uint64_t sent;
		memcpy(&sent, p + 36, 8);
		n->lat[n->n_lat++ % LAT_SAMPLES] = clock_now_ns() - sent;
	}
	pbuf_free(b);
	return true;
}

static int node_open(struct node *n, const char *path)
{
	struct conf_errors errs = { 0 };
	const char *base = strrchr(path, '/');
	char name[IFACE_NAME_MAX + 1];
	snprintf(name, sizeof(name), "%s", base ? base + 1 : path);
	char *dot = strrchr(name, '.');
	if (dot)
		*dot = '\0';
	if (crypto_init() < 0 || loop_init(&n->loop) < 0 || ip_router_init(&n->router, &n->loop) < 0) {
		fprintf(stderr, "wgload: cannot set up crypto/loop/router\n");
		return -1;
	}
	if (wg_iface_conf_load(path, name, &n->conf, &errs) < 0) {
		for (unsigned i = 0; i < errs.count && i < CONF_MAX_ERRORS; i++)
			fprintf(stderr, "%s\n", errs.msg[i]);
		return -1;
	}
	if (n->conf.n_peers != 1) {
		fprintf(stderr, "wgload: %s: exactly one [Peer] (the router) expected\n", path);
		return -1;
	}
	ip_router_set_local_handler(&n->router, count_local, n);
	n->dev = wg_device_create(&n->loop, &n->router, &n->conf);
	if (!n->dev)
		return -1;
	n->peer = n->dev->peers[0];
	return 0;
}

static void node_close(struct node *n)
{
	wg_device_destroy(n->dev);
	n->dev = NULL;
	ip_router_free(&n->router);
	loop_free(&n->loop);
	wg_iface_conf_free(&n->conf);
}

static bool session_up(const struct node *n)
{
	const struct wg_keypair *kp = n->peer->current;
	return kp && kp->valid;
}

/* Handshakes with the router (a keepalive starts it); bounded to 15 s. */
static int node_connect(struct node *n)
{
	uint64_t deadline = clock_now_ns() + 15 * NSEC_PER_SEC;
	wg_send_keepalive(n->peer);
	while (!session_up(n) && !stop_requested) {
		if (clock_now_ns() > deadline) {
			fprintf(stderr, "wgload: %s: no handshake with the router after 15 s\n",
				n->conf.name);
			return -1;
		}
		loop_run_once(&n->loop, 100);
	}
	return 0;
}

/* -------------------------------------------------------------------- gen */

/* An IPv4/UDP packet of size bytes from o->src to o->dst (discard port). */
static struct pbuf *make_packet(const struct opts *o, uint16_t id)
{
	struct pbuf *b = pbuf_alloc();
	if (!b)
		return NULL;
	uint8_t *p = pbuf_put(b, o->size);
	if (!p) {
		pbuf_free(b);
		return NULL;
	}
	memset(p, 0, 28);
	p[0] = 0x45;
	p[2] = (uint8_t)(o->size >> 8);
	p[3] = (uint8_t)o->size;
	p[4] = (uint8_t)(id >> 8);
	p[5] = (uint8_t)id;
	p[8] = 64;
	p[9] = IPPROTO_UDP;
	memcpy(p + 12, &o->src, 4);
	memcpy(p + 16, &o->dst, 4);
	uint16_t c = csum_fold(csum_partial(p, 20, 0));
	memcpy(p + 10, &c, 2);
	p[20] = 0x9c; p[21] = 0x40;   /* source port 40000 */
	p[22] = 0x00; p[23] = 0x09;   /* discard */
	p[24] = (uint8_t)((o->size - 20) >> 8);
	p[25] = (uint8_t)(o->size - 20);
	if (o->stamp && o->size >= STAMP_END) {
		uint64_t now = clock_now_ns();
		memcpy(p + 28, STAMP_MAGIC, 8);
		memcpy(p + 36, &now, 8);
	}
	return b;   /* UDP checksum 0: none, and the payload is whatever the pool held */
}

static int run_gen(const struct opts *o)
{
	struct node n = { .loop.epfd = -1 };   /* node_close is safe on a node never opened */
	if (!o->conf || node_open(&n, o->conf) < 0 || node_connect(&n) < 0) {
		node_close(&n);
		return 1;
	}
	/* Short sleeps between paced bursts: ask for microsecond timer slack. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	const double pps = o->mbps > 0 ? o->mbps * 1e6 / 8.0 / (double)o->size : 0;
	uint64_t sent = 0, t0 = clock_now_ns(), end = t0 + (uint64_t)(o->seconds * 1e9);
	uint64_t drops0 = n.dev->netif.stats.drops[DROP_SEND_FAILED];
	uint16_t id = 0;
	for (;;) {
		uint64_t now = clock_now_ns();
		if (now >= end || stop_requested)
			break;
		uint64_t due = WG_TX_BATCH;
		if (pps > 0) {
			double should = (double)(now - t0) * 1e-9 * pps;
			due = should > (double)sent ? (uint64_t)(should - (double)sent) : 0;
			if (due > WG_TX_BATCH)
				due = WG_TX_BATCH;
			if (due == 0) {
				double wait_ns = ((double)sent + 1 - should) / pps * 1e9;
				if (wait_ns > 1e6)
					wait_ns = 1e6;
				struct timespec ts = { 0, (long)wait_ns };
				nanosleep(&ts, NULL);
				loop_run_once(&n.loop, 0);
				continue;
			}
		}
		for (uint64_t i = 0; i < due; i++) {
			struct pbuf *b = make_packet(o, id++);
			if (!b)
				break;
			wg_send_packet(n.peer, b);
			sent++;
		}
		loop_run_once(&n.loop, 0);   /* flushes the batch, takes keepalives/handshakes */
	}
	double secs = (double)(clock_now_ns() - t0) * 1e-9;
	printf("gen_packets %llu\n", (unsigned long long)sent);
	printf("gen_seconds %.3f\n", secs);
	printf("gen_pps %.0f\n", (double)sent / secs);
	printf("gen_send_drops %llu\n",
	       (unsigned long long)(n.dev->netif.stats.drops[DROP_SEND_FAILED] - drops0));
	node_close(&n);
	return 0;
}

/* ------------------------------------------------------------------ flood */

#define FLOOD_MSGS 64

static int run_flood(const struct opts *o)
{
	uint8_t peer_pub[CRYPTO_KEY_LEN], priv[CRYPTO_KEY_LEN];
	union sockaddr_inet to = { 0 };
	char host[64];
	const char *colon = o->to ? strrchr(o->to, ':') : NULL;
	if (!o->peer_pub || key_from_base64(peer_pub, o->peer_pub) < 0 || !colon ||
	    (size_t)(colon - o->to) >= sizeof(host))
		usage();
	memcpy(host, o->to, (size_t)(colon - o->to));
	host[colon - o->to] = '\0';
	to.in4.sin_family = AF_INET;
	to.in4.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &to.in4.sin_addr) != 1)
		usage();

	static struct noise_static_identity id;
	static struct noise_handshake hs;
	static struct cookie_maker cm;
	static struct message_handshake_initiation msgs[FLOOD_MSGS];
	x25519_generate(priv);
	if (noise_static_identity_set(&id, priv) < 0 || noise_handshake_init(&hs, &id, peer_pub, NULL) < 0) {
		fprintf(stderr, "wgload flood: unusable keys\n");
		return 1;
	}
	crypto_wipe(priv, sizeof(priv));
	cookie_maker_init(&cm, peer_pub);
	for (unsigned i = 0; i < FLOOD_MSGS; i++) {
		uint32_t index;
		crypto_random(&index, sizeof(index));
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		if (noise_handshake_create_initiation(&hs, &id, &msgs[i], index,
						      (uint64_t)ts.tv_sec * NSEC_PER_SEC +
						      (uint64_t)ts.tv_nsec) < 0 ||
		    cookie_add_macs(&cm, &msgs[i], sizeof(msgs[i]), clock_now_ns()) < 0) {
			fprintf(stderr, "wgload flood: cannot build an initiation\n");
			return 1;
		}
	}
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, &to.sa, sizeof(to.in4)) < 0) {
		fprintf(stderr, "wgload flood: %s: %s\n", o->to, strerror(errno));
		return 1;
	}
	struct mmsghdr mm[FLOOD_MSGS];
	struct iovec iov[FLOOD_MSGS];
	for (unsigned i = 0; i < FLOOD_MSGS; i++) {
		iov[i] = (struct iovec){ &msgs[i], sizeof(msgs[i]) };
		mm[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	uint64_t sent = 0, paced = 0, t0 = clock_now_ns(), end = t0 + (uint64_t)(o->seconds * 1e9);
	while (!stop_requested) {
		uint64_t now = clock_now_ns();
		if (now >= end)
			break;
		double due = (double)(now - t0) * 1e-9 * o->pps - (double)paced;
		if (due < FLOOD_MSGS) {
			struct timespec ts = { 0, (long)((FLOOD_MSGS - due) / o->pps * 1e9) };
			nanosleep(&ts, NULL);
			continue;
		}
		int r = sendmmsg(fd, mm, FLOOD_MSGS, 0);
		/* ECONNREFUSED (an ICMP error came back) and the like: the next batch goes anyway. */
		if (r > 0)
			sent += (uint64_t)r;
		paced += FLOOD_MSGS;
	}
	close(fd);
	printf("flood_sent %llu\n", (unsigned long long)sent);
	return 0;
}

/* ------------------------------------------------------------------- sink */

#define SINK_BATCH 16
#define SINK_BUF   65536

struct sink {
	struct node n;
	const struct opts *o;
	uint64_t packets, bytes, seen;
	uint8_t *bufs[SINK_BATCH];
};

/* One segment off the wire: count it, and pass handshakes and a sample on. */
static void sink_segment(struct sink *s, const uint8_t *p, size_t len,
			 const union sockaddr_inet *from)
{
	bool data = message_type_of(p, len) == MESSAGE_DATA;
	if (data && len > MESSAGE_DATA_MIN_LEN) {
		s->packets++;
		s->bytes += len - MESSAGE_DATA_MIN_LEN;
	}
	if (data && !decrypt_all && s->o->sample && s->seen++ % s->o->sample != 0)
		return;
	struct pbuf *b = pbuf_alloc();
	if (!b)
		return;
	pbuf_reset(b, PBUF_HEADROOM - MESSAGE_DATA_HEADER_LEN);
	if (len > pbuf_tailroom(b)) {
		pbuf_free(b);
		return;
	}
	uint8_t *dst = pbuf_put(b, len);
	if (!dst) {
		pbuf_free(b);
		return;
	}
	memcpy(dst, p, len);
	wg_receive(s->n.dev, b, from);
}

static struct sink *the_sink;   /* one per process */

static void sink_readable(struct loop_fd *lfd, uint32_t events)
{
	struct sink *s = the_sink;
	struct mmsghdr msgs[SINK_BATCH];
	struct iovec iov[SINK_BATCH];
	union sockaddr_inet from[SINK_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf[SINK_BATCH];
	for (int round = 0; round < 64; round++) {
		for (int i = 0; i < SINK_BATCH; i++) {
			iov[i] = (struct iovec){ s->bufs[i], SINK_BUF };
			msgs[i].msg_hdr = (struct msghdr){
				.msg_name = &from[i], .msg_namelen = sizeof(from[i]),
				.msg_iov = &iov[i], .msg_iovlen = 1,
				.msg_control = cbuf[i].buf, .msg_controllen = sizeof(cbuf[i].buf),
			};
		}
		int n = recvmmsg(lfd->fd, msgs, SINK_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			size_t seg = udp_batch_gro_segment_size(&msgs[i].msg_hdr, msgs[i].msg_len);
			for (size_t off = 0; off < msgs[i].msg_len; off += seg) {
				size_t len = msgs[i].msg_len - off < seg ? msgs[i].msg_len - off : seg;
				sink_segment(s, s->bufs[i] + off, len, &from[i]);
			}
		}
		if (n < SINK_BATCH)
			return;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* "packets bytes decrypted latency_samples p50_ns p99_ns" (latency over the last LAT_SAMPLES). */
static void write_stats(struct sink *s, int fd)
{
	static uint64_t sorted[LAT_SAMPLES], p50, p99, sorted_at;
	size_t n = s->n.n_lat < LAT_SAMPLES ? s->n.n_lat : LAT_SAMPLES;
	if (n && s->n.n_lat != sorted_at) {
		memcpy(sorted, s->n.lat, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), cmp_u64);
		p50 = sorted[n / 2];
		p99 = sorted[n * 99 / 100];
		sorted_at = s->n.n_lat;
	}
	char line[160];
	int len = snprintf(line, sizeof(line), "%llu %llu %llu %llu %llu %llu\n",
			   (unsigned long long)s->packets, (unsigned long long)s->bytes,
			   (unsigned long long)s->n.local_delivered, (unsigned long long)s->n.n_lat,
			   (unsigned long long)p50, (unsigned long long)p99);
	if (pwrite(fd, line, (size_t)len, 0) != len || ftruncate(fd, len) < 0)
		fprintf(stderr, "wgload: writing the stats file: %s\n", strerror(errno));
}

static int run_sink(const struct opts *o)
{
	static struct sink s;
	s.o = o;
	s.n.loop.epfd = -1;
	the_sink = &s;
	if (!o->conf || !o->stats)
		usage();
	for (int i = 0; i < SINK_BATCH; i++)
		if (!(s.bufs[i] = malloc(SINK_BUF)))
			return 1;
	if (node_open(&s.n, o->conf) < 0)
		return 1;
	/* Take the IPv4 socket over: count before decrypting. */
	struct wg_socket *ws = &s.n.dev->sock4;
	ws->lfd.cb = sink_readable;
	int one = 1;
	if (setsockopt(ws->lfd.fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) < 0)
		fprintf(stderr, "wgload: no UDP_GRO (%s): one datagram per packet\n", strerror(errno));
	int fd = open(o->stats, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "wgload: %s: %s\n", o->stats, strerror(errno));
		return 1;
	}
	write_stats(&s, fd);
	if (node_connect(&s.n) < 0)
		return 1;
	fprintf(stderr, "wgload sink: session up\n");
	uint64_t next = 0;
	while (!stop_requested) {
		if (o->poll) {
			/* Never asleep, so the router's sends never pay to wake us (see --poll). */
			loop_run_once(&s.n.loop, 0);
			sched_yield();
		} else {
			loop_run_once(&s.n.loop, 50);
		}
		uint64_t now = clock_now_ns();
		if (now >= next) {
			write_stats(&s, fd);
			next = now + 50 * NSEC_PER_MSEC;
		}
	}
	write_stats(&s, fd);
	close(fd);
	node_close(&s.n);
	for (int i = 0; i < SINK_BATCH; i++)
		free(s.bufs[i]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	struct sigaction su = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	sigaction(SIGUSR1, &su, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_WARN);
	const char *mode = argv[1];
	struct opts o;
	parse_opts(argc - 1, argv + 1, &o);
	if (strcmp(mode, "floor") == 0) {
		if (crypto_init() < 0)
			return 1;
		return run_floor(&o);
	}
	if (strcmp(mode, "flood") == 0) {
		if (crypto_init() < 0)
			return 1;
		return run_flood(&o);
	}
	if (strcmp(mode, "gen") == 0)
		return run_gen(&o);
	if (strcmp(mode, "sink") == 0)
		return run_sink(&o);
	usage();
}
