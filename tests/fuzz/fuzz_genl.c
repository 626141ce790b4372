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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct loop loop;
static struct ip_router router;
static struct wg_device *dev;
static struct rtnl *nl;

static void init_once(void)
{
	if (dev)
		return;
	log_set_level(LOG_ERROR);
	int err;
	if (crypto_init() < 0 || loop_init(&loop) < 0 || ip_router_init(&router, &loop) < 0)
		abort();
	dev = wg_device_create_empty(&loop, &router, "wg0", &err);
	nl = rtnl_new(&router);
	if (!dev || !nl)
		abort();
}

/* Reads everything queued and checks its framing. */
static void drain(struct rtnl_sock *s)
{
	static uint8_t buf[65536];
	while (rtnl_sock_pending(s)) {
		ssize_t n = rtnl_sock_recv(s, buf, sizeof(buf), false, NULL);
		if (n == -ENOBUFS)
			continue;
		if (n <= 0 || (size_t)n > sizeof(buf))
			abort();
		size_t off = 0;
		while (off < (size_t)n) {
			struct nlmsghdr h;
			if ((size_t)n - off < sizeof(h))
				abort();
			memcpy(&h, buf + off, sizeof(h));
			if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > (size_t)n - off)
				abort();
			off += NLMSG_ALIGN(h.nlmsg_len);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	struct rtnl_sock *s = rtnl_sock_new(nl, 0);
	if (!s || rtnl_sock_set_protocol(s, NETLINK_GENERIC) < 0)
		abort();
	static const uint8_t marker[4] = { 0xff, 0xfe, 0xfd, 0xfc };
	while (size) {
		const uint8_t *cut = memmem(data, size, marker, sizeof(marker));
		size_t len = cut ? (size_t)(cut - data) : size;
		/* A private copy so ASan sees reads past the datagram. */
		uint8_t *dg = malloc(len ? len : 1);
		if (!dg)
			break;
		memcpy(dg, data, len);
		rtnl_sock_send(s, dg, len);
		free(dg);
		drain(s);
		if (!cut)
			break;
		data = cut + sizeof(marker);
		size -= len + sizeof(marker);
	}
	rtnl_sock_free(s);
	wg_device_remove_all_peers(dev);
	wg_device_set_private_key(dev, NULL);
	dev->fwmark = 0;
	return 0;
}
