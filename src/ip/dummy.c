#include "ip/dummy.h"

#include <stdio.h>
#include <stdlib.h>

static void dummy_output(struct netif *nif, struct pbuf *b, const struct ip_addr *nexthop)
{
	(void)nexthop;
	/* Linux's dummy counts what it swallows as transmitted. */
	nif->stats.tx_packets++;
	nif->stats.tx_bytes += b->len;
	pbuf_free(b);
}

static void dummy_destroy(struct netif *nif)
{
	free(nif->addrs);   /* addr_peers shares this block (netif.h) */
	free(nif);
}

static const struct netif_ops dummy_ops = {
	.kind = NETIF_KIND_DUMMY,
	.output = dummy_output,
	.destroy = dummy_destroy,
};

struct netif *dummy_new(const char *name)
{
	struct netif *nif = calloc(1, sizeof(*nif));
	if (!nif)
		return NULL;
	snprintf(nif->name, sizeof(nif->name), "%s", name);
	nif->mtu = DUMMY_MTU;
	nif->ops = &dummy_ops;
	return nif;
}
