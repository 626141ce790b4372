/*
 * The forwarding plane on attacker-chosen packets: arbitrary bytes arrive on
 * one of three fake interfaces of a router with addresses, connected and
 * gateway routes, reject routes and small MTUs (fragmentation, too-big).
 *
 * The first input byte is control, the rest the packet:
 *   bits 0-1  ingress interface (3 means wg0 too)
 *   bit 2     fix the IPv4 header checksum first (else the fuzzer rarely gets past it)
 *   bit 3     fix the ICMP/ICMPv6/UDP/TCP checksum first (reaches echo replies)
 *   bits 4-7  advance the clock by that many x 3 ms (ICMP rate limit refills)
 *
 * Every packet the router emits must parse as valid IP and fit the egress
 * MTU; after each input no packet buffer may remain allocated.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/pbuf.h"
#include "ip/checksum.h"
#include "ip/fib.h"
#include "ip/packet.h"
#include "ip/router.h"

#include "../unit/route_kinds.h"
#include "fuzz_common.h"

static struct loop loop;
static struct ip_router router;
static struct netif nifs[3];
static struct ip_prefix addrs[3][3];
static uint64_t now;

static void check_output(struct netif *nif, struct pbuf *b, const struct ip_addr *nexthop)
{
	if (b->len > nif->mtu) {
		fprintf(stderr, "%s: sent %u bytes over MTU %u\n", nif->name, b->len, nif->mtu);
		abort();
	}
	struct ip_packet pkt;
	if (ip_packet_parse(b, &pkt) < 0 || pkt.family != nexthop->family) {
		fprintf(stderr, "%s: sent an invalid packet\n", nif->name);
		abort();
	}
	pbuf_free(b);
}

static const struct netif_ops ops = { .output = check_output };

static void must(bool ok)
{
	if (!ok)
		abort();
}

static void route(const char *pfx, uint8_t type, uint32_t ifindex, const char *gw)
{
	struct fib_route rt;
	memset(&rt, 0, sizeof(rt));
	must(ip_prefix_parse(pfx, &rt.prefix) == 0);
	rt.type = type;
	rt.ifindex = ifindex;
	if (gw)
		must(ip_addr_parse(gw, &rt.gateway) == 0);
	must(fib_add(router.fib, &rt, 0) == 0);
}

static void setup(void)
{
	static const char *const a[3][3] = {
		{ "172.20.1.1/32", "fe80::1/64", "fd42:1::1/64" },
		{ "172.20.2.1/24", "fe80::1/64", "fd42:2::1/64" },
		{ "10.0.0.1/30", "fe80::3/64", NULL },
	};
	static const uint16_t mtu[3] = { 1420, 1280, 576 };
	log_set_level(LOG_ERROR);
	must(loop_init(&loop) == 0);
	now = 1000 * NSEC_PER_SEC;
	loop_use_manual_clock(&loop, now);
	must(ip_router_init(&router, &loop) == 0);
	for (int i = 0; i < 3; i++) {
		size_t n = 0;
		for (int k = 0; k < 3 && a[i][k]; k++)
			must(ip_prefix_parse(a[i][k], &addrs[i][n++]) == 0);
		snprintf(nifs[i].name, sizeof(nifs[i].name), "wg%d", i);
		nifs[i].mtu = mtu[i];
		nifs[i].addrs = addrs[i];
		nifs[i].n_addrs = n;
		nifs[i].ops = &ops;
		must(ip_router_add_netif(&router, &nifs[i]) == 0);
	}
	uint32_t i0 = nifs[0].ifindex, i1 = nifs[1].ifindex, i2 = nifs[2].ifindex;
	route("172.20.0.0/14", FIB_TYPE_UNICAST, i0, NULL);
	route("fd42::/16", FIB_TYPE_UNICAST, i0, NULL);
	route("172.21.0.0/16", FIB_TYPE_UNICAST, i1, NULL);
	route("fd42:50::/32", FIB_TYPE_UNICAST, i1, NULL);
	route("10.0.0.0/8", FIB_TYPE_UNICAST, i2, NULL);
	for (size_t k = 0; k < N_ROUTE_KINDS; k++)
		route(route_kinds[k].prefix, route_kinds[k].type, 0, route_kinds[k].gateway);
	route("192.0.2.0/24", FIB_TYPE_UNICAST, i2, "10.0.0.2");
}

static void store_csum(uint8_t *at, uint32_t sum, const uint8_t *data, size_t len)
{
	at[0] = at[1] = 0;
	uint16_t c = csum_fold(csum_partial(data, len, sum));
	memcpy(at, &c, 2);
}

/* Makes the checksums right so the fuzzer explores what lies behind them. */
static void fix_checksums(uint8_t *p, size_t len, bool ip_hdr, bool l4)
{
	if (len >= 20 && p[0] >> 4 == 4) {
		size_t hl = (size_t)(p[0] & 0xf) * 4;
		size_t tot = (size_t)p[2] << 8 | p[3];
		if (hl < 20 || hl > len)
			return;
		if (l4 && tot >= hl && tot <= len) {
			uint8_t *x = p + hl;
			size_t xl = tot - hl;
			if (p[9] == IPPROTO_ICMP && xl >= 4)
				store_csum(x + 2, 0, x, xl);
			else if (p[9] == IPPROTO_TCP && xl >= 18)
				store_csum(x + 16, csum_pseudo_v4(p + 12, p + 16, 6, (uint32_t)xl), x, xl);
			else if (p[9] == IPPROTO_UDP && xl >= 8)
				store_csum(x + 6, csum_pseudo_v4(p + 12, p + 16, 17, (uint32_t)xl), x, xl);
		}
		if (ip_hdr)
			store_csum(p + 10, 0, p, hl);
	} else if (len >= 40 && p[0] >> 4 == 6 && l4) {
		size_t tot = 40 + ((size_t)p[4] << 8 | p[5]);
		if (tot > len)
			return;
		uint8_t *x = p + 40;
		size_t xl = tot - 40;
		size_t at = p[6] == IPPROTO_ICMPV6 ? 2 : p[6] == IPPROTO_TCP ? 16 :
			    p[6] == IPPROTO_UDP ? 6 : 0;
		if (at && xl >= at + 2)
			store_csum(x + at, csum_pseudo_v6(p + 8, p + 24, p[6], (uint32_t)xl), x, xl);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_setup_once(setup);
	if (size < 1 || size - 1 > PBUF_MTU_MAX)
		return 0;
	uint8_t ctl = data[0];
	struct netif *in = &nifs[(ctl & 3) % 3];
	now += (uint64_t)(ctl >> 4) * 3 * NSEC_PER_MSEC;
	loop_set_time(&loop, now);

	struct pbuf *b = fuzz_pbuf_copy(data + 1, size - 1);
	if (!b)
		return 0;
	uint8_t *p = pbuf_data(b);
	fix_checksums(p, size - 1, ctl & 4, ctl & 8);
	netif_input(in, b);

	struct pbuf_stats st;
	pbuf_pool_stats(&st);
	if (st.allocated != 0) {
		fprintf(stderr, "leaked %llu packet buffers\n", (unsigned long long)st.allocated);
		abort();
	}
	return 0;
}
