#include "wg/transport.h"

#include <arpa/inet.h>
#include <string.h>

static const struct wg_transport_ops *registered;

void wg_transport_register(const struct wg_transport_ops *ops)
{
	registered = ops;
}

const struct wg_transport_ops *wg_transport_ops(void)
{
	return registered;
}

bool wg_transport_is_path(const union sockaddr_inet *a)
{
	static const uint8_t prefix[8] = { 0x01, 0x00, 0, 0, 0, 0, 0, 0 };
	return a->sa.sa_family == AF_INET6 && memcmp(&a->in6.sin6_addr, prefix, 8) == 0;
}

void wg_transport_path_addr(union sockaddr_inet *out, uint64_t id)
{
	memset(out, 0, sizeof(*out));
	out->in6.sin6_family = AF_INET6;
	out->in6.sin6_port = htons(1);
	out->in6.sin6_addr.s6_addr[0] = 0x01;
	for (int i = 0; i < 8; i++)
		out->in6.sin6_addr.s6_addr[8 + i] = (uint8_t)(id >> (56 - 8 * i));
}
