/*
 * librrshim.so: raw ICMP / ICMPv6 sockets inside the router (stack/sock_raw.c
 * has the semantics). Here: creating them without privilege, and the type
 * filters ICMP_FILTER (SOL_RAW, IPv4: a 32-bit mask of types to drop) and
 * ICMP6_FILTER (IPPROTO_ICMPV6: struct icmp6_filter, 256 bits, a set bit
 * drops that type), applied as a message is read. A filtered message still
 * woke poll(): the read that meets it goes on to the next one, or fails with
 * EAGAIN on a non-blocking socket, which programs already handle.
 */
#include <errno.h>
#include <netinet/icmp6.h>
#include <linux/icmp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/shim.h"

#ifndef SOL_RAW
#define SOL_RAW 255
#endif

struct raw_filter {
	uint32_t bits[8];   /* bit set: drop that ICMP type (IPv4 uses bits[0]) */
};

static pthread_mutex_t filter_lock = PTHREAD_MUTEX_INITIALIZER;
static struct raw_filter *filters[SHIM_TAB_MAX];

static int fail(int err)
{
	errno = err;
	return -1;
}

int shim_raw_socket(int domain, int type, int protocol)
{
	/* The kernel would want CAP_NET_RAW: a UDP socket holds the number until the first use. */
	int fd = shim_real.socket(domain, (type & ~0xf) | SOCK_DGRAM, 0);
	if (fd < 0)
		return fd;
	if (fd < SHIM_TAB_MAX) {
		pthread_mutex_lock(&filter_lock);
		free(filters[fd]);   /* a previous socket's, if it had this number */
		filters[fd] = NULL;
		pthread_mutex_unlock(&filter_lock);
	}
	struct shim_fd e;
	shim_fd_init_kernel(&e, domain, SOCK_RAW);
	e.kind = SK_RAW;
	e.protocol = protocol;
	e.placeholder = true;
	shim_fd_put(fd, &e);
	return fd;
}

bool shim_raw_own_option(const struct shim_fd *e, int level, int name)
{
	return e->kind == SK_RAW &&
	       ((e->domain == AF_INET && level == SOL_RAW && name == ICMP_FILTER) ||
		(e->domain == AF_INET6 && level == IPPROTO_ICMPV6 && name == ICMP6_FILTER));
}

int shim_raw_setsockopt(int fd, const struct shim_fd *e, const void *val, socklen_t len)
{
	struct raw_filter f;
	memset(&f, 0, sizeof(f));
	size_t want = e->domain == AF_INET ? sizeof(uint32_t) : sizeof(struct icmp6_filter);
	if (!val)
		return fail(EFAULT);
	if (e->domain == AF_INET && len < want)
		return fail(EINVAL);
	/* Linux takes at most the filter's size and, for ICMPv6, a shorter one as given. */
	memcpy(f.bits, val, len < want ? len : want);
	if (fd < 0 || fd >= SHIM_TAB_MAX)
		return fail(EBADF);
	pthread_mutex_lock(&filter_lock);
	if (!filters[fd])
		filters[fd] = malloc(sizeof(f));
	bool ok = filters[fd] != NULL;
	if (ok)
		*filters[fd] = f;
	pthread_mutex_unlock(&filter_lock);
	return ok ? 0 : fail(ENOMEM);
}

int shim_raw_getsockopt(int fd, const struct shim_fd *e, void *val, socklen_t *len)
{
	struct raw_filter f;
	memset(&f, 0, sizeof(f));
	if (!val || !len)
		return fail(EFAULT);
	if (fd >= 0 && fd < SHIM_TAB_MAX) {
		pthread_mutex_lock(&filter_lock);
		if (filters[fd])
			f = *filters[fd];
		pthread_mutex_unlock(&filter_lock);
	}
	size_t full = e->domain == AF_INET ? sizeof(uint32_t) : sizeof(struct icmp6_filter);
	size_t n = *len < full ? *len : full;
	memcpy(val, f.bits, n);
	*len = (socklen_t)n;
	return 0;
}

/* Byte off of the message that was read into iov (got bytes); -1 past the end. */
static int msg_byte(const struct iovec *iov, size_t iovlen, size_t got, size_t off)
{
	if (off >= got)
		return -1;
	for (size_t i = 0; i < iovlen; i++) {
		if (off < iov[i].iov_len)
			return ((const uint8_t *)iov[i].iov_base)[off];
		off -= iov[i].iov_len;
	}
	return -1;
}

bool shim_raw_filtered(int fd, const struct shim_fd *e, const struct iovec *iov, size_t iovlen,
		       size_t got)
{
	if (fd < 0 || fd >= SHIM_TAB_MAX)
		return false;
	struct raw_filter f;
	pthread_mutex_lock(&filter_lock);
	bool any = filters[fd] != NULL;
	if (any)
		f = *filters[fd];
	pthread_mutex_unlock(&filter_lock);
	if (!any)
		return false;
	int type;
	if (e->domain == AF_INET) {
		/* After the IP header; IPv4 raw sockets read it too. */
		int vhl = msg_byte(iov, iovlen, got, 0);
		if (vhl < 0)
			return false;
		type = msg_byte(iov, iovlen, got, (size_t)(vhl & 0xf) * 4);
		if (type < 0 || type >= 32)
			return false;   /* Linux filters types 0..31 only */
	} else {
		type = msg_byte(iov, iovlen, got, 0);
		if (type < 0)
			return false;
	}
	return (f.bits[type >> 5] >> (type & 31)) & 1u;
}
