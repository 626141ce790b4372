/*
 * TCP MD5 signatures (RFC 2385): key sets and the digest. See tcp_md5.h.
 *
 * The digest is computed with OpenSSL's EVP MD5 (the router links libcrypto
 * already). MD5 is weak as a hash, but RFC 2385 is what BGP peers speak;
 * TCP-AO (RFC 5925) would be its successor.
 */
#include "stack/tcp_md5.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto/crypto.h"

static bool key_matches(const struct tcp_md5_key *k, const struct ip_addr *peer, uint32_t ifindex)
{
	if (k->addr.family != peer->family || (k->ifindex && ifindex && k->ifindex != ifindex))
		return false;
	struct ip_prefix p = { .addr = k->addr, .len = k->prefixlen };
	return ip_prefix_contains(&p, peer);
}

static bool same_entry(const struct tcp_md5_key *k, const struct ip_addr *addr, unsigned prefixlen,
		       uint32_t ifindex)
{
	return k->prefixlen == prefixlen && k->ifindex == ifindex && ip_addr_equal(&k->addr, addr);
}

int tcp_md5_keyset_set(struct tcp_md5_keyset *ks, const struct ip_addr *addr, unsigned prefixlen,
		       uint32_t ifindex, const uint8_t *key, size_t keylen)
{
	if (!ks || !addr || (addr->family != AF_INET && addr->family != AF_INET6) ||
	    prefixlen > ip_family_bits(addr->family) || keylen > TCP_MD5_KEY_MAX || (keylen && !key))
		return -EINVAL;
	/* Keys are looked up by prefix: host bits beyond it are cleared, as Linux does. */
	struct ip_prefix p = { .addr = *addr, .len = (uint8_t)prefixlen };
	ip_prefix_mask(&p);
	for (unsigned i = 0; i < ks->n; i++) {
		struct tcp_md5_key *k = &ks->keys[i];
		if (!same_entry(k, &p.addr, prefixlen, ifindex))
			continue;
		if (!keylen) {
			crypto_wipe(k, sizeof(*k));
			ks->keys[i] = ks->keys[ks->n - 1];
			crypto_wipe(&ks->keys[ks->n - 1], sizeof(*k));
			ks->n--;
			return 0;
		}
		crypto_wipe(k->key, sizeof(k->key));
		memcpy(k->key, key, keylen);
		k->keylen = (uint8_t)keylen;
		return 0;
	}
	if (!keylen)
		return -ENOENT;
	if (ks->n >= TCP_MD5_KEYS_MAX)
		return -ENOMEM;
	/* Grown by copying so that the old array can be wiped (realloc would leave keys behind). */
	struct tcp_md5_key *nk = calloc(ks->n + 1, sizeof(*nk));
	if (!nk)
		return -ENOMEM;
	if (ks->n) {
		memcpy(nk, ks->keys, ks->n * sizeof(*nk));
		crypto_wipe(ks->keys, ks->n * sizeof(*nk));
	}
	free(ks->keys);
	ks->keys = nk;
	struct tcp_md5_key *k = &nk[ks->n++];
	k->addr = p.addr;
	k->prefixlen = (uint8_t)prefixlen;
	k->ifindex = ifindex;
	k->keylen = (uint8_t)keylen;
	memcpy(k->key, key, keylen);
	return 0;
}

const struct tcp_md5_key *tcp_md5_keyset_lookup(const struct tcp_md5_keyset *ks,
						const struct ip_addr *peer, uint32_t ifindex)
{
	const struct tcp_md5_key *best = NULL;
	if (!ks)
		return NULL;
	for (unsigned i = 0; i < ks->n; i++) {
		const struct tcp_md5_key *k = &ks->keys[i];
		if (!key_matches(k, peer, ifindex))
			continue;
		/* Longest prefix first; an interface-bound key beats an unbound one of equal length. */
		if (!best || k->prefixlen > best->prefixlen ||
		    (k->prefixlen == best->prefixlen && k->ifindex && !best->ifindex))
			best = k;
	}
	return best;
}

int tcp_md5_keyset_copy(struct tcp_md5_keyset *dst, const struct tcp_md5_keyset *src)
{
	struct tcp_md5_key *nk = NULL;
	if (src && src->n) {
		nk = calloc(src->n, sizeof(*nk));
		if (!nk)
			return -ENOMEM;
		memcpy(nk, src->keys, src->n * sizeof(*nk));
	}
	tcp_md5_keyset_clear(dst);
	dst->keys = nk;
	dst->n = nk ? src->n : 0;
	return 0;
}

void tcp_md5_keyset_clear(struct tcp_md5_keyset *ks)
{
	if (!ks)
		return;
	if (ks->keys) {
		crypto_wipe(ks->keys, ks->n * sizeof(*ks->keys));
		free(ks->keys);
	}
	ks->keys = NULL;
	ks->n = 0;
}

int tcp_md5_digest(const struct tcp_md5_key *k, const struct ip_addr *src, const struct ip_addr *dst,
		   const uint8_t *th, size_t tcp_len, uint8_t out[16])
{
	if (tcp_len < 20 || tcp_len > 65535 || src->family != dst->family)
		return -1;
	size_t doff = (size_t)(th[12] >> 4) * 4;
	if (doff < 20 || doff > tcp_len)
		return -1;
	/* RFC 2385 section 2.0, step 1: the pseudo-header (RFC 2460 8.1 form for IPv6). */
	uint8_t ph[40];
	size_t phl;
	if (src->family == AF_INET) {
		memcpy(ph, src->bytes, 4);
		memcpy(ph + 4, dst->bytes, 4);
		ph[8] = 0;
		ph[9] = IPPROTO_TCP;
		ph[10] = (uint8_t)(tcp_len >> 8);
		ph[11] = (uint8_t)tcp_len;
		phl = 12;
	} else {
		memcpy(ph, src->bytes, 16);
		memcpy(ph + 16, dst->bytes, 16);
		ph[32] = ph[33] = 0;
		ph[34] = (uint8_t)(tcp_len >> 8);
		ph[35] = (uint8_t)tcp_len;
		ph[36] = ph[37] = ph[38] = 0;
		ph[39] = IPPROTO_TCP;
		phl = 40;
	}
	/* step 2: the TCP header without options, checksum zero */
	uint8_t hdr[20];
	memcpy(hdr, th, 20);
	hdr[16] = hdr[17] = 0;
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -1;
	int ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
		 EVP_DigestUpdate(ctx, ph, phl) == 1 &&
		 EVP_DigestUpdate(ctx, hdr, sizeof(hdr)) == 1 &&
		 /* step 3: the segment data */
		 EVP_DigestUpdate(ctx, th + doff, tcp_len - doff) == 1 &&
		 /* step 4: the key */
		 EVP_DigestUpdate(ctx, k->key, k->keylen) == 1 &&
		 EVP_DigestFinal_ex(ctx, out, &mdlen) == 1 && mdlen == 16;
	EVP_MD_CTX_free(ctx);   /* OpenSSL cleanses the MD5 state (it saw the key) */
	return ok ? 0 : -1;
}

const uint8_t *tcp_md5_find(const uint8_t *th, size_t doff)
{
	const uint8_t *o = th + 20, *end = th + doff;
	while (o < end) {
		if (o[0] == 0)
			return NULL;
		if (o[0] == 1) {
			o++;
			continue;
		}
		if (end - o < 2 || o[1] < 2 || o[1] > end - o)
			return NULL;
		if (o[0] == TCP_MD5_OPT_KIND)
			return o[1] == TCP_MD5_OPT_LEN ? o + 2 : NULL;
		o += o[1];
	}
	return NULL;
}

bool tcp_md5_verify(const struct tcp_md5_key *k, const struct ip_addr *src, const struct ip_addr *dst,
		    const uint8_t *th, size_t tcp_len, const uint8_t *digest)
{
	uint8_t want[16];
	if (tcp_md5_digest(k, src, dst, th, tcp_len, want) < 0)
		return false;
	bool ok = crypto_equal(want, digest, 16);
	crypto_wipe(want, sizeof(want));
	return ok;
}
