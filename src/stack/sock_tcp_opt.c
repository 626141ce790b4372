/*
 * TCP socket options that do not fit struct shim_opts: TCP_MD5SIG /
 * TCP_MD5SIG_EXT keys (RFC 2385, BGP passwords), TCP_USER_TIMEOUT, and
 * TCP_INFO from the engine's state in Linux's struct tcp_info layout.
 *
 * Keys live per socket in a tcp_md5_keyset (wiped when the socket goes);
 * the engine takes copies: a listener all of them, a connection its peer's.
 * An app may set a key before bind or connect (BIRD does, for its active
 * BGP socket): rrouted then creates the TCP socket unbound, and the shim
 * names it in the bind/connect/listen that follows.
 */
#include <errno.h>
#include <linux/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "crypto/crypto.h"
#include "stack/sock_int.h"
#include "stack/tcp_md5.h"

/* The socket a request names; -1: a new unbound TCP socket of req->family for this client. */
static int sock_for(struct sock_client *c, const struct shim_req *req, struct sock **out)
{
	if (req->sock_id >= 0) {
		struct sock *s = sock_find(c->sl, req->sock_id);
		if (!s)
			return EBADF;
		if (s->kind != SK_TCP && s->kind != SK_TCP_LISTEN && s->kind != SK_TCP_CONN)
			return ENOPROTOOPT;
		*out = s;
		return 0;
	}
	if (req->family != AF_INET && req->family != AF_INET6)
		return EAFNOSUPPORT;
	struct sock *s = sock_new(c->sl, SK_TCP, req->family, c);
	if (!s)
		return errno;
	s->owner = c;   /* freed with the client, or on SHIM_OP_CLOSE, until it has a data fd */
	s->opts = req->opts;
	*out = s;
	return 0;
}

/* Hands the socket's changed options to the engine objects it has. */
static int apply(struct sock *s)
{
	sock_tcp_set_options(s);
	int r = 0;
	if (s->lis)
		r = tcp_listener_set_md5(s->lis, s->md5);
	if (r == 0 && s->lis4)
		r = tcp_listener_set_md5(s->lis4, s->md5);
	return r;
}

static int set_md5(struct sock *s, const void *data, size_t len)
{
	struct shim_tcp_md5 m;
	if (len != sizeof(m))
		return EINVAL;
	memcpy(&m, data, sizeof(m));
	struct ip_addr a;
	memset(&a, 0, sizeof(a));
	int r = EINVAL;
	if (m.peer.family == AF_INET)
		ip_addr_from_v4(&a, m.peer.addr);
	else if (m.peer.family == AF_INET6)
		ip_addr_from_v6(&a, m.peer.addr);
	else
		goto out;
	if (m.keylen > SHIM_TCP_MD5_KEY_MAX || (a.family == AF_INET6 && s->family == AF_INET))
		goto out;
	if (!s->md5) {
		if (!m.keylen) {
			r = ENOENT;
			goto out;
		}
		s->md5 = calloc(1, sizeof(*s->md5));
		if (!s->md5) {
			r = ENOMEM;
			goto out;
		}
	}
	r = -tcp_md5_keyset_set(s->md5, &a, m.prefixlen, m.peer.scope_id, m.key, m.keylen);
	if (r == 0)
		r = -apply(s);
out:
	crypto_wipe(&m, sizeof(m));
	return r;
}

/* Linux's state numbers (include/net/tcp_states.h). */
static uint8_t linux_state(enum tcp_state st)
{
	switch (st) {
	case TCP_ESTABLISHED: return 1;
	case TCP_SYN_SENT: return 2;
	case TCP_SYN_RECEIVED: return 3;
	case TCP_FIN_WAIT_1: return 4;
	case TCP_FIN_WAIT_2: return 5;
	case TCP_TIME_WAIT: return 6;
	case TCP_CLOSED: return 7;
	case TCP_CLOSE_WAIT: return 8;
	case TCP_LAST_ACK: return 9;
	case TCP_LISTEN: return 10;
	case TCP_CLOSING: return 11;
	}
	return 7;
}

/* Linux counts these in segments of snd_mss. */
static uint32_t segs(uint32_t bytes, uint32_t mss)
{
	return mss ? (uint32_t)(((uint64_t)bytes + mss - 1) / mss) : 0;
}

static size_t fill_info(const struct sock *s, uint8_t *out, size_t cap)
{
	struct tcp_info ti;
	memset(&ti, 0, sizeof(ti));
	if (s->kind == SK_TCP_LISTEN && s->lis) {
		unsigned q, backlog;
		tcp_listener_queue(s->lis, &q, &backlog);
		ti.tcpi_state = 10;
		ti.tcpi_unacked = q;        /* as Linux: the accept queue and its limit */
		ti.tcpi_sacked = backlog;
	} else if (s->kind == SK_TCP_CONN && s->conn) {
		struct tcp_conn_info ci;
		tcp_conn_info(s->conn, &ci);
		uint32_t mss = ci.snd_mss;
		ti.tcpi_state = linux_state(ci.state);
		ti.tcpi_retransmits = ci.retransmits;
		ti.tcpi_probes = ci.probes;
		ti.tcpi_backoff = ci.backoff;
		ti.tcpi_options = (ci.sack ? TCPI_OPT_SACK : 0) | (ci.wscale ? TCPI_OPT_WSCALE : 0);
		ti.tcpi_snd_wscale = ci.snd_wscale & 0xf;
		ti.tcpi_rcv_wscale = ci.rcv_wscale & 0xf;
		ti.tcpi_rto = ci.rto_us;
		ti.tcpi_ato = 40000;   /* the engine's delayed-ACK timeout */
		ti.tcpi_snd_mss = mss;
		ti.tcpi_rcv_mss = ci.rcv_mss;
		ti.tcpi_unacked = segs(ci.unacked, mss);
		ti.tcpi_sacked = segs(ci.sacked, mss);
		ti.tcpi_lost = segs(ci.lost, mss);
		ti.tcpi_retrans = segs(ci.retrans, mss);
		ti.tcpi_last_data_sent = ci.last_data_sent_ms;
		ti.tcpi_last_data_recv = ci.last_data_recv_ms;
		ti.tcpi_last_ack_recv = ci.last_ack_recv_ms;
		ti.tcpi_pmtu = ci.rcv_mss + (s->remote.addr.family == AF_INET ? 40 : 60);
		ti.tcpi_rcv_ssthresh = ci.rcv_space;
		ti.tcpi_rtt = ci.rtt_us;
		ti.tcpi_rttvar = ci.rttvar_us;
		/* an unset ssthresh shows as Linux's TCP_INFINITE_SSTHRESH */
		ti.tcpi_snd_ssthresh = ci.snd_ssthresh >= UINT32_MAX / 4 ? 0x7fffffff
									 : segs(ci.snd_ssthresh, mss);
		ti.tcpi_snd_cwnd = mss ? ci.snd_cwnd / mss : 0;
		ti.tcpi_advmss = ci.rcv_mss;
		ti.tcpi_reordering = 3;
		ti.tcpi_rcv_space = ci.rcv_space;
		ti.tcpi_total_retrans = ci.total_retrans;
		ti.tcpi_pacing_rate = ci.delivery_rate;
		ti.tcpi_max_pacing_rate = UINT64_MAX;
		ti.tcpi_bytes_acked = ci.bytes_acked;
		ti.tcpi_bytes_received = ci.bytes_received;
		ti.tcpi_segs_out = ci.segs_out;
		ti.tcpi_segs_in = ci.segs_in;
		ti.tcpi_notsent_bytes = ci.notsent_bytes;
		ti.tcpi_min_rtt = ci.min_rtt_us;
		ti.tcpi_data_segs_in = ci.data_segs_in;
		ti.tcpi_data_segs_out = ci.data_segs_out;
		ti.tcpi_delivery_rate = ci.delivery_rate;
		ti.tcpi_bytes_sent = ci.bytes_sent;
		ti.tcpi_bytes_retrans = ci.bytes_retrans;
		ti.tcpi_snd_wnd = ci.snd_wnd;
	} else {
		ti.tcpi_state = 7;   /* bound only, or a finished connect: CLOSE */
	}
	size_t n = sizeof(ti) < cap ? sizeof(ti) : cap;
	memcpy(out, &ti, n);
	return n;
}

/* The integer options: what getsockopt reports. False: not one of ours. */
static bool get_int(const struct sock *s, int name, int32_t *v)
{
	switch (name) {
	case TCP_USER_TIMEOUT: *v = (int32_t)s->user_timeout_ms; return true;
	case TCP_CORK: *v = s->cork; return true;
	case TCP_QUICKACK: *v = s->quickack; return true;
	case TCP_DEFER_ACCEPT: *v = s->defer_accept; return true;
	case TCP_FASTOPEN: *v = s->fastopen; return true;
	case TCP_FASTOPEN_CONNECT: *v = s->fastopen_connect; return true;
	case TCP_NOTSENT_LOWAT: *v = s->notsent_lowat; return true;
	case TCP_MAXSEG:
		/* Linux: the current MSS of a connection, else what was set, else 536 */
		if (s->conn) {
			struct tcp_conn_info ci;
			tcp_conn_info(s->conn, &ci);
			*v = (int32_t)ci.snd_mss;
		} else {
			*v = s->user_mss ? s->user_mss : 536;
		}
		return true;
	default: return false;
	}
}

/*
 * Sets one; 0 or a positive errno. TCP_USER_TIMEOUT, TCP_CORK and TCP_MAXSEG
 * go to the engine; the others are hints it has no use for
 * (docs/SOCKETS.md): kept so that getsockopt answers what was set.
 */
static int set_int(struct sock *s, int name, int32_t v)
{
	switch (name) {
	case TCP_USER_TIMEOUT:
		if (v < 0)
			return EINVAL;
		s->user_timeout_ms = (uint32_t)v;
		return -apply(s);
	case TCP_CORK:
		s->cork = v != 0;
		return -apply(s);
	case TCP_QUICKACK:
		s->quickack = v != 0;
		return 0;
	case TCP_DEFER_ACCEPT:
		s->defer_accept = v < 0 ? 0 : v;
		return 0;
	case TCP_FASTOPEN:
		if (v < 0)
			return EINVAL;
		s->fastopen = v;
		return 0;
	case TCP_FASTOPEN_CONNECT:
		if (v < 0 || v > 1)
			return EINVAL;
		s->fastopen_connect = v;
		return 0;
	case TCP_NOTSENT_LOWAT:
		s->notsent_lowat = v;
		return 0;
	case TCP_MAXSEG:
		/* Linux's bounds: TCP_MIN_MSS .. MAX_TCP_WINDOW, 0 = back to the path's */
		if (v && (v < 88 || v > 32767))
			return EINVAL;
		s->user_mss = (uint16_t)v;
		return -apply(s);
	default:
		return ENOPROTOOPT;
	}
}

int sock_tcp_opt_request(struct sock_client *c, const struct shim_req *req, const void *data,
			 size_t len, struct shim_rep *rep, uint8_t *out, size_t cap, size_t *out_len)
{
	struct sock *s = NULL;
	bool created = req->sock_id < 0;
	if (req->op == SHIM_OP_TCP_GETOPT) {
		s = sock_find(c->sl, req->sock_id);
		if (!s)
			return EBADF;
		rep->sock_id = s->id;
		switch (req->type) {
		case TCP_INFO:
			*out_len = fill_info(s, out, cap);
			return 0;
		default: {
			int32_t v;
			if (!get_int(s, req->type, &v))
				return ENOPROTOOPT;
			rep->val = v;
			return 0;
		}
		}
	}
	int e = sock_for(c, req, &s);
	if (e)
		return e;
	if (req->op == SHIM_OP_TCP_MD5) {
		e = set_md5(s, data, len);
	} else if (req->op == SHIM_OP_TCP_SETOPT) {
		e = set_int(s, req->type, req->arg);
	} else {
		e = ENOPROTOOPT;
	}
	if (e && created) {
		sock_free(s);
		return e;
	}
	rep->sock_id = s->id;
	return e;
}

int sock_tcp_opt_inherit(struct sock *s, const struct sock *ls)
{
	s->user_timeout_ms = ls->user_timeout_ms;
	s->cork = ls->cork;
	s->user_mss = ls->user_mss;
	s->quickack = ls->quickack;
	if (!ls->md5)
		return 0;
	s->md5 = calloc(1, sizeof(*s->md5));
	if (!s->md5)
		return -ENOMEM;
	return tcp_md5_keyset_copy(s->md5, ls->md5);
}

void sock_tcp_opt_release(struct sock *s)
{
	if (!s->md5)
		return;
	tcp_md5_keyset_clear(s->md5);
	free(s->md5);
	s->md5 = NULL;
}
