/*
 * libFuzzer harness for the rtnetlink emulation. The first byte picks the
 * socket options (strict checking, extended ACK, capped ACKs); the rest is
 * cut into datagrams at every "\xff\xfe\xfd\xfc" marker and sent in turn, so
 * a run can add a route and then dump, replace or delete it, or create a
 * dummy link, address it, set it up or down and delete it. Every reply must
 * be well framed: the harness parses each one and aborts if not.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/pbuf.h"
#include "ip/router.h"
#include "nl/rtnl.h"

#include "../unit/drop_netif.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* wg0 and wg1 are the harness's (drop_netif.h): "ip link del" only unlinks them. */
static void netif_setup(struct netif *nif, const char *name, const char *a1, const char *a2)
{
	memset(nif, 0, sizeof(*nif));
	struct ip_prefix *addrs = calloc(2, sizeof(*addrs));
	if (!addrs)
		abort();
	fuzz_netif_init(nif, name, &drop_ops, addrs, a1, a2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct ip_router r;
	struct netif wg0, wg1;
	if (ip_router_init(&r, NULL) < 0)
		return 0;
	netif_setup(&wg0, "wg0", "172.20.1.1/24", "fe80::1/64");
	netif_setup(&wg1, "wg1", "10.0.0.1/32", "fd42::1/64");
	struct rtnl *nl = rtnl_new(&r);
	if (!nl || ip_router_add_netif(&r, &wg0) < 0 || ip_router_add_netif(&r, &wg1) < 0)
		abort();
	struct rtnl_sock *s = rtnl_sock_new(nl, 0), *mon = rtnl_sock_new(nl, 0);
	if (!s || !mon)
		abort();
	rtnl_sock_setsockopt(s, NETLINK_GET_STRICT_CHK, data[0] & 1);
	rtnl_sock_setsockopt(s, NETLINK_EXT_ACK, (data[0] >> 1) & 1);
	rtnl_sock_setsockopt(s, NETLINK_CAP_ACK, (data[0] >> 2) & 1);
	rtnl_sock_bind(mon, 0x551);
	data++;
	size--;

	fuzz_netlink_send_all(s, mon, data, size);
	rtnl_free(nl);
	ip_router_destroy_netifs(&r);   /* the dummies the input created, and unlinks wg0/wg1 */
	ip_router_free(&r);
	free(wg0.addrs);
	free(wg1.addrs);
	return 0;
}
