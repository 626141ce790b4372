/*
 * librrshim.so: the IPPROTO_TCP options rrouted keeps beyond shim_opts.
 *
 *  - TCP_MD5SIG / TCP_MD5SIG_EXT (RFC 2385 keys, BGP passwords): validated
 *    as Linux validates struct tcp_md5sig, sent to rrouted with
 *    SHIM_OP_TCP_MD5; the key is wiped from our buffers afterwards.
 *  - TCP_USER_TIMEOUT, TCP_CORK, TCP_MAXSEG (the engine uses them),
 *    TCP_QUICKACK, TCP_DEFER_ACCEPT, TCP_FASTOPEN, TCP_FASTOPEN_CONNECT,
 *    TCP_NOTSENT_LOWAT (accepted hints): SHIM_OP_TCP_SETOPT / _GETOPT.
 *  - TCP_INFO: Linux's struct tcp_info, filled by rrouted from the engine.
 *  - TCP_CONGESTION: the engine has one algorithm, CUBIC (stack/tcp_cc.h);
 *    "cubic" is accepted and reported, another name fails with ENOENT as
 *    Linux fails for an algorithm it does not have.
 *  - anything else: ENOPROTOOPT and one log line per option naming the program.
 *
 * A socket that is not in the router yet (no bind/connect so far) gets its
 * router socket created by the first such option (the reply's sock_id); a
 * socket bound to the host's loopback stays the kernel's and takes the
 * option there.
 */
#include <errno.h>
#include <linux/tcp.h>
#include <stdio.h>
#include <string.h>

#include "shim/shim.h"

#define CC_NAME "cubic"
#define CC_NAME_MAX 16   /* TCP_CA_NAME_MAX (a kernel-internal constant) */

static int fail(int err)
{
	errno = err;
	return -1;
}

/* Every IPPROTO_TCP option but those shim.c keeps in shim_opts. */
bool shim_tcp_opt_ours(int name, bool get)
{
	switch (name) {
	case TCP_NODELAY:
	case TCP_KEEPIDLE:
	case TCP_KEEPINTVL:
	case TCP_KEEPCNT:
		return false;
	default:
		return true;
	}
}

/* Integer options rrouted keeps (stack/sock_tcp_opt.c). */
static bool int_opt(int name)
{
	switch (name) {
	case TCP_USER_TIMEOUT:
	case TCP_CORK:
	case TCP_QUICKACK:
	case TCP_DEFER_ACCEPT:
	case TCP_FASTOPEN:
	case TCP_FASTOPEN_CONNECT:
	case TCP_NOTSENT_LOWAT:
	case TCP_MAXSEG:
		return true;
	default:
		return false;
	}
}

static const char *opt_name(int name)
{
	switch (name) {
	case TCP_MAXSEG: return "TCP_MAXSEG";
	case TCP_SYNCNT: return "TCP_SYNCNT";
	case TCP_LINGER2: return "TCP_LINGER2";
	case TCP_WINDOW_CLAMP: return "TCP_WINDOW_CLAMP";
	case TCP_THIN_LINEAR_TIMEOUTS: return "TCP_THIN_LINEAR_TIMEOUTS";
	case TCP_THIN_DUPACK: return "TCP_THIN_DUPACK";
	case TCP_REPAIR: return "TCP_REPAIR";
	case TCP_REPAIR_QUEUE: return "TCP_REPAIR_QUEUE";
	case TCP_QUEUE_SEQ: return "TCP_QUEUE_SEQ";
	case TCP_REPAIR_OPTIONS: return "TCP_REPAIR_OPTIONS";
	case TCP_TIMESTAMP: return "TCP_TIMESTAMP";
	case TCP_NOTSENT_LOWAT: return "TCP_NOTSENT_LOWAT";
	case TCP_CC_INFO: return "TCP_CC_INFO";
	case TCP_SAVE_SYN: return "TCP_SAVE_SYN";
	case TCP_SAVED_SYN: return "TCP_SAVED_SYN";
	case TCP_REPAIR_WINDOW: return "TCP_REPAIR_WINDOW";
	case TCP_ULP: return "TCP_ULP";
	case TCP_MD5SIG: return "TCP_MD5SIG";
	case TCP_MD5SIG_EXT: return "TCP_MD5SIG_EXT";
	case TCP_ZEROCOPY_RECEIVE: return "TCP_ZEROCOPY_RECEIVE";
	case TCP_INQ: return "TCP_INQ";
	case TCP_TX_DELAY: return "TCP_TX_DELAY";
	default: return "an unknown TCP option";
	}
}

/* Linux's errno for a feature it does not have, and one line per option naming the program. */
static int unsupported(int name, bool get)
{
	/* shim_log_once keys are kept by pointer: one static string per option and direction */
	static char keys[2][64][24];
	const char *key = get ? "tcp-get-unknown" : "tcp-set-unknown";
	if (name >= 0 && name < 64) {
		char *k = keys[get][name];
		if (!k[0])
			snprintf(k, sizeof(keys[0][0]), "tcp-%s-%d", get ? "get" : "set", name);
		key = k;
	}
	shim_log_once(key, "%s: %s(IPPROTO_TCP, %s (%d)) is not supported inside the router: "
		      "ENOPROTOOPT", program_invocation_short_name, get ? "getsockopt" : "setsockopt",
		      opt_name(name), name);
	return fail(ENOPROTOOPT);
}

static void req_for(struct shim_req *req, uint32_t op, const struct shim_fd *e)
{
	memset(req, 0, sizeof(*req));
	req->op = op;
	req->sock_id = e->sock_id;
	req->family = e->domain;
	req->type = SOCK_STREAM;
	req->protocol = IPPROTO_TCP;
	req->opts = e->opts;
}

/* After a reply: a socket rrouted created for us keeps its id (still ours to bind/connect). */
static int take_reply(int fd, struct shim_fd *e, int r, const struct shim_rep *rep)
{
	if (r < 0)
		return fail(-r);
	if (rep->err)
		return fail(rep->err);
	if (e->sock_id < 0 && rep->sock_id >= 0) {
		e->sock_id = rep->sock_id;
		shim_fd_put(fd, e);
	}
	return 0;
}

/* struct tcp_md5sig into the wire form, as Linux's tcp_v4/v6_parse_md5_keys checks it. */
static int md5_parse(const struct shim_fd *e, int name, const void *val, socklen_t len,
		     struct shim_tcp_md5 *m)
{
	struct tcp_md5sig k;
	if (!val || len < (socklen_t)sizeof(k))
		return -EINVAL;
	memcpy(&k, val, sizeof(k));
	int r = -EINVAL;
	memset(m, 0, sizeof(*m));
	socklen_t alen = k.tcpm_addr.ss_family == AF_INET ? sizeof(struct sockaddr_in)
						     : sizeof(struct sockaddr_in6);
	if (shim_addr_from_sockaddr(&m->peer, (const struct sockaddr *)&k.tcpm_addr, alen) < 0)
		goto out;
	if (m->peer.family == AF_INET6 && e->domain == AF_INET)
		goto out;
	unsigned full = m->peer.family == AF_INET ? 32 : 128;
	m->prefixlen = (uint8_t)full;
	if (name == TCP_MD5SIG_EXT && (k.tcpm_flags & TCP_MD5SIG_FLAG_PREFIX)) {
		/* a v4-mapped prefix counts in IPv6 bits, as Linux does */
		unsigned pl = k.tcpm_prefixlen;
		if (k.tcpm_addr.ss_family == AF_INET6 && m->peer.family == AF_INET) {
			if (pl < 96)
				goto out;
			pl -= 96;
		}
		if (pl > full)
			goto out;
		m->prefixlen = (uint8_t)pl;
	}
	m->peer.scope_id = 0;
	if (name == TCP_MD5SIG_EXT && (k.tcpm_flags & TCP_MD5SIG_FLAG_IFINDEX)) {
		if (k.tcpm_ifindex < 0)
			goto out;
		m->peer.scope_id = (uint32_t)k.tcpm_ifindex;
	}
	if (k.tcpm_keylen > TCP_MD5SIG_MAXKEYLEN)
		goto out;
	m->keylen = (uint8_t)k.tcpm_keylen;
	memcpy(m->key, k.tcpm_key, k.tcpm_keylen);
	r = 0;
out:
	explicit_bzero(&k, sizeof(k));
	return r;
}

static int set_md5(int fd, struct shim_fd *e, int name, const void *val, socklen_t len)
{
	struct shim_tcp_md5 m;
	int r = md5_parse(e, name, val, len, &m);
	if (r < 0) {
		explicit_bzero(&m, sizeof(m));
		return fail(-r);
	}
	struct shim_req req;
	struct shim_rep rep;
	req_for(&req, SHIM_OP_TCP_MD5, e);
	r = shim_rpc_with_data(&req, &m, sizeof(m), &rep, NULL, 0);
	explicit_bzero(&m, sizeof(m));
	return take_reply(fd, e, r, &rep);
}

static int set_int(int fd, struct shim_fd *e, int name, const void *val, socklen_t len)
{
	int v;
	if (!val || len < (socklen_t)sizeof(int))
		return fail(EINVAL);
	memcpy(&v, val, sizeof(v));
	struct shim_req req;
	struct shim_rep rep;
	req_for(&req, SHIM_OP_TCP_SETOPT, e);
	req.type = name;
	req.arg = v;
	int r = shim_rpc(&req, &rep, NULL, NULL, 0);
	return take_reply(fd, e, r, &rep);
}

static int set_congestion(const void *val, socklen_t len)
{
	char name[CC_NAME_MAX];
	if (!val || len < 1)
		return fail(EINVAL);
	size_t n = len < (socklen_t)sizeof(name) - 1 ? (size_t)len : sizeof(name) - 1;
	memcpy(name, val, n);
	name[n] = '\0';
	if (strcmp(name, CC_NAME) == 0)
		return 0;
	shim_log_once("tcp-congestion", "%s: setsockopt(IPPROTO_TCP, TCP_CONGESTION, \"%s\"): the "
		      "router's TCP has only \"" CC_NAME "\": ENOENT", program_invocation_short_name,
		      name);
	return fail(ENOENT);
}

/*
 * A socket that is the kernel's for good: bound or connected to the host's
 * loopback (the shim leaves those to the kernel). Its options are the kernel's.
 */
static bool kernel_socket(int fd, const struct shim_fd *e)
{
	if (e->loop_bound)
		return true;
	if (e->state == SFD_ROUTER)
		return false;
	/* not in the router yet (perhaps with options rrouted keeps): connected means the kernel's */
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	return shim_real.getpeername(fd, (struct sockaddr *)&ss, &sl) == 0;
}

int shim_tcp_setsockopt(int fd, struct shim_fd *e, int name, const void *val, socklen_t len)
{
	if (kernel_socket(fd, e))
		return shim_real.setsockopt(fd, IPPROTO_TCP, name, val, len);
	switch (name) {
	case TCP_MD5SIG:
	case TCP_MD5SIG_EXT:
		return set_md5(fd, e, name, val, len);
	case TCP_CONGESTION:
		return set_congestion(val, len);
	default:
		if (int_opt(name))
			return set_int(fd, e, name, val, len);
		return unsupported(name, false);
	}
}

int shim_tcp_getsockopt(int fd, const struct shim_fd *e, int name, void *val, socklen_t *len)
{
	if (kernel_socket(fd, e))
		return shim_real.getsockopt(fd, IPPROTO_TCP, name, val, len);
	if (name != TCP_CONGESTION && name != TCP_INFO && !int_opt(name))
		return unsupported(name, true);
	if (!val || !len)
		return fail(EFAULT);
	if (name == TCP_CONGESTION) {
		char cc[CC_NAME_MAX] = CC_NAME;
		socklen_t n = *len < (socklen_t)sizeof(cc) ? *len : (socklen_t)sizeof(cc);
		memcpy(val, cc, n);
		*len = n;
		return 0;
	}
	if (e->sock_id < 0) {
		/* not in the router yet: nothing set, nothing to report but a closed socket */
		if (name != TCP_INFO) {
			int v = name == TCP_MAXSEG ? 536 : 0;   /* Linux's default before a connection */
			socklen_t n = *len < (socklen_t)sizeof(v) ? *len : (socklen_t)sizeof(v);
			memcpy(val, &v, n);
			*len = n;
			return 0;
		}
		struct tcp_info ti;
		memset(&ti, 0, sizeof(ti));
		ti.tcpi_state = 7;   /* TCP_CLOSE */
		socklen_t n = *len < (socklen_t)sizeof(ti) ? *len : (socklen_t)sizeof(ti);
		memcpy(val, &ti, n);
		*len = n;
		return 0;
	}
	struct shim_req req;
	struct shim_rep rep;
	req_for(&req, SHIM_OP_TCP_GETOPT, e);
	req.type = name;
	struct tcp_info ti;
	memset(&ti, 0, sizeof(ti));
	int r = shim_rpc(&req, &rep, NULL, &ti, sizeof(ti));
	if (r < 0)
		return fail(-r);
	if (rep.err)
		return fail(rep.err);
	if (name != TCP_INFO) {
		int v = rep.val;
		socklen_t n = *len < (socklen_t)sizeof(v) ? *len : (socklen_t)sizeof(v);
		memcpy(val, &v, n);
		*len = n;
		return 0;
	}
	/* an older rrouted may know a shorter struct: the rest stays zero, as Linux's would */
	socklen_t n = *len < (socklen_t)sizeof(ti) ? *len : (socklen_t)sizeof(ti);
	memcpy(val, &ti, n);
	*len = n;
	return 0;
}
