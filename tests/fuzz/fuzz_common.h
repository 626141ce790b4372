/*
 * Helpers shared by the libFuzzer harnesses in tests/fuzz/. Header only, static
 * inline: the Makefile builds each fuzz_*.c alone against librr.a. Each part
 * is there when the harness has included the module headers it needs. A
 * broken invariant aborts, which is how a harness reports it.
 */
#ifndef RR_TESTS_FUZZ_COMMON_H
#define RR_TESTS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* Runs setup on the first call only: a harness keeps its router or keys across runs. */
static inline void fuzz_setup_once(void (*setup)(void))
{
	static bool done;
	if (!done) {
		setup();
		done = true;
	}
}

#ifdef RR_CORE_PBUF_H
/* A packet buffer holding a copy of len bytes of data; NULL when none can be had. */
static inline struct pbuf *fuzz_pbuf_copy(const uint8_t *data, size_t len)
{
	struct pbuf *b = pbuf_alloc();
	if (!b)
		return NULL;
	uint8_t *p = pbuf_put(b, len);
	if (!p) {
		pbuf_free(b);
		return NULL;
	}
	if (len)
		memcpy(p, data, len);
	return b;
}
#endif

#ifdef RR_IP_ROUTER_H
/*
 * A fake interface: name, MTU 1420, ops, and the two addresses a1 and a2
 * (prefix text) parsed into addrs, which must outlive it.
 */
static inline void fuzz_netif_init(struct netif *nif, const char *name, const struct netif_ops *ops,
				   struct ip_prefix addrs[2], const char *a1, const char *a2)
{
	snprintf(nif->name, sizeof(nif->name), "%s", name);
	nif->mtu = 1420;
	nif->ops = ops;
	if (ip_prefix_parse(a1, &addrs[0]) < 0 || ip_prefix_parse(a2, &addrs[1]) < 0)
		abort();
	nif->addrs = addrs;
	nif->n_addrs = 2;
}
#endif

#if defined(RR_IP_ROUTER_H) && defined(RR_CRYPTO_CRYPTO_H) && defined(RR_CORE_LOG_H)
/* Crypto, the loop and the router on it, with only errors logged: how a harness starts. */
static inline void fuzz_router_init(struct loop *loop, struct ip_router *router)
{
	if (crypto_init() < 0 || loop_init(loop) < 0 || ip_router_init(router, loop) < 0)
		abort();
	log_set_level(LOG_ERROR);
}
#endif

#if defined(RR_IP_ROUTER_H) && defined(RR_STACK_SOCK_H)
/* nif added to the router, and a socket layer for the router's own addresses on loop. */
static inline struct sock_layer *fuzz_sock_layer_new(struct loop *loop, struct ip_router *router,
						     struct netif *nif)
{
	if (ip_router_add_netif(router, nif) < 0)
		abort();
	struct sock_layer *sl = sock_layer_new(loop, router);
	if (!sl)
		abort();
	ip_router_set_local_handler(router, sock_layer_input, sl);
	return sl;
}
#endif

#ifdef RR_NL_RTNL_H
#include <errno.h>
#include <linux/netlink.h>

/* Reads everything queued on s and checks its framing. */
static inline void fuzz_netlink_drain(struct rtnl_sock *s)
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

/*
 * Cuts data into datagrams at every "\xff\xfe\xfd\xfc" marker and sends each
 * in turn on s, draining s (and mon, if not NULL) after each one.
 */
static inline void fuzz_netlink_send_all(struct rtnl_sock *s, struct rtnl_sock *mon,
					 const uint8_t *data, size_t size)
{
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
		fuzz_netlink_drain(s);
		if (mon)
			fuzz_netlink_drain(mon);
		if (!cut)
			break;
		data = cut + sizeof(marker);
		size -= len + sizeof(marker);
	}
}
#endif

#endif
