/*
 * IPv4/IPv6 addresses and prefixes. Parsing goes through inet_pton so only
 * the literal forms the rest of the system prints are accepted; the prefix
 * length is checked by hand because strtoul would take "+8", " 8" and "8x".
 */
#include "ip/addr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

int ip_addr_parse(const char *text, struct ip_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (!text)
		return -1;
	/* inet_pton takes "1.2.3.4" and "::1" but no names, no "%scope", no spaces. */
	if (strchr(text, ':')) {
		if (inet_pton(AF_INET6, text, &out->v6) != 1)
			return -1;
		out->family = AF_INET6;
	} else {
		if (inet_pton(AF_INET, text, &out->v4) != 1)
			return -1;
		out->family = AF_INET;
	}
	return 0;
}

int ip_prefix_parse(const char *text, struct ip_prefix *out)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash;
	size_t alen;

	memset(out, 0, sizeof(*out));
	if (!text)
		return -1;
	slash = strchr(text, '/');
	alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (ip_addr_parse(addr, &out->addr) != 0)
		return -1;

	unsigned bits = ip_family_bits(out->addr.family);
	if (!slash) {
		out->len = (uint8_t)bits;
		return 0;
	}
	const char *p = slash + 1;
	unsigned len = 0, digits = 0;
	for (; *p; p++, digits++) {
		if (*p < '0' || *p > '9' || digits >= 3)
			goto fail;
		len = len * 10 + (unsigned)(*p - '0');
	}
	if (digits == 0 || len > bits)
		goto fail;
	out->len = (uint8_t)len;
	return 0;
fail:
	memset(out, 0, sizeof(*out));
	return -1;
}

void ip_prefix_mask(struct ip_prefix *p)
{
	unsigned size = ip_addr_size(&p->addr);
	unsigned len = p->len;

	if (len > size * 8)
		len = size * 8;
	for (unsigned i = 0; i < sizeof(p->addr.bytes); i++) {
		if (i >= size || i * 8 >= len)
			p->addr.bytes[i] = 0;
		else if (len - i * 8 < 8)
			p->addr.bytes[i] &= (uint8_t)(0xff00u >> (len - i * 8));
	}
}

bool ip_prefix_has_host_bits(const struct ip_prefix *p)
{
	struct ip_prefix m = *p;

	ip_prefix_mask(&m);
	return memcmp(m.addr.bytes, p->addr.bytes, sizeof(m.addr.bytes)) != 0;
}

bool ip_prefix_equal(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->len == b->len && ip_addr_equal(&a->addr, &b->addr);
}

const char *ip_addr_format(const struct ip_addr *a, char buf[IP_ADDR_STRLEN])
{
	if ((a->family != AF_INET && a->family != AF_INET6) ||
	    !inet_ntop(a->family, a->bytes, buf, IP_ADDR_STRLEN))
		snprintf(buf, IP_ADDR_STRLEN, "(family %u)", a->family);
	return buf;
}

const char *ip_prefix_format(const struct ip_prefix *p, char buf[IP_PREFIX_STRLEN])
{
	char addr[IP_ADDR_STRLEN];

	snprintf(buf, IP_PREFIX_STRLEN, "%s/%u", ip_addr_format(&p->addr, addr), p->len);
	return buf;
}

bool ip_addr_equal(const struct ip_addr *a, const struct ip_addr *b)
{
	return a->family == b->family && memcmp(a->bytes, b->bytes, ip_addr_size(a)) == 0;
}

bool ip_prefix_contains(const struct ip_prefix *p, const struct ip_addr *a)
{
	unsigned len = p->len, full, rest;

	if (p->addr.family != a->family)
		return false;
	if (len > ip_family_bits(a->family))
		return false;
	full = len / 8;
	rest = len % 8;
	if (memcmp(p->addr.bytes, a->bytes, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff00u >> rest);
		if ((p->addr.bytes[full] & mask) != (a->bytes[full] & mask))
			return false;
	}
	return true;
}

bool ip_addr_is_link_local(const struct ip_addr *a)
{
	if (a->family == AF_INET)
		return a->bytes[0] == 169 && a->bytes[1] == 254;
	if (a->family == AF_INET6)
		return a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80;
	return false;
}

bool ip_addr_is_multicast(const struct ip_addr *a)
{
	if (a->family == AF_INET)
		return (a->bytes[0] & 0xf0) == 0xe0;
	return a->family == AF_INET6 && a->bytes[0] == 0xff;
}

void ip_addr_from_v4(struct ip_addr *out, const void *four_bytes)
{
	memset(out, 0, sizeof(*out));
	out->family = AF_INET;
	memcpy(out->bytes, four_bytes, 4);
}

void ip_addr_from_v6(struct ip_addr *out, const void *sixteen_bytes)
{
	memset(out, 0, sizeof(*out));
	out->family = AF_INET6;
	memcpy(out->bytes, sixteen_bytes, 16);
}

bool sockaddr_inet_equal(const union sockaddr_inet *a, const union sockaddr_inet *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_port == b->in4.sin_port &&
		       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->in6.sin6_port == b->in6.sin6_port &&
		       a->in6.sin6_scope_id == b->in6.sin6_scope_id &&
		       memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
	return false;
}

socklen_t sockaddr_inet_len(const union sockaddr_inet *a)
{
	if (a->sa.sa_family == AF_INET)
		return sizeof(a->in4);
	if (a->sa.sa_family == AF_INET6)
		return sizeof(a->in6);
	return 0;
}

const char *sockaddr_inet_format(const union sockaddr_inet *a, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	if (!buf || len == 0)
		return "";
	if (a->sa.sa_family == AF_INET) {
		if (!inet_ntop(AF_INET, &a->in4.sin_addr, addr, sizeof(addr)))
			addr[0] = '\0';
		snprintf(buf, len, "%s:%u", addr, ntohs(a->in4.sin_port));
	} else if (a->sa.sa_family == AF_INET6) {
		if (!inet_ntop(AF_INET6, &a->in6.sin6_addr, addr, sizeof(addr)))
			addr[0] = '\0';
		if (a->in6.sin6_scope_id)
			snprintf(buf, len, "[%s%%%u]:%u", addr, a->in6.sin6_scope_id,
				 ntohs(a->in6.sin6_port));
		else
			snprintf(buf, len, "[%s]:%u", addr, ntohs(a->in6.sin6_port));
	} else {
		snprintf(buf, len, "(family %u)", a->sa.sa_family);
	}
	return buf;
}

void sockaddr_inet_from_ip(union sockaddr_inet *out, const struct ip_addr *a, uint16_t port)
{
	memset(out, 0, sizeof(*out));
	if (a->family == AF_INET) {
		out->in4.sin_family = AF_INET;
		out->in4.sin_port = htons(port);
		memcpy(&out->in4.sin_addr, a->bytes, 4);
	} else if (a->family == AF_INET6) {
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = htons(port);
		memcpy(&out->in6.sin6_addr, a->bytes, 16);
	}
}

bool sockaddr_inet_from_addrinfo(union sockaddr_inet *out, const struct addrinfo *res,
				 uint16_t port)
{
	const struct addrinfo *ai;
	for (ai = res; ai; ai = ai->ai_next)
		if ((ai->ai_family == AF_INET && ai->ai_addrlen == sizeof(struct sockaddr_in)) ||
		    (ai->ai_family == AF_INET6 && ai->ai_addrlen == sizeof(struct sockaddr_in6)))
			break;
	if (!ai)
		return false;
	memset(out, 0, sizeof(*out));
	memcpy(out, ai->ai_addr, ai->ai_addrlen);
	if (ai->ai_family == AF_INET)
		out->in4.sin_port = htons(port);
	else
		out->in6.sin6_port = htons(port);
	return true;
}

int sockaddr_inet_to_ip(const union sockaddr_inet *sa, struct ip_addr *out, uint16_t *port)
{
	if (sa->sa.sa_family == AF_INET) {
		ip_addr_from_v4(out, &sa->in4.sin_addr);
		if (port)
			*port = ntohs(sa->in4.sin_port);
		return 0;
	}
	if (sa->sa.sa_family == AF_INET6) {
		ip_addr_from_v6(out, &sa->in6.sin6_addr);
		if (port)
			*port = ntohs(sa->in6.sin6_port);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -1;
}
