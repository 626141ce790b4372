/*
 * The shim socket is an attack surface too: any process of the user can
 * connect and send anything. Arbitrary messages go to the socket layer as
 * shim requests (several per input, the first byte says how to split them);
 * nothing may crash, leak or trip UBSan, and every router socket created
 * must be released when the client goes away.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "crypto/crypto.h"
#include "ip/router.h"
#include "stack/shim_proto.h"
#include "stack/sock.h"

#include "../unit/shim_recv.h"
#include "../unit/drop_netif.h"
#include "fuzz_common.h"

static struct loop loop;
static struct ip_router router;
static struct netif nif;
static struct ip_prefix addrs[2];
static struct sock_layer *sl;


static void spin(void)
{
	for (int i = 0, idle = 0; i < 50 && idle < 2; i++)
		idle = loop_run_once(&loop, 0) == 0 ? idle + 1 : 0;
}

static void setup(void)
{
	fuzz_router_init(&loop, &router);
	fuzz_netif_init(&nif, "wg0", &drop_ops, addrs, "10.0.0.1/24", "fe80::1/64");
	sl = fuzz_sock_layer_new(&loop, &router, &nif);
}

/* Closes every fd passed back with SCM_RIGHTS so the router sockets can go away. */
static void drain_replies(int ctl)
{
	uint8_t buf[sizeof(struct shim_rep) + SHIM_MSG_MAX];
	int fd;
	while (tl_shim_recv(ctl, buf, sizeof(buf), &fd) > 0)
		if (fd >= 0)
			close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_setup_once(setup);
	if (size < 1)
		return 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	if (sock_layer_add_client(sl, sv[1]) < 0) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	/* Messages of the request size (mostly valid framing), a request with a TCP MD5 key
	 * after it (SHIM_OP_TCP_MD5), or of the fuzzer's choosing. */
	size_t chunk = (data[0] & 3) == 3 ? sizeof(struct shim_req) + sizeof(struct shim_tcp_md5)
		     : data[0] & 1 ? sizeof(struct shim_req) : (size_t)data[0] + 1;
	for (size_t off = 1; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		if (send(sv[0], data + off, n, MSG_DONTWAIT) < 0)
			break;
		spin();
		drain_replies(sv[0]);
	}
	close(sv[0]);
	spin();
	if (sock_layer_stats(sl)->clients != 0)
		abort();   /* the client must be gone once its connection closed */
	return 0;
}
