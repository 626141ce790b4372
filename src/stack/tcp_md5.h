/*
 * TCP MD5 signatures (RFC 2385), as Linux's TCP_MD5SIG / TCP_MD5SIG_EXT
 * offer them: a socket holds keys for peers (an address, or a prefix with
 * TCP_MD5SIG_FLAG_PREFIX, optionally bound to an interface); every segment of
 * a connection whose peer has a key carries the option and every segment
 * received from it must carry a good one. This module only keeps key sets
 * and computes and finds signatures; the engine (tcp.c) decides when.
 *
 * Keys are secret: the sets wipe them when they go.
 */
#ifndef RR_STACK_TCP_MD5_H
#define RR_STACK_TCP_MD5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ip/addr.h"

#define TCP_MD5_KEY_MAX  80   /* TCP_MD5SIG_MAXKEYLEN */
#define TCP_MD5_KEYS_MAX 256  /* per socket (Linux is bounded by optmem, ~ the same) */
#define TCP_MD5_OPT_KIND 19
#define TCP_MD5_OPT_LEN  18   /* kind, length, 16-byte digest */
#define TCP_MD5_OPT_SPACE 20  /* with two NOPs in front, as Linux aligns it */

struct tcp_md5_key {
	struct ip_addr addr;        /* the peer, or the prefix */
	uint8_t prefixlen;          /* full length for a single address */
	uint8_t keylen;             /* 1..TCP_MD5_KEY_MAX */
	uint32_t ifindex;           /* 0: any interface */
	uint8_t key[TCP_MD5_KEY_MAX];
};

struct tcp_md5_keyset {
	unsigned n;
	struct tcp_md5_key *keys;   /* n of them */
};

/*
 * Adds or replaces the key for (addr, prefixlen, ifindex); keylen 0 deletes
 * it. 0, -ENOENT (deleting a key that is not there, as Linux), -EINVAL
 * (prefix too long, key too long), -ENOMEM.
 */
int tcp_md5_keyset_set(struct tcp_md5_keyset *ks, const struct ip_addr *addr, unsigned prefixlen,
		       uint32_t ifindex, const uint8_t *key, size_t keylen);
/* The key for peer arriving on / leaving by ifindex: the longest matching prefix; NULL if none. */
const struct tcp_md5_key *tcp_md5_keyset_lookup(const struct tcp_md5_keyset *ks,
						const struct ip_addr *peer, uint32_t ifindex);
/* Replaces dst's keys by a copy of src's. 0 or -ENOMEM (dst unchanged). */
int tcp_md5_keyset_copy(struct tcp_md5_keyset *dst, const struct tcp_md5_keyset *src);
/* Wipes and frees every key. */
void tcp_md5_keyset_clear(struct tcp_md5_keyset *ks);

/*
 * The RFC 2385 digest of a segment: MD5 over the pseudo-header (src, dst,
 * protocol, length; the IPv6 form for IPv6), the fixed 20-byte TCP header
 * with a zero checksum, the payload after the options (th + doff), then the
 * key. tcp_len is the whole segment. 0, or -1 if the digest could not be
 * computed (out of memory, malformed length).
 */
int tcp_md5_digest(const struct tcp_md5_key *k, const struct ip_addr *src, const struct ip_addr *dst,
		   const uint8_t *th, size_t tcp_len, uint8_t out[16]);

/*
 * The signature option in a header's options (th[20..doff)): a pointer to
 * its 16 digest bytes, or NULL if there is none (or it is malformed: a
 * wrong length counts as absent, as in Linux).
 */
const uint8_t *tcp_md5_find(const uint8_t *th, size_t doff);

/* Checks a received segment's digest against k in constant time. */
bool tcp_md5_verify(const struct tcp_md5_key *k, const struct ip_addr *src, const struct ip_addr *dst,
		    const uint8_t *th, size_t tcp_len, const uint8_t *digest);

#endif
