/*
 * Interface names, indexes and addresses: the router's interfaces, not the
 * host's (a program inside sees wg0, fe80::1%wg0...). One SHIM_OP_IFLIST
 * request per call; the list is small.
 *
 * getifaddrs returns one malloc'ed block, as glibc's does, so either
 * freeifaddrs (ours or glibc's) releases it with a single free().
 */
#include <dlfcn.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "shim/shim.h"

struct iflist {
	struct shim_iflist_hdr h;
	const struct shim_ifinfo *ifs;
	const struct shim_ifaddr *addrs;
	uint8_t *buf;
};

static int iflist_get(struct iflist *l)
{
	struct shim_req req;
	struct shim_rep rep;
	shim_req_init(&req, SHIM_OP_IFLIST, -1, 0, 0, 0);
	l->buf = malloc(SHIM_MSG_MAX);
	if (!l->buf)
		return -ENOMEM;
	int r = shim_rpc(&req, &rep, NULL, l->buf, SHIM_MSG_MAX);
	if (r == 0 && rep.err)
		r = -rep.err;
	if (r == 0 && (rep.data_len > SHIM_MSG_MAX || !shim_iflist_valid(l->buf, rep.data_len, &l->h)))
		r = -EPROTO;
	if (r < 0) {
		free(l->buf);
		l->buf = NULL;
		return r;
	}
	l->ifs = (const struct shim_ifinfo *)(l->buf + sizeof(l->h));
	l->addrs = (const struct shim_ifaddr *)(l->buf + sizeof(l->h) +
						l->h.n_ifs * sizeof(struct shim_ifinfo));
	return 0;
}

unsigned shim_if_index(const char *name)
{
	struct iflist l;
	int r = iflist_get(&l);
	if (r < 0) {
		errno = -r;
		return 0;
	}
	unsigned idx = 0;
	for (uint32_t i = 0; i < l.h.n_ifs; i++) {
		struct shim_ifinfo ii;
		memcpy(&ii, &l.ifs[i], sizeof(ii));
		ii.name[sizeof(ii.name) - 1] = '\0';
		if (strcmp(ii.name, name) == 0)
			idx = ii.ifindex;
	}
	free(l.buf);
	if (!idx)
		errno = ENODEV;
	return idx;
}

int shim_if_name(unsigned index, char *name)
{
	struct iflist l;
	int r = iflist_get(&l);
	if (r < 0)
		return r;
	r = -ENXIO;
	for (uint32_t i = 0; i < l.h.n_ifs; i++) {
		struct shim_ifinfo ii;
		memcpy(&ii, &l.ifs[i], sizeof(ii));
		ii.name[sizeof(ii.name) - 1] = '\0';
		if (ii.ifindex == index) {
			memcpy(name, ii.name, strlen(ii.name) + 1);
			r = 0;
		}
	}
	free(l.buf);
	return r;
}

/* Outside the router (no $RRSHIM_SOCKET) these are the host's, untouched. */
#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

SHIM_EXPORT unsigned int if_nametoindex(const char *name)
{
	if (!shim_enabled())
		return REAL(if_nametoindex)(name);
	if (!name)
		return 0;
	return shim_if_index(name);
}

SHIM_EXPORT char *if_indextoname(unsigned int index, char name[IF_NAMESIZE])
{
	if (!shim_enabled())
		return REAL(if_indextoname)(index, name);
	int r = shim_if_name(index, name);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	return name;
}

SHIM_EXPORT struct if_nameindex *if_nameindex(void)
{
	if (!shim_enabled())
		return REAL(if_nameindex)();
	struct iflist l;
	int r = iflist_get(&l);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	/* One block: the array, then the names (if_freenameindex below frees it whole). */
	size_t n = l.h.n_ifs;
	struct if_nameindex *v = calloc(1, (n + 1) * sizeof(*v) + n * 16);
	if (v) {
		char *names = (char *)(v + n + 1);
		for (size_t i = 0; i < n; i++) {
			struct shim_ifinfo ii;
			memcpy(&ii, &l.ifs[i], sizeof(ii));
			memcpy(names + i * 16, ii.name, 15);
			v[i].if_index = ii.ifindex;
			v[i].if_name = names + i * 16;
		}
	} else {
		errno = ENOMEM;
	}
	free(l.buf);
	return v;
}

SHIM_EXPORT void if_freenameindex(struct if_nameindex *v)
{
	if (!shim_enabled()) {
		REAL(if_freenameindex)(v);
		return;
	}
	free(v);
}

struct ifa_block {
	struct ifaddrs ifa;
	union {
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} addr, mask;
	char name[16];
};

static void make_mask(struct ifa_block *b, int family, unsigned len, uint32_t scope)
{
	uint8_t bytes[16] = { 0 };
	for (unsigned i = 0; i < len && i < 128; i++)
		bytes[i / 8] |= (uint8_t)(0x80u >> (i % 8));
	if (family == AF_INET) {
		b->mask.in.sin_family = AF_INET;
		memcpy(&b->mask.in.sin_addr, bytes, 4);
	} else {
		b->mask.in6.sin6_family = AF_INET6;
		memcpy(&b->mask.in6.sin6_addr, bytes, 16);
		(void)scope;
	}
}

SHIM_EXPORT int getifaddrs(struct ifaddrs **out)
{
	if (!shim_enabled())
		return REAL(getifaddrs)(out);
	struct iflist l;
	int r = iflist_get(&l);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	/* One entry per interface with no address family (as AF_PACKET would be, minus the
	 * link-layer data), then one per address. */
	size_t n = l.h.n_ifs + l.h.n_addrs;
	struct ifa_block *v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		free(l.buf);
		errno = ENOMEM;
		return -1;
	}
	size_t k = 0;
	for (uint32_t i = 0; i < l.h.n_ifs; i++, k++) {
		struct shim_ifinfo ii;
		memcpy(&ii, &l.ifs[i], sizeof(ii));
		memcpy(v[k].name, ii.name, 15);
		v[k].ifa.ifa_name = v[k].name;
		v[k].ifa.ifa_flags = IFF_UP | IFF_RUNNING | IFF_POINTOPOINT | IFF_NOARP;
	}
	for (uint32_t a = 0; a < l.h.n_addrs; a++, k++) {
		struct shim_ifaddr ia;
		memcpy(&ia, &l.addrs[a], sizeof(ia));
		const char *name = "";
		for (uint32_t i = 0; i < l.h.n_ifs; i++)
			if (v[i].ifa.ifa_name && l.ifs[i].ifindex == ia.ifindex)
				name = v[i].name;
		memcpy(v[k].name, name, strlen(name) + 1);
		v[k].ifa.ifa_name = v[k].name;
		v[k].ifa.ifa_flags = IFF_UP | IFF_RUNNING | IFF_POINTOPOINT | IFF_NOARP;
		if (ia.family == AF_INET) {
			v[k].addr.in.sin_family = AF_INET;
			memcpy(&v[k].addr.in.sin_addr, ia.addr, 4);
		} else {
			v[k].addr.in6.sin6_family = AF_INET6;
			memcpy(&v[k].addr.in6.sin6_addr, ia.addr, 16);
			if (ia.addr[0] == 0xfe && (ia.addr[1] & 0xc0) == 0x80)
				v[k].addr.in6.sin6_scope_id = ia.ifindex;
		}
		make_mask(&v[k], ia.family, ia.prefixlen, ia.ifindex);
		v[k].ifa.ifa_addr = (struct sockaddr *)&v[k].addr;
		v[k].ifa.ifa_netmask = (struct sockaddr *)&v[k].mask;
	}
	for (size_t i = 0; i + 1 < k; i++)
		v[i].ifa.ifa_next = &v[i + 1].ifa;
	free(l.buf);
	*out = k ? &v[0].ifa : NULL;
	if (!k)
		free(v);
	return 0;
}

SHIM_EXPORT void freeifaddrs(struct ifaddrs *ifa)
{
	free(ifa);   /* glibc's is a single free() of one block too */
}
