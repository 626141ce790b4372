/*
 * libFuzzer harness for generic netlink (nlctrl and the wireguard family).
 * The input is cut into datagrams at every "\xff\xfe\xfd\xfc" marker and sent
 * in turn on a NETLINK_GENERIC socket, so a run can set a key and peers and
 * then dump them. Every reply must be well framed (the harness parses each
 * one and aborts if not). One real device ("wg0", no key) lives across runs
 * and is emptied after each: peers, key and fwmark go.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"
#include "crypto/crypto.h"
#include "ip/router.h"
#include "nl/rtnl.h"
#include "wg/device.h"

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct loop loop;
static struct ip_router router;
static struct wg_device *dev;
static struct rtnl *nl;

static void init_once(void)
{
	if (dev)
		return;
	int err;
	fuzz_router_init(&loop, &router);
	dev = wg_device_create_empty(&loop, &router, "wg0", &err);
	nl = rtnl_new(&router);
	if (!dev || !nl)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	struct rtnl_sock *s = rtnl_sock_new(nl, 0);
	if (!s || rtnl_sock_set_protocol(s, NETLINK_GENERIC) < 0)
		abort();
	fuzz_netlink_send_all(s, NULL, data, size);
	rtnl_sock_free(s);
	wg_device_remove_all_peers(dev);
	wg_device_set_private_key(dev, NULL);
	dev->fwmark = 0;
	return 0;
}
