/* IPv4/IPv6 addresses and prefixes: the one representation every module uses. */
#ifndef RR_IP_ADDR_H
#define RR_IP_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ip_addr {
	uint8_t family;          /* AF_INET or AF_INET6 */
	union {
		uint8_t bytes[16];   /* network order; IPv4 uses the first 4 */
		struct in_addr v4;
		struct in6_addr v6;
	};
};

struct ip_prefix {
	struct ip_addr addr;     /* may keep host bits (an interface address) */
	uint8_t len;             /* 0..32 or 0..128 */
};

#define IP_ADDR_STRLEN   INET6_ADDRSTRLEN            /* includes the NUL */
#define IP_PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)

static inline unsigned ip_family_bits(int family) { return family == AF_INET ? 32 : 128; }
static inline unsigned ip_addr_size(const struct ip_addr *a) { return a->family == AF_INET ? 4 : 16; }

/* Literal addresses only (no names, no scope). 0 on success, -1 on error. */
int ip_addr_parse(const char *text, struct ip_addr *out);
/* "ADDR/LEN" or "ADDR" (a host prefix). Host bits are kept. 0 or -1. */
int ip_prefix_parse(const char *text, struct ip_prefix *out);
/* Clear the host bits. */
void ip_prefix_mask(struct ip_prefix *p);

const char *ip_addr_format(const struct ip_addr *a, char buf[IP_ADDR_STRLEN]);
const char *ip_prefix_format(const struct ip_prefix *p, char buf[IP_PREFIX_STRLEN]);

bool ip_addr_equal(const struct ip_addr *a, const struct ip_addr *b);
bool ip_prefix_contains(const struct ip_prefix *p, const struct ip_addr *a);
bool ip_addr_is_link_local(const struct ip_addr *a);   /* fe80::/10, 169.254/16 */
bool ip_addr_is_multicast(const struct ip_addr *a);    /* ff00::/8, 224/4 */

void ip_addr_from_v4(struct ip_addr *out, const void *four_bytes);
void ip_addr_from_v6(struct ip_addr *out, const void *sixteen_bytes);

/* Underlay endpoints (UDP peers) as socket addresses. */
union sockaddr_inet {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
	struct sockaddr_storage ss;
};
bool sockaddr_inet_equal(const union sockaddr_inet *a, const union sockaddr_inet *b);
socklen_t sockaddr_inet_len(const union sockaddr_inet *a);
/* "1.2.3.4:51820" or "[2001:db8::1]:51820". */
const char *sockaddr_inet_format(const union sockaddr_inet *a, char *buf, size_t len);
/* (A non-zero IPv6 scope_id is shown numerically: "[fe80::1%3]:51820".) */
#define SOCKADDR_INET_STRLEN (INET6_ADDRSTRLEN + 20)   /* brackets, %scope, :port, NUL */

/* Added for the config parser and the data path. */
/* True when p has bits set beyond its length (e.g. 172.20.1.1/24). */
bool ip_prefix_has_host_bits(const struct ip_prefix *p);
bool ip_prefix_equal(const struct ip_prefix *a, const struct ip_prefix *b);
/* Address and port (host order) to a socket address, and back (0, or -1 for other families). */
void sockaddr_inet_from_ip(union sockaddr_inet *out, const struct ip_addr *a, uint16_t port);
int sockaddr_inet_to_ip(const union sockaddr_inet *sa, struct ip_addr *out, uint16_t *port);
/*
 * The first IPv4 or IPv6 answer in a getaddrinfo list, in the order getaddrinfo ranks
 * them (RFC 6724), as wg(8) takes it, with port (host order). false when there is none.
 */
struct addrinfo;
bool sockaddr_inet_from_addrinfo(union sockaddr_inet *out, const struct addrinfo *res,
				 uint16_t port);

#endif
