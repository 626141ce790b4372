/*
 * TCP for the router's own addresses (RFC 9293): the protocol engine only.
 * It takes segments the IP layer delivers to us, keeps a send and a receive
 * buffer per connection, and emits segments as whole IP packets through
 * ops->output. It knows nothing of sockets or the shim: the socket layer
 * (stack/sock.c) moves bytes between these buffers and the applications'
 * socketpairs, and is told about progress through the ops callbacks.
 *
 * Timers run on the router's event loop (core/loop.h), so tests drive a
 * whole conversation with a manual clock.
 *
 * Threading: none; everything runs on the loop thread.
 */
#ifndef RR_STACK_TCP_H
#define RR_STACK_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "core/pbuf.h"
#include "ip/addr.h"
#include "ip/packet.h"

/* An address, port and (for link-local addresses) the interface index. */
struct tcp_endpoint {
	struct ip_addr addr;
	uint16_t port;        /* host order */
	uint32_t scope_id;    /* ifindex for link-local, else 0 */
};

struct tcp_stack;
struct tcp_conn;
struct tcp_listener;
struct tcp_md5_keyset;

enum tcp_state {
	TCP_CLOSED, TCP_LISTEN, TCP_SYN_SENT, TCP_SYN_RECEIVED, TCP_ESTABLISHED,
	TCP_FIN_WAIT_1, TCP_FIN_WAIT_2, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK, TCP_TIME_WAIT,
};

struct tcp_ops {
	/* Sends a complete IP packet (IPv4 or IPv6 header + TCP segment). Consumes b. */
	void (*output)(void *ctx, struct pbuf *b, uint32_t scope_id);
	/* The MTU toward dst (for the MSS we announce and the segments we send); 0: unknown (1280). */
	uint16_t (*path_mtu)(void *ctx, const struct tcp_endpoint *dst);
	/* A connection completed the handshake on listener l and waits in its accept queue. */
	void (*on_accept_ready)(void *ctx, struct tcp_listener *l);
	/* An active open finished: err 0 (established) or a positive errno (ECONNREFUSED, ETIMEDOUT...). */
	void (*on_connected)(void *ctx, struct tcp_conn *c, int err);
	/* New bytes (or the peer's FIN) can be read with tcp_recv. */
	void (*on_readable)(void *ctx, struct tcp_conn *c);
	/* Send-buffer space was freed (bytes acknowledged): tcp_send will take more. */
	void (*on_writable)(void *ctx, struct tcp_conn *c);
	/*
	 * The connection is dead: reset by the peer, timed out, or fully closed.
	 * err is 0 for an orderly close, else ECONNRESET / ETIMEDOUT / EPIPE...
	 * After this the socket layer must call tcp_release(c) once it is done with c.
	 */
	void (*on_closed)(void *ctx, struct tcp_conn *c, int err);
};

struct tcp_options {
	bool nodelay;          /* TCP_NODELAY: no Nagle */
	bool cork;             /* TCP_CORK: no partial segments until cleared (then pushed) */
	bool keepalive;        /* SO_KEEPALIVE */
	uint8_t ttl;           /* IP_TTL / IPV6_UNICAST_HOPS; 0 = 64 */
	uint32_t keepidle_s, keepintvl_s, keepcnt;   /* 0 = defaults 7200/75/9 */
	uint8_t tos;           /* IP_TOS / IPV6_TCLASS */
	uint8_t min_ttl;       /* IP_MINTTL (GTSM, RFC 5082): drop segments below it; 0 = off */
	uint16_t user_mss;     /* TCP_MAXSEG: bounds the MSS announced and used; 0 = path MTU */
	uint32_t sndbuf, rcvbuf;   /* bytes; 0 = defaults */
	uint32_t user_timeout_ms;  /* TCP_USER_TIMEOUT: give up when data stays unacknowledged
				      this long (ETIMEDOUT); 0 = the retry count decides */
	/*
	 * TCP_MD5SIG keys (RFC 2385) of the socket, or NULL for none. Not kept:
	 * a connection copies the key for its peer (tcp_connect,
	 * tcp_set_options), a listener all of them (tcp_listen,
	 * tcp_listener_set_md5) and each connection it accepts its peer's.
	 */
	const struct tcp_md5_keyset *md5;
};

struct tcp_stats {
	uint64_t active_opens, passive_opens, resets_sent, resets_received;
	uint64_t segments_in, segments_out, retransmits, fast_retransmits, timeouts;
	uint64_t syn_backlog_drops, bad_segments;
	uint32_t connections;   /* live connections, TIME-WAIT included */
	uint64_t syncookies_sent, syncookies_ok;   /* SYN queue full: answered statelessly */
	/* RFC 2385 drops, as Linux counts them (TCPMD5NotFound, TCPMD5Unexpected, TCPMD5Failure) */
	uint64_t md5_not_found, md5_unexpected, md5_failure;
};

/* tcp_stack_new: NULL when out of memory. ops and ctx are kept. */
struct tcp_stack *tcp_stack_new(struct loop *loop, const struct tcp_ops *ops, void *ctx);
/* Frees everything; no callbacks are made. */
void tcp_stack_free(struct tcp_stack *s);
const struct tcp_stats *tcp_stack_stats(const struct tcp_stack *s);

/*
 * A segment the IP layer delivers to one of our addresses (pkt parsed, b
 * holds it). Answers with RST when nothing listens. Consumes b.
 * ingress_ifindex becomes the scope of link-local connections.
 */
void tcp_input(struct tcp_stack *s, struct pbuf *b, const struct ip_packet *pkt,
	       uint32_t ingress_ifindex);

/* Passive open on local (addr family 0 = any address of that family... see below). */
int tcp_listen(struct tcp_stack *s, const struct tcp_endpoint *local, bool any_addr,
	       int family, unsigned backlog, const struct tcp_options *opt,
	       struct tcp_listener **out);
/* Replaces the listener's TCP_MD5SIG keys by a copy of ks (NULL: none). 0 or -ENOMEM. */
int tcp_listener_set_md5(struct tcp_listener *l, const struct tcp_md5_keyset *ks);
/* Stops listening; connections still in its queue are reset. */
void tcp_listener_close(struct tcp_listener *l);
/* Takes an established connection from the accept queue; NULL when empty. */
struct tcp_conn *tcp_accept(struct tcp_listener *l);
void tcp_listener_set_user(struct tcp_listener *l, void *user);
void *tcp_listener_user(const struct tcp_listener *l);

/*
 * Active open from local (port 0: an ephemeral port is chosen) to remote.
 * Completion is reported through on_connected. 0 or -errno
 * (-EADDRINUSE, -ENOMEM, -EINVAL).
 */
int tcp_connect(struct tcp_stack *s, const struct tcp_endpoint *local,
		const struct tcp_endpoint *remote, const struct tcp_options *opt,
		struct tcp_conn **out);

/* Appends up to len bytes to the send buffer; returns how many were taken (0 when full),
 * or -EPIPE / -ENOTCONN. */
long tcp_send(struct tcp_conn *c, const void *data, size_t len);
/* Copies up to len received bytes out (opening the window); 0 with *eof set after FIN. */
size_t tcp_recv(struct tcp_conn *c, void *buf, size_t len, bool *eof);
size_t tcp_send_space(const struct tcp_conn *c);
size_t tcp_recv_available(const struct tcp_conn *c);
/* Half-close: FIN after the buffered data (shutdown(SHUT_WR)). */
void tcp_shutdown_send(struct tcp_conn *c);
/* close(): FIN (or RST if unread data remains); the TCB lives on through FIN-WAIT/TIME-WAIT
 * on its own. The socket layer must not touch c afterwards. */
void tcp_close(struct tcp_conn *c);
/* Sends RST and drops the connection (SO_LINGER 0, errors). No more callbacks. */
void tcp_abort(struct tcp_conn *c);
/* After on_closed: frees c. */
void tcp_release(struct tcp_conn *c);

void tcp_set_options(struct tcp_conn *c, const struct tcp_options *opt);
void tcp_conn_set_user(struct tcp_conn *c, void *user);
void *tcp_conn_user(const struct tcp_conn *c);
enum tcp_state tcp_conn_state(const struct tcp_conn *c);
void tcp_conn_endpoints(const struct tcp_conn *c, struct tcp_endpoint *local,
			struct tcp_endpoint *remote);
const char *tcp_state_name(enum tcp_state st);
/* Connections waiting in l's accept queue, and its backlog (ss, and TCP_INFO of a listener). */
void tcp_listener_queue(const struct tcp_listener *l, unsigned *queued, unsigned *backlog);

/* What getsockopt(TCP_INFO) reports, in the engine's units (see sock_tcp_opt.c for Linux's). */
struct tcp_conn_info {
	enum tcp_state state;
	uint8_t retransmits;        /* consecutive timeouts of the current segment (backoff) */
	uint8_t probes, backoff;
	bool sack, wscale, md5;
	uint8_t snd_wscale, rcv_wscale;
	uint32_t rto_us, snd_mss, rcv_mss;
	uint32_t unacked, sacked, lost, retrans;   /* bytes */
	uint32_t last_data_sent_ms, last_data_recv_ms, last_ack_recv_ms;
	uint32_t rtt_us, rttvar_us, min_rtt_us;
	uint32_t snd_ssthresh, snd_cwnd;           /* bytes */
	uint32_t rcv_space, snd_wnd, rcv_wnd;      /* bytes */
	uint32_t total_retrans;                    /* segments retransmitted, ever */
	uint64_t bytes_acked, bytes_received, bytes_sent, bytes_retrans;
	uint32_t segs_out, segs_in, data_segs_out, data_segs_in;
	uint64_t delivery_rate;                    /* bytes per second (0: unknown) */
	uint32_t notsent_bytes;
};
void tcp_conn_info(const struct tcp_conn *c, struct tcp_conn_info *out);

/*
 * Notes on callbacks: a failed active open gets on_connected(err) followed
 * by on_closed(err). An orderly on_closed(0) is delivered only once the
 * application has read every byte (tcp_recv drained it). Callbacks are never
 * made from inside tcp_send/tcp_recv/tcp_close/...: what those calls cause
 * is delivered from a deferred loop hook.
 */
/* Bytes a connection holds now (TCB + buffers), for memory accounting. */
size_t tcp_conn_memory(const struct tcp_conn *c);
/* Tests and benchmarks: answer every SYN with a SYN cookie. */
void tcp_stack_force_syncookies(struct tcp_stack *s, bool on);

#endif
