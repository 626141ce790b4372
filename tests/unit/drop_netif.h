/*
 * Operations for a fake interface that only has to exist: what it sends is
 * dropped, and "ip link del" through netlink only unlinks it, as its owner
 * (a test fixture or fuzz harness) frees it. No cmocka: shared by test_rtnl.c
 * and the fuzz harnesses. Include after ip/router.h.
 */
#ifndef RR_TESTS_DROP_NETIF_H
#define RR_TESTS_DROP_NETIF_H

static inline void drop_output(struct netif *nif, struct pbuf *b, const struct ip_addr *nexthop)
{
	(void)nif;
	(void)nexthop;
	pbuf_free(b);
}

static inline void keep_destroy(struct netif *nif)
{
	(void)nif;
}

/* One receive-path and one send-path reason of the link's own, as a WireGuard device has. */
static const char *const fake_link_drop_names[] = { "fake_rx", "fake_tx" };
static const struct netif_ops drop_ops = { .output = drop_output, .destroy = keep_destroy,
					   .link_drop_names = fake_link_drop_names,
					   .n_link_drops = 2, .n_link_rx_drops = 1 };

#endif
