/*
 * NETLINK_ROUTE and NETLINK_GENERIC sockets inside the router. The app's fd is one end of a
 * SOCK_SEQPACKET socketpair whose other end rrouted feeds from its rtnetlink
 * emulation, one netlink datagram per message; read/write/recv/send work on
 * it unchanged. Only the addressing (sockaddr_nl), bind and the SOL_NETLINK
 * options need the shim: every message comes from the "kernel" (portid 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shim/shim.h"

static int fail(int err)
{
	errno = err;
	return -1;
}

int shim_netlink_socket(int type, int protocol)
{
	int base = type & 0xf;
	if (base != SOCK_RAW && base != SOCK_DGRAM)
		return fail(ESOCKTNOSUPPORT);
	if (protocol != NETLINK_ROUTE && protocol != NETLINK_GENERIC &&
	    protocol != NETLINK_SOCK_DIAG) {
		shim_log_once("netlink-proto", "socket(AF_NETLINK, protocol %d): only NETLINK_ROUTE, "
			      "NETLINK_GENERIC and NETLINK_SOCK_DIAG exist inside the router: failing with "
			      "EPROTONOSUPPORT", protocol);
		return fail(EPROTONOSUPPORT);
	}
	struct shim_req req;
	struct shim_rep rep;
	int fd = -1;
	shim_req_init(&req, SHIM_OP_NL_OPEN, -1, AF_NETLINK, base, protocol);
	int r = shim_rpc(&req, &rep, &fd, NULL, 0);
	if (r < 0)
		return fail(-r);
	if (rep.err || fd < 0) {
		if (fd >= 0)
			shim_real.close(fd);
		return fail(rep.err ? rep.err : EIO);
	}
	if (type & SOCK_NONBLOCK)
		shim_real.fcntl(fd, F_SETFL, O_NONBLOCK);
	if (!(type & SOCK_CLOEXEC))
		shim_real.fcntl(fd, F_SETFD, 0);
	struct shim_fd e;
	memset(&e, 0, sizeof(e));
	e.state = SFD_ROUTER;
	e.kind = SK_NETLINK;
	e.domain = AF_NETLINK;
	e.type = base;
	e.protocol = protocol;
	e.sock_id = rep.sock_id;
	e.nl_portid = (uint32_t)rep.val;
	e.bound = true;   /* the kernel autobinds netlink sockets on first use; ours at once */
	shim_fd_put(fd, &e);
	return fd;
}

static int nl_rpc(const struct shim_fd *e, uint32_t op, int type, int arg, int *val)
{
	struct shim_req req;
	struct shim_rep rep;
	shim_req_init(&req, op, e->sock_id, 0, type, 0);
	req.arg = arg;
	int r = shim_rpc(&req, &rep, NULL, NULL, 0);
	if (r < 0)
		return fail(-r);
	if (rep.err)
		return fail(rep.err);
	if (val)
		*val = rep.val;
	return 0;
}

int shim_netlink_bind(int fd, struct shim_fd *e, const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_nl nl;
	if (!sa || len < (socklen_t)sizeof(nl))
		return fail(EINVAL);
	memcpy(&nl, sa, sizeof(nl));
	if (nl.nl_family != AF_NETLINK)
		return fail(EINVAL);
	/* A chosen portid must be the one we already have (we cannot renumber). */
	if (nl.nl_pid && nl.nl_pid != e->nl_portid) {
		shim_log_once("netlink-pid", "bind(AF_NETLINK, nl_pid %u): portids are assigned "
			      "by the router (this socket is %u): failing with EADDRINUSE",
			      nl.nl_pid, e->nl_portid);
		return fail(EADDRINUSE);
	}
	if (nl_rpc(e, SHIM_OP_NL_BIND, 0, (int)nl.nl_groups, NULL) < 0)
		return -1;
	e->nl_groups = nl.nl_groups;
	shim_fd_put(fd, e);
	return 0;
}

int shim_netlink_name(const struct shim_fd *e, bool peer, struct sockaddr *sa, socklen_t *len)
{
	if (!len)
		return fail(EFAULT);
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	if (!peer) {
		nl.nl_pid = e->nl_portid;
		nl.nl_groups = e->nl_groups;
	}
	size_t n = *len < (socklen_t)sizeof(nl) ? *len : sizeof(nl);
	if (sa)
		memcpy(sa, &nl, n);
	*len = sizeof(nl);
	return 0;
}

int shim_netlink_setsockopt(int fd, struct shim_fd *e, int level, int name, const void *val,
			    socklen_t len)
{
	if (level != SOL_NETLINK)
		return shim_real.setsockopt(fd, level, name, val, len);   /* buffer sizes etc. */
	int v;
	if (!val || len < (socklen_t)sizeof(int))
		return fail(EINVAL);
	memcpy(&v, val, sizeof(v));
	return nl_rpc(e, SHIM_OP_NL_SETOPT, name, v, NULL);
}

int shim_netlink_getsockopt(int fd, const struct shim_fd *e, int level, int name, void *val,
			    socklen_t *len)
{
	int v;
	if (level == SOL_SOCKET && (name == SO_DOMAIN || name == SO_PROTOCOL || name == SO_TYPE)) {
		v = name == SO_DOMAIN ? AF_NETLINK : name == SO_PROTOCOL ? e->protocol : e->type;
	} else if (level != SOL_NETLINK) {
		return shim_real.getsockopt(fd, level, name, val, len);
	} else if (nl_rpc(e, SHIM_OP_NL_GETOPT, name, 0, &v) < 0) {
		return -1;
	}
	if (!val || !len || *len < (socklen_t)sizeof(int))
		return fail(EINVAL);
	memcpy(val, &v, sizeof(v));
	*len = sizeof(v);
	return 0;
}

ssize_t shim_netlink_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct msghdr m = *msg;
	if (m.msg_name && m.msg_namelen >= sizeof(struct sockaddr_nl)) {
		const struct sockaddr_nl *to = m.msg_name;
		if (to->nl_pid != 0 || to->nl_groups != 0) {
			shim_log_once("netlink-unicast", "sendmsg to netlink portid %u / groups 0x%x: "
				      "only the kernel (portid 0) is reachable: failing with "
				      "ECONNREFUSED", to->nl_pid, to->nl_groups);
			return fail(ECONNREFUSED);
		}
	}
	m.msg_name = NULL;
	m.msg_namelen = 0;
	return shim_real.sendmsg(fd, &m, flags);
}

ssize_t shim_netlink_recvmsg(int fd, struct msghdr *msg, int flags)
{
	void *name = msg->msg_name;
	socklen_t namelen = msg->msg_namelen;
	msg->msg_name = NULL;
	msg->msg_namelen = 0;
	ssize_t n = shim_real.recvmsg(fd, msg, flags);
	msg->msg_name = name;
	msg->msg_namelen = namelen;
	if (n >= 0 && name) {
		struct sockaddr_nl from = { .nl_family = AF_NETLINK };   /* the kernel */
		size_t c = namelen < (socklen_t)sizeof(from) ? namelen : sizeof(from);
		memcpy(name, &from, c);
		msg->msg_namelen = sizeof(from);
	}
	return n;
}
