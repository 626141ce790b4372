/* The Internet checksum (RFC 1071) and its incremental update (RFC 1624). */
#ifndef RR_IP_CHECKSUM_H
#define RR_IP_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* One's-complement sum of data folded into 32 bits, continuing from sum. */
uint32_t csum_partial(const void *data, size_t len, uint32_t sum);
/* Folds a partial sum to 16 bits and complements it: the value to store. */
uint16_t csum_fold(uint32_t sum);
/* Sum of the IPv4/IPv6 pseudo-header for an upper-layer checksum. */
uint32_t csum_pseudo_v4(const void *src4, const void *dst4, uint8_t proto, uint32_t len);
uint32_t csum_pseudo_v6(const void *src16, const void *dst16, uint8_t next_header, uint32_t len);
/* New checksum after one 16-bit word changed from old_word to new_word (network order). */
uint16_t csum_replace2(uint16_t check, uint16_t old_word, uint16_t new_word);

#endif
