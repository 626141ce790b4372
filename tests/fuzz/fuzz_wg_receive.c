/*
 * The whole WireGuard receive path of a live interface: two devices in one
 * process complete a real handshake over loopback once; then each input is
 * either (first byte even) a raw UDP datagram handed to wg_receive of A, or
 * (odd) bytes that B encrypts under the live session as if they were an IP
 * packet, so A decrypts them and the IP layer (forwarding, ICMP, local
 * delivery) parses attacker-chosen plaintext.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"
#include "crypto/crypto.h"
#include "ip/router.h"
#include "wg/datapath.h"
#include "wg/device.h"
#include "wgconf/wgconf.h"

#include "fuzz_common.h"

static struct loop loop;
static struct ip_router router;
static struct wg_device *dev_a, *dev_b;
static struct wg_iface_conf conf_a, conf_b;
static struct wg_peer_conf peer_a, peer_b;
static struct ip_prefix allowed_a[2], allowed_b[2], addr_a[2];

static void pump(void)
{
	for (int i = 0, idle = 0; i < 50 && idle < 2; i++)
		idle = loop_run_once(&loop, 0) == 0 ? idle + 1 : 0;
}

static void make_conf(struct wg_iface_conf *c, const char *name, const uint8_t priv[32],
		      struct wg_peer_conf *p, const uint8_t pub[32], struct ip_prefix *allowed,
		      const char *a4, const char *a6)
{
	snprintf(c->name, sizeof(c->name), "%s", name);
	memcpy(c->private_key, priv, 32);
	c->mtu = 1420;
	memcpy(p->public_key, pub, 32);
	if (ip_prefix_parse(a4, &allowed[0]) || ip_prefix_parse(a6, &allowed[1]))
		abort();
	p->allowed_ips = allowed;
	p->n_allowed_ips = 2;
	c->peers = p;
	c->n_peers = 1;
}

static void setup(void)
{
	uint8_t ka[32], kb[32], pa[32], pb[32];
	fuzz_router_init(&loop, &router);
	x25519_generate(ka);
	x25519_generate(kb);
	if (x25519_public(pa, ka) || x25519_public(pb, kb))
		abort();
	/* A's peer is B, which may send from anywhere (AllowedIPs everything). */
	make_conf(&conf_a, "fza", ka, &peer_a, pb, allowed_a, "0.0.0.0/0", "::/0");
	make_conf(&conf_b, "fzb", kb, &peer_b, pa, allowed_b, "10.0.0.1/32", "fd00::1/128");
	if (ip_prefix_parse("10.0.0.1/24", &addr_a[0]) || ip_prefix_parse("fe80::1/64", &addr_a[1]))
		abort();
	conf_a.addresses = addr_a;
	conf_a.n_addresses = 2;
	dev_a = wg_device_create(&loop, &router, &conf_a);
	if (!dev_a)
		abort();
	peer_b.has_endpoint = true;
	peer_b.endpoint.in4.sin_family = AF_INET;
	peer_b.endpoint.in4.sin_port = htons(dev_a->listen_port);
	peer_b.endpoint.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	dev_b = wg_device_create(&loop, &router, &conf_b);
	if (!dev_b)
		abort();
	wg_send_keepalive(dev_b->peers[0]);
	pump();
	if (!dev_b->peers[0]->current || !dev_a->peers[0]->current)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_setup_once(setup);
	if (size < 1 || size > PBUF_MTU_MAX)
		return 0;
	struct pbuf *b = fuzz_pbuf_copy(data + 1, size - 1);
	if (!b)
		return 0;
	if (data[0] & 1) {
		wg_send_packet(dev_b->peers[0], b);
		pump();
	} else {
		union sockaddr_inet from = { .in4 = { .sin_family = AF_INET,
						      .sin_port = htons(dev_b->listen_port),
						      .sin_addr.s_addr = htonl(INADDR_LOOPBACK) } };
		wg_receive(dev_a, b, &from);
		pump();
	}
	return 0;
}
