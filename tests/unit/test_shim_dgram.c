/*
 * librrshim's datagram options (src/shim/shim_dgram.c), compiled into this
 * test with the shim's RPC, interface names and log stubbed: option
 * validation as Linux does it, the control messages a receive gets
 * (IP_PKTINFO, IPV6_PKTINFO, IP_TOS, IPV6_TCLASS: contents and order), the
 * ones a send gives (source, interface, hop limit, TOS), the EMSGSIZE
 * decision and IP_MTU / IPV6_MTU.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shim/shim_dgram.c"

/* ---- stubs for what shim_dgram.c uses from the rest of the shim ---- */

static int rpc_calls, rpc_mtu = 1420, rpc_err;
static struct shim_req last_req;

int shim_rpc(const struct shim_req *req, struct shim_rep *rep, int *fd_out, void *data,
	     size_t cap)
{
	rpc_calls++;
	last_req = *req;
	memset(rep, 0, sizeof(*rep));
	rep->err = rpc_err;
	rep->val = rpc_mtu;
	if (fd_out)
		*fd_out = -1;
	return 0;
}

int shim_if_name(unsigned index, char *name)
{
	if (index != 2)
		return -ENXIO;
	strcpy(name, "wg0");
	return 0;
}

void shim_log_once(const char *key, const char *fmt, ...)
{
}

void shim_log(const char *fmt, ...)
{
}

/* ---- helpers ---- */

static struct shim_fd new_fd(int domain, uint8_t kind)
{
	struct shim_fd e;
	memset(&e, 0, sizeof(e));
	e.state = SFD_ROUTER;
	e.kind = kind;
	e.domain = domain;
	e.sock_id = 7;
	shim_dgram_init(&e);
	return e;
}

static int set_int(struct shim_fd *e, int level, int name, int v)
{
	return shim_dgram_opt_set(e, level, name, &v, sizeof(v));
}

static int getopt_int(const struct shim_fd *e, int level, int name, int *v)
{
	socklen_t len = sizeof(*v);
	int r = shim_dgram_opt_get(e, level, name, v, &len);
	if (r == 0)
		assert_int_equal(len, sizeof(int));
	return r;
}

static void test_option_validation(void **state)
{
	(void)state;
	struct shim_fd e = new_fd(AF_INET6, SK_UDP);
	int v;
	/* Linux's defaults */
	assert_int_equal(getopt_int(&e, IPPROTO_IP, IP_MTU_DISCOVER, &v), 0);
	assert_int_equal(v, IP_PMTUDISC_WANT);
	assert_int_equal(getopt_int(&e, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v), 0);
	assert_int_equal(v, IPV6_PMTUDISC_WANT);
	/* modes 0..5 (OMIT is unbound's choice), nothing else */
	assert_int_equal(set_int(&e, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_OMIT), 1);
	assert_int_equal(e.opts.pmtudisc, IP_PMTUDISC_OMIT);
	assert_int_equal(set_int(&e, IPPROTO_IP, IP_MTU_DISCOVER, 6), -EINVAL);
	assert_int_equal(set_int(&e, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO), 1);
	assert_int_equal(e.opts.pmtudisc6, IPV6_PMTUDISC_DO);
	/* IPV6_MTU: 0 (the path's) or at least 1280 */
	assert_int_equal(set_int(&e, IPPROTO_IPV6, IPV6_MTU, 1279), -EINVAL);
	assert_int_equal(set_int(&e, IPPROTO_IPV6, IPV6_MTU, 1280), 1);
	assert_int_equal(e.opts.mtu6, 1280);
	/* IP_MTU is read-only */
	assert_int_equal(set_int(&e, IPPROTO_IP, IP_MTU, 1400), -ENOPROTOOPT);
	/* flags both ways */
	assert_int_equal(set_int(&e, IPPROTO_IP, IP_FREEBIND, 1), 1);
	assert_true(e.opts.flags & SHIM_OPT_FREEBIND);
	assert_int_equal(getopt_int(&e, IPPROTO_IPV6, IPV6_FREEBIND, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(set_int(&e, IPPROTO_IPV6, IPV6_DONTFRAG, 1), 1);
	assert_true(e.opts.flags & SHIM_OPT_DONTFRAG);
	assert_int_equal(set_int(&e, IPPROTO_IPV6, IPV6_DONTFRAG, 0), 1);
	assert_false(e.opts.flags & SHIM_OPT_DONTFRAG);
	assert_true(e.opts.flags & SHIM_OPT_FREEBIND);
	/* receive-side switches stay in the shim (2) */
	assert_int_equal(set_int(&e, IPPROTO_IP, IP_PKTINFO, 1), 2);
	assert_int_equal(set_int(&e, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1), 2);
	assert_int_equal(getopt_int(&e, IPPROTO_IP, IP_PKTINFO, &v), 0);
	assert_int_equal(v, 1);
	/* a one-byte value, as Linux takes for IP options */
	unsigned char one = 0;
	assert_int_equal(shim_dgram_opt_set(&e, IPPROTO_IP, IP_PKTINFO, &one, 1), 2);
	assert_false(e.recvpktinfo);
	/* not ours: shim.c decides */
	assert_int_equal(set_int(&e, IPPROTO_IP, IP_TTL, 5), SHIM_OPT_UNKNOWN);
	assert_int_equal(set_int(&e, SOL_SOCKET, SO_REUSEADDR, 1), SHIM_OPT_UNKNOWN);
}

static void test_sticky_pktinfo(void **state)
{
	(void)state;
	struct shim_fd e = new_fd(AF_INET6, SK_UDP);
	struct in6_pktinfo pi;
	memset(&pi, 0, sizeof(pi));
	inet_pton(AF_INET6, "fd42::1", &pi.ipi6_addr);
	pi.ipi6_ifindex = 2;
	assert_int_equal(shim_dgram_opt_set(&e, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi)), 1);
	assert_memory_equal(e.opts.pktinfo_src, &pi.ipi6_addr, 16);
	assert_int_equal(e.opts.pktinfo_ifindex, 2);
	struct in6_pktinfo back;
	socklen_t len = sizeof(back);
	assert_int_equal(shim_dgram_opt_get(&e, IPPROTO_IPV6, IPV6_PKTINFO, &back, &len), 0);
	assert_memory_equal(&back, &pi, sizeof(pi));
	/* an interface the router does not have */
	pi.ipi6_ifindex = 9;
	assert_int_equal(shim_dgram_opt_set(&e, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi)),
			 -ENODEV);
	/* an empty value clears it (RFC 3542 6.1) */
	assert_int_equal(shim_dgram_opt_set(&e, IPPROTO_IPV6, IPV6_PKTINFO, NULL, 0), 1);
	assert_int_equal(e.opts.pktinfo_ifindex, 0);
}

static struct shim_dgram_hdr rx_hdr(const char *local, uint32_t ifindex, uint8_t tos)
{
	struct shim_dgram_hdr h;
	memset(&h, 0, sizeof(h));
	h.local.family = strchr(local, ':') ? AF_INET6 : AF_INET;
	inet_pton(h.local.family, local, h.local.addr);
	h.ifindex = ifindex;
	h.tos = tos;
	h.flags = SHIM_DGRAM_HAS_TTL;
	return h;
}

/* Room for the control messages of one received datagram. */
union cmsg_buf {
	struct cmsghdr align;
	uint8_t b[256];
};

/* The control messages shim_dgram_recv_cmsgs writes for h, in a msghdr over cb. */
static struct msghdr recv_cmsgs(const struct shim_fd *e, const struct shim_dgram_hdr *h,
				union cmsg_buf *cb)
{
	struct msghdr msg = { .msg_control = cb->b, .msg_controllen = sizeof(cb->b) };
	size_t used = 0;
	shim_dgram_recv_cmsgs(e, h, &msg, &used);
	msg.msg_controllen = used;
	return msg;
}

/* The control message after prev (NULL: the first one), which must be there. */
static struct cmsghdr *cmsg_after(struct msghdr *msg, struct cmsghdr *prev)
{
	struct cmsghdr *c = prev ? CMSG_NXTHDR(msg, prev) : CMSG_FIRSTHDR(msg);
	if (!c)
		abort();   /* assert_non_null, for the compiler too */
	return c;
}

static void test_receive_cmsgs_v4(void **state)
{
	(void)state;
	struct shim_fd e = new_fd(AF_INET, SK_UDP);
	e.recvpktinfo = e.recvtos = true;
	struct shim_dgram_hdr h = rx_hdr("172.20.0.5", 2, 0x28);
	union cmsg_buf cb;
	struct msghdr msg = recv_cmsgs(&e, &h, &cb);
	struct cmsghdr *c = cmsg_after(&msg, NULL);
	assert_int_equal(c->cmsg_level, IPPROTO_IP);
	assert_int_equal(c->cmsg_type, IP_PKTINFO);
	assert_int_equal(c->cmsg_len, CMSG_LEN(sizeof(struct in_pktinfo)));
	struct in_pktinfo pi;
	memcpy(&pi, CMSG_DATA(c), sizeof(pi));
	char a[64];
	assert_int_equal(pi.ipi_ifindex, 2);
	inet_ntop(AF_INET, &pi.ipi_addr, a, sizeof(a));
	assert_string_equal(a, "172.20.0.5");
	inet_ntop(AF_INET, &pi.ipi_spec_dst, a, sizeof(a));
	assert_string_equal(a, "172.20.0.5");
	c = cmsg_after(&msg, c);
	assert_int_equal(c->cmsg_level, IPPROTO_IP);
	assert_int_equal(c->cmsg_type, IP_TOS);
	assert_int_equal(c->cmsg_len, CMSG_LEN(1));   /* IP_TOS is one byte, as Linux sends it */
	assert_int_equal(*CMSG_DATA(c), 0x28);
	assert_null(CMSG_NXTHDR(&msg, c));
	assert_int_equal(msg.msg_flags & MSG_CTRUNC, 0);
	/* no room: MSG_CTRUNC, nothing written */
	struct msghdr small = { .msg_control = cb.b, .msg_controllen = 8 };
	size_t used = 0;
	shim_dgram_recv_cmsgs(&e, &h, &small, &used);
	assert_int_equal(used, 0);
	assert_true(small.msg_flags & MSG_CTRUNC);
}

static void test_receive_cmsgs_v6_socket(void **state)
{
	(void)state;
	struct shim_fd e = new_fd(AF_INET6, SK_UDP);
	e.recvpktinfo6 = e.recvtclass = true;
	union cmsg_buf cb;
	/* an IPv6 datagram */
	struct shim_dgram_hdr h = rx_hdr("fd42::1", 2, 0x10);
	struct msghdr msg = recv_cmsgs(&e, &h, &cb);
	struct cmsghdr *c = cmsg_after(&msg, NULL);
	assert_int_equal(c->cmsg_level, IPPROTO_IPV6);
	assert_int_equal(c->cmsg_type, IPV6_PKTINFO);
	struct in6_pktinfo pi;
	memcpy(&pi, CMSG_DATA(c), sizeof(pi));
	char a[64];
	inet_ntop(AF_INET6, &pi.ipi6_addr, a, sizeof(a));
	assert_string_equal(a, "fd42::1");
	assert_int_equal(pi.ipi6_ifindex, 2);
	c = cmsg_after(&msg, c);
	assert_int_equal(c->cmsg_type, IPV6_TCLASS);
	int tc;
	memcpy(&tc, CMSG_DATA(c), sizeof(tc));
	assert_int_equal(tc, 0x10);
	/* an IPv4 datagram on the dual-stack socket: the mapped address, no TCLASS */
	h = rx_hdr("172.20.0.1", 2, 0);
	msg = recv_cmsgs(&e, &h, &cb);
	c = cmsg_after(&msg, NULL);
	memcpy(&pi, CMSG_DATA(c), sizeof(pi));
	inet_ntop(AF_INET6, &pi.ipi6_addr, a, sizeof(a));
	assert_string_equal(a, "::ffff:172.20.0.1");
	assert_null(CMSG_NXTHDR(&msg, c));
	/* nothing asked: nothing added */
	e.recvpktinfo6 = e.recvtclass = false;
	size_t used = 0;
	shim_dgram_recv_cmsgs(&e, &h, &msg, &used);
	assert_int_equal(used, 0);
}

/* A send's control buffer with one message. */
static struct msghdr one_cmsg(void *buf, size_t cap, int level, int type, const void *d,
			      size_t len)
{
	struct msghdr m = { .msg_control = buf, .msg_controllen = CMSG_SPACE(len) };
	assert_true(CMSG_SPACE(len) <= cap);
	memset(buf, 0, CMSG_SPACE(len));
	struct cmsghdr *c = cmsg_after(&m, NULL);
	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), d, len);
	return m;
}

static void test_send_cmsgs(void **state)
{
	(void)state;
	union {
		struct cmsghdr align;
		uint8_t b[256];
	} cb;
	struct shim_fd e4 = new_fd(AF_INET, SK_UDP), e6 = new_fd(AF_INET6, SK_UDP);
	struct shim_dgram_hdr h;
	char a[64];
	/* IP_PKTINFO: the source is ipi_spec_dst, the interface ipi_ifindex (ipi_addr ignored) */
	struct in_pktinfo pi4 = { .ipi_ifindex = 2 };
	inet_pton(AF_INET, "172.20.0.5", &pi4.ipi_spec_dst);
	inet_pton(AF_INET, "10.9.9.9", &pi4.ipi_addr);
	struct msghdr m = one_cmsg(cb.b, sizeof(cb.b), IPPROTO_IP, IP_PKTINFO, &pi4, sizeof(pi4));
	memset(&h, 0, sizeof(h));
	assert_int_equal(shim_dgram_send_cmsgs(&e4, &m, &h), 0);
	assert_int_equal(h.local.family, AF_INET);
	inet_ntop(AF_INET, h.local.addr, a, sizeof(a));
	assert_string_equal(a, "172.20.0.5");
	assert_int_equal(h.ifindex, 2);
	/* IPV6_PKTINFO with a mapped source travels as IPv4 */
	struct in6_pktinfo pi6 = { .ipi6_ifindex = 0 };
	inet_pton(AF_INET6, "::ffff:172.20.0.5", &pi6.ipi6_addr);
	m = one_cmsg(cb.b, sizeof(cb.b), IPPROTO_IPV6, IPV6_PKTINFO, &pi6, sizeof(pi6));
	memset(&h, 0, sizeof(h));
	assert_int_equal(shim_dgram_send_cmsgs(&e6, &m, &h), 0);
	assert_int_equal(h.local.family, AF_INET);
	inet_pton(AF_INET6, "fd42::1", &pi6.ipi6_addr);
	m = one_cmsg(cb.b, sizeof(cb.b), IPPROTO_IPV6, IPV6_PKTINFO, &pi6, sizeof(pi6));
	memset(&h, 0, sizeof(h));
	assert_int_equal(shim_dgram_send_cmsgs(&e6, &m, &h), 0);
	assert_int_equal(h.local.family, AF_INET6);
	/* :: leaves the choice to the router */
	memset(&pi6.ipi6_addr, 0, 16);
	m = one_cmsg(cb.b, sizeof(cb.b), IPPROTO_IPV6, IPV6_PKTINFO, &pi6, sizeof(pi6));
	memset(&h, 0, sizeof(h));
	assert_int_equal(shim_dgram_send_cmsgs(&e6, &m, &h), 0);
	assert_int_equal(h.local.family, 0);
	/* IPV6_PKTINFO on an IPv4 socket: EINVAL */
	assert_int_equal(shim_dgram_send_cmsgs(&e4, &m, &h), -EINVAL);
	/* hop limit per message: 1..255, -1 the default; 256 is EINVAL */
	int v = 7;
	m = one_cmsg(cb.b, sizeof(cb.b), IPPROTO_IPV6, IPV6_HOPLIMIT, &v, sizeof(v));
	memset(&h, 0, sizeof(h));
	assert_int_equal(shim_dgram_send_cmsgs(&e6, &m, &h), 0);
	assert_int_equal(h.ttl, 7);
	assert_true(h.flags & SHIM_DGRAM_HAS_TTL);
	v = 256;
	m = one_cmsg(cb.b, sizeof(cb.b), IPPROTO_IPV6, IPV6_HOPLIMIT, &v, sizeof(v));
	assert_int_equal(shim_dgram_send_cmsgs(&e6, &m, &h), -EINVAL);
	v = 0xb8;
	m = one_cmsg(cb.b, sizeof(cb.b), IPPROTO_IP, IP_TOS, &v, sizeof(v));
	memset(&h, 0, sizeof(h));
	assert_int_equal(shim_dgram_send_cmsgs(&e4, &m, &h), 0);
	assert_int_equal(h.tos, 0xb8);
	assert_true(h.flags & SHIM_DGRAM_HAS_TOS);
	/* a truncated IP_PKTINFO */
	m = one_cmsg(cb.b, sizeof(cb.b), IPPROTO_IP, IP_PKTINFO, &pi4, 4);
	assert_int_equal(shim_dgram_send_cmsgs(&e4, &m, &h), -EINVAL);
}

static void test_emsgsize_and_ip_mtu(void **state)
{
	(void)state;
	struct shim_fd e = new_fd(AF_INET, SK_UDP);
	struct shim_dgram_hdr h;
	uint32_t mtu;
	memset(&h, 0, sizeof(h));
	h.peer.family = AF_INET;
	rpc_calls = 0;
	rpc_mtu = 1420;
	/* WANT (default): fragments allowed, only the 64 KiB limit; rrouted is not asked */
	assert_int_equal(shim_dgram_check_size(&e, &h, 4000, &mtu), 0);
	assert_int_equal(shim_dgram_check_size(&e, &h, 65508, &mtu), -EMSGSIZE);
	assert_int_equal(rpc_calls, 0);
	/* DO: up to the path MTU (1420 - 28 bytes of headers) */
	e.opts.pmtudisc = IP_PMTUDISC_DO;
	assert_int_equal(shim_dgram_check_size(&e, &h, 1200, &mtu), 0);   /* under 1280: no question */
	assert_int_equal(rpc_calls, 0);
	assert_int_equal(shim_dgram_check_size(&e, &h, 1392, &mtu), 0);
	assert_int_equal(shim_dgram_check_size(&e, &h, 1393, &mtu), -EMSGSIZE);
	assert_int_equal(mtu, 1420);   /* for the error queue's ee_info */
	assert_int_equal(rpc_calls, 2);
	assert_int_equal(last_req.op, SHIM_OP_PMTU);
	assert_int_equal(last_req.sock_id, 7);
	/* IPv6: IPV6_DONTFRAG alone forbids fragments */
	struct shim_fd e6 = new_fd(AF_INET6, SK_UDP);
	h.peer.family = AF_INET6;
	assert_int_equal(shim_dgram_check_size(&e6, &h, 4000, &mtu), 0);
	e6.opts.flags |= SHIM_OPT_DONTFRAG;
	assert_int_equal(shim_dgram_check_size(&e6, &h, 1372, &mtu), 0);
	assert_int_equal(shim_dgram_check_size(&e6, &h, 1373, &mtu), -EMSGSIZE);
	/* IP_MTU: connected sockets only, the value rrouted gives */
	int v;
	assert_int_equal(getopt_int(&e, IPPROTO_IP, IP_MTU, &v), -ENOTCONN);
	e.connected = true;
	assert_int_equal(getopt_int(&e, IPPROTO_IP, IP_MTU, &v), 0);
	assert_int_equal(v, 1420);
	rpc_err = ENETUNREACH;
	assert_int_equal(getopt_int(&e, IPPROTO_IP, IP_MTU, &v), -ENETUNREACH);
	rpc_err = 0;
}

static void test_memberships(void **state)
{
	(void)state;
	struct shim_fd e = new_fd(AF_INET6, SK_UDP);
	e.sock_id = -1;   /* not bound yet: kept in the shim */
	struct ipv6_mreq mr = { .ipv6mr_interface = 2 };
	inet_pton(AF_INET6, "ff02::1:6", &mr.ipv6mr_multiaddr);
	rpc_calls = 0;
	assert_int_equal(shim_dgram_opt_set(&e, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr)), 2);
	assert_int_equal(shim_dgram_opt_set(&e, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr)),
			 -EADDRINUSE);
	assert_int_equal(e.n_pending_mc, 1);
	assert_int_equal(rpc_calls, 0);
	/* not a group */
	inet_pton(AF_INET6, "fd42::1", &mr.ipv6mr_multiaddr);
	assert_int_equal(shim_dgram_opt_set(&e, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr)),
			 -EINVAL);
	/* RFC 3678 form, IPv4 group, at the IPv4 level */
	struct group_req gr = { .gr_interface = 2 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&gr.gr_group;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, "224.0.0.9", &sin->sin_addr);
	assert_int_equal(shim_dgram_opt_set(&e, IPPROTO_IP, MCAST_JOIN_GROUP, &gr, sizeof(gr)), 2);
	assert_int_equal(e.n_pending_mc, 2);
	assert_int_equal(e.pending_mc[1].family, AF_INET);
	/* the bind: both go to rrouted */
	e.sock_id = 7;
	shim_dgram_after_bind(&e);
	assert_int_equal(rpc_calls, 2);
	assert_int_equal(last_req.op, SHIM_OP_MCAST);
	assert_int_equal(last_req.arg, 1);
	assert_int_equal(last_req.addr.scope_id, 2);
	assert_int_equal(e.n_pending_mc, 0);
	/* from now on at once; a leave too */
	inet_pton(AF_INET6, "ff02::1:6", &mr.ipv6mr_multiaddr);
	assert_int_equal(shim_dgram_opt_set(&e, IPPROTO_IPV6, IPV6_LEAVE_GROUP, &mr, sizeof(mr)), 2);
	assert_int_equal(rpc_calls, 3);
	assert_int_equal(last_req.arg, 0);
	rpc_err = EADDRNOTAVAIL;
	assert_int_equal(shim_dgram_opt_set(&e, IPPROTO_IPV6, IPV6_LEAVE_GROUP, &mr, sizeof(mr)),
			 -EADDRNOTAVAIL);
	rpc_err = 0;
	/* hops, loop, interface */
	int v;
	assert_int_equal(getopt_int(&e, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(set_int(&e, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 256), -EINVAL);
	assert_int_equal(set_int(&e, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, -1), 1);
	assert_int_equal(e.opts.mcast_hops, 1);
	assert_int_equal(set_int(&e, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0), 1);
	assert_int_equal(e.opts.mcast_noloop, 1);
	assert_int_equal(set_int(&e, IPPROTO_IPV6, IPV6_MULTICAST_IF, 9), -ENODEV);
	assert_int_equal(set_int(&e, IPPROTO_IPV6, IPV6_MULTICAST_IF, 2), 1);
	assert_int_equal(e.opts.mcast_ifindex, 2);
	/* SO_PRIORITY 7: kept here, never the kernel's business */
	assert_int_equal(set_int(&e, SOL_SOCKET, SO_PRIORITY, 7), 2);
	assert_int_equal(e.priority, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_option_validation),
		cmocka_unit_test(test_sticky_pktinfo),
		cmocka_unit_test(test_receive_cmsgs_v4),
		cmocka_unit_test(test_receive_cmsgs_v6_socket),
		cmocka_unit_test(test_send_cmsgs),
		cmocka_unit_test(test_emsgsize_and_ip_mtu),
		cmocka_unit_test(test_memberships),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
