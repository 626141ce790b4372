/*
 * Packets from the network into the host stack: a router with one interface
 * and the socket layer, with a UDP socket, an ICMP echo socket, a TCP
 * listener and raw ICMP/ICMPv6 sockets open through the shim protocol,
 * receives arbitrary bytes as an IP packet (first byte: 0 = as given, else
 * with its IPv4/IPv6 header fixed up so it reaches the sockets; bit 0x80 also
 * makes an ICMP/ICMPv6 checksum right, so raw sockets and errors are reached). Nothing may crash, leak or trip UBSan; whatever the
 * stack sends back must be a valid IP packet.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "crypto/crypto.h"
#include "ip/checksum.h"
#include "ip/fib.h"
#include "ip/packet.h"
#include "ip/router.h"
#include "stack/shim_proto.h"
#include "stack/sock.h"

#include "../unit/shim_recv.h"
#include "fuzz_common.h"

static struct loop loop;
static struct ip_router router;
static struct netif nif;
static struct ip_prefix addrs[2];
static struct sock_layer *sl;
static int ctl = -1;
static int app_fds[5] = { -1, -1, -1, -1, -1 };

static void fake_output(struct netif *n, struct pbuf *b, const struct ip_addr *nexthop)
{
	struct ip_packet pkt;
	if (ip_packet_parse(b, &pkt) < 0)
		abort();   /* the stack must only emit well-formed IP */
	pbuf_free(b);
}
static const struct netif_ops fake_ops = { .output = fake_output };

static void spin(void)
{
	for (int i = 0, idle = 0; i < 20 && idle < 2; i++)
		idle = loop_run_once(&loop, 0) == 0 ? idle + 1 : 0;
}

/* One request; returns the fd its reply passed, or -1. */
static int rpc(struct shim_req *req)
{
	uint8_t buf[sizeof(struct shim_rep) + SHIM_MSG_MAX];
	if (send(ctl, req, sizeof(*req), 0) != (ssize_t)sizeof(*req))
		abort();
	spin();
	int fd;
	if (tl_shim_recv(ctl, buf, sizeof(buf), &fd) <= 0)
		abort();
	return fd;
}

static int open_socket_in(int family, uint32_t op, int type, int protocol, uint16_t port,
			  bool recverr)
{
	struct shim_req req;
	memset(&req, 0, sizeof(req));
	req.op = op;
	req.sock_id = -1;
	req.family = family;
	req.type = type;
	req.protocol = protocol;
	req.arg = 16;
	req.addr.family = (uint16_t)family;
	req.addr.port = port;
	req.opts.recverr = recverr;
	return rpc(&req);
}

static int open_socket(uint32_t op, int type, int protocol, uint16_t port)
{
	return open_socket_in(AF_INET, op, type, protocol, port, false);
}

static void setup(void)
{
	fuzz_router_init(&loop, &router);
	loop_use_manual_clock(&loop, NSEC_PER_SEC);
	fuzz_netif_init(&nif, "wg0", &fake_ops, addrs, "10.0.0.1/24", "fd00::1/64");
	sl = fuzz_sock_layer_new(&loop, &router, &nif);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
	    sock_layer_add_client(sl, sv[1]) < 0)
		abort();
	ctl = sv[0];
	app_fds[0] = open_socket(SHIM_OP_BIND, SOCK_DGRAM, IPPROTO_UDP, 7000);
	app_fds[1] = open_socket(SHIM_OP_BIND, SOCK_DGRAM, IPPROTO_ICMP, 77);
	app_fds[2] = open_socket(SHIM_OP_LISTEN, SOCK_STREAM, IPPROTO_TCP, 179);
	app_fds[3] = open_socket_in(AF_INET, SHIM_OP_BIND, SOCK_RAW, IPPROTO_ICMP, 0, true);
	app_fds[4] = open_socket_in(AF_INET6, SHIM_OP_BIND, SOCK_RAW, IPPROTO_ICMPV6, 0, true);
}

/* A right ICMP/ICMPv6 checksum on a packet fix_headers made consistent. */
static void fix_icmp(uint8_t *p, size_t len)
{
	if (len >= 24 && p[0] == 0x45 && p[9] == IPPROTO_ICMP) {
		p[22] = p[23] = 0;
		uint16_t c = csum_fold(csum_partial(p + 20, len - 20, 0));
		memcpy(p + 22, &c, 2);
	} else if (len >= 44 && (p[0] >> 4) == 6 && p[6] == IPPROTO_ICMPV6) {
		p[42] = p[43] = 0;
		uint16_t c = csum_fold(csum_partial(p + 40, len - 40,
						    csum_pseudo_v6(p + 8, p + 24, IPPROTO_ICMPV6,
								   (uint32_t)(len - 40))));
		memcpy(p + 42, &c, 2);
	}
}

/* Makes the header self-consistent so fuzzed transport payloads reach the sockets. */
static void fix_headers(uint8_t *p, size_t len)
{
	if (len >= 20 && (p[0] >> 4) == 4) {
		p[0] = 0x45;
		p[2] = (uint8_t)(len >> 8);
		p[3] = (uint8_t)len;
		p[6] &= 0x40;   /* no fragments */
		p[7] = 0;
		uint8_t dst[4] = { 10, 0, 0, 1 };
		memcpy(p + 16, dst, 4);
		if (p[12] == 0 || p[12] >= 224 || p[12] == 127)
			p[12] = 10;
		p[10] = p[11] = 0;
		uint16_t c = csum_fold(csum_partial(p, 20, 0));
		memcpy(p + 10, &c, 2);
	} else if (len >= 40 && (p[0] >> 4) == 6) {
		p[4] = (uint8_t)((len - 40) >> 8);
		p[5] = (uint8_t)(len - 40);
		static const uint8_t dst[16] = { 0xfd, [15] = 1 };
		memcpy(p + 24, dst, 16);
		if (p[8] == 0xff || p[8] == 0)
			p[8] = 0xfd;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_setup_once(setup);
	if (size < 2 || size - 1 > PBUF_MTU_MAX)
		return 0;
	struct pbuf *b = fuzz_pbuf_copy(data + 1, size - 1);
	if (!b)
		return 0;
	uint8_t *p = pbuf_data(b);
	if (data[0])
		fix_headers(p, size - 1);
	if (data[0] & 0x80)
		fix_icmp(p, size - 1);
	ip_router_input(&router, &nif, b);
	spin();
	/* Drain what reached the app sockets so their buffers never fill up. */
	char buf[4096];
	for (int i = 0; i < 5; i++)
		while (i != 2 && app_fds[i] >= 0 && recv(app_fds[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
	loop_set_time(&loop, loop_now(&loop) + (data[0] & 0xf) * NSEC_PER_SEC);
	if (getenv("FUZZ_SOCK_STATS")) {
		const struct sock_stats *st = sock_layer_stats(sl);
		fprintf(stderr, "udp_in %llu icmp_in %llu sockets %u\n",
			(unsigned long long)st->udp_in, (unsigned long long)st->icmp_in, st->sockets);
	}
	return 0;
}
