/*
 * libFuzzer harness for the NETLINK_SOCK_DIAG codec (nl/sock_diag.c): the
 * input is one request datagram, answered against a fixed table of sockets.
 * Every reply datagram must be within the size limit and well framed.
 */
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nl/sock_diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sock_diag_entry table[64];

static void table_init(void)
{
	for (size_t i = 0; i < 64; i++) {
		struct sock_diag_entry *e = &table[i];
		e->family = i & 1 ? AF_INET6 : AF_INET;
		e->protocol = i & 2 ? IPPROTO_UDP : IPPROTO_TCP;
		e->state = (uint8_t)(1 + i % 11);
		e->src[0] = 172;
		e->dst[0] = 172;
		e->dst[3] = (uint8_t)i;
		e->sport = (uint16_t)(179 + i);
		e->dport = (uint16_t)(40000 + i);
		e->cookie = i;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!table[0].family)
		table_init();
	struct sock_diag_queue q = { 0 };
	sock_diag_request(data, size, 1234, table, 64, &q);
	for (struct sock_diag_dgram *d = q.head; d; d = d->next) {
		if (d->len > SOCK_DIAG_DGRAM_MAX)
			abort();
		size_t off = 0;
		while (off < d->len) {
			struct nlmsghdr h;
			if (d->len - off < sizeof(h))
				abort();
			memcpy(&h, d->data + off, sizeof(h));
			if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > d->len - off || h.nlmsg_pid != 1234)
				abort();
			off += NLMSG_ALIGN(h.nlmsg_len);
		}
	}
	sock_diag_queue_clear(&q);
	return 0;
}
