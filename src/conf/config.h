/*
 * rrouted.conf and the wg-quick interface files it points at, parsed into
 * plain structs. Parsing does all validation (keys, addresses, ranges,
 * endpoint resolution); the daemon only consumes a config that loaded cleanly.
 * Every error names its file and line.
 */
#ifndef RR_CONF_CONFIG_H
#define RR_CONF_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crypto/crypto.h"
#include "ip/addr.h"
#include "ip/netif.h"

#define IFACE_NAME_MAX NETIF_NAME_MAX   /* checked by netif_name_valid (ip/netif.h) */
#define CONF_MAX_ERRORS 32
#define CONF_ERROR_LEN 384
#define MTU_DEFAULT 1420
#define MTU_MIN 1280                 /* IPv6 minimum: every interface carries IPv6 */

struct conf_errors {
	unsigned count;                  /* may exceed CONF_MAX_ERRORS; extra ones are dropped */
	char msg[CONF_MAX_ERRORS][CONF_ERROR_LEN];   /* "file:line: message" */
};

struct wg_peer_conf {
	int line;                        /* line of its [Peer] header */
	uint8_t public_key[CRYPTO_KEY_LEN];
	bool has_psk;
	uint8_t psk[CRYPTO_KEY_LEN];
	bool has_endpoint;
	char endpoint_text[256];         /* as written, for messages */
	union sockaddr_inet endpoint;    /* resolved at load time */
	/*
	 * The Endpoint host is a name, not an address: the daemon re-resolves it
	 * (reresolve-dns). With CONF_DEFER_NAMES it is not looked up at all:
	 * has_endpoint stays false until the daemon's resolver finds it.
	 */
	bool endpoint_is_name;
	char endpoint_host[256];
	uint16_t endpoint_port;
	/*
	 * Endpoint = ws://host[:port]/path or wss://…: the peer is reached over
	 * a WebSocket (ws/ws_transport.h); the URL is endpoint_text, has_endpoint
	 * and endpoint_is_name stay false. EndpointPin = sha256/BASE64 pins the
	 * SHA-256 of the server certificate's public key (SubjectPublicKeyInfo).
	 */
	bool endpoint_is_ws;
	bool has_endpoint_pin;
	uint8_t endpoint_pin[32];
	struct ip_prefix *allowed_ips;   /* masked */
	size_t n_allowed_ips;
	uint16_t persistent_keepalive;   /* seconds, 0 = off */
};

enum table_mode { TABLE_AUTO, TABLE_OFF, TABLE_ID };

struct wg_iface_conf {
	char name[IFACE_NAME_MAX + 1];   /* from the file name NAME.conf */
	char path[PATH_MAX];
	uint8_t private_key[CRYPTO_KEY_LEN];
	bool has_listen_port;
	uint16_t listen_port;
	/* ListenWebSocket = [ADDR:]PORT ($PORT / ${PORT} from the environment); no ADDR: [::] and 0.0.0.0. */
	bool has_listen_ws;
	union sockaddr_inet listen_ws;
	bool listen_ws_any;
	struct ip_prefix *addresses;     /* host bits kept: 172.20.1.1/24 */
	size_t n_addresses;
	uint16_t mtu;                    /* MTU_DEFAULT unless set */
	enum table_mode table;
	uint32_t table_id;
	char **pre_up, **post_up, **pre_down, **post_down;   /* commands, in order */
	size_t n_pre_up, n_post_up, n_pre_down, n_post_down;
	struct wg_peer_conf *peers;
	size_t n_peers;
	unsigned ignored_keys;           /* CONF_IGNORED_* seen (accepted, not used) */
};

/*
 * wg-quick keys rrouted accepts but does not use: DNS (no resolver to set),
 * FwMark (no kernel routing to mark for), SaveConfig (the file is never
 * written back). Nothing is stored; the daemon may warn from these bits.
 */
#define CONF_IGNORED_DNS        0x1u
#define CONF_IGNORED_FWMARK     0x2u
#define CONF_IGNORED_SAVECONFIG 0x4u

enum route_type { ROUTE_UNICAST, ROUTE_UNREACHABLE, ROUTE_BLACKHOLE, ROUTE_PROHIBIT };

struct route_conf {
	int line;
	struct ip_prefix prefix;         /* masked */
	enum route_type type;
	bool has_gateway;
	struct ip_addr gateway;          /* may be IPv6 for an IPv4 prefix */
	char dev[IFACE_NAME_MAX + 1];    /* "" when not given */
};

#define EXEC_NAME_MAX 63

/* A program rrouted runs inside its network and restarts when it exits ([exec] NAME = COMMAND). */
struct exec_conf {
	int line;
	char name[EXEC_NAME_MAX + 1];
	char *command;                   /* run with /bin/sh -c */
};

#define CONF_BATCH_HOLD_US_MAX 10000

struct router_conf {
	char path[PATH_MAX];
	char interfaces_dir[PATH_MAX];   /* absolute or relative to the cwd, resolved from the conf's dir */
	char control_path[PATH_MAX];     /* default $XDG_RUNTIME_DIR/rrouted.sock */
	char private_dir[PATH_MAX];      /* "" or the default socket directory, to create 0700 */
	char log_level[16];              /* "" or error|warn|info|debug */
	struct route_conf *routes;
	size_t n_routes;
	struct wg_iface_conf *ifaces;    /* sorted by name */
	size_t n_ifaces;
	struct exec_conf *execs;         /* in file order */
	size_t n_execs;
	bool has_metrics;                /* metrics = ADDR:PORT (a loopback address) was given */
	/* batch_hold_us: after a round with traffic, wait this long before the next (0: off) */
	uint32_t batch_hold_us;
	union sockaddr_inet metrics_addr;
};

/* Loads path and every DIR/NAME.conf. 0 on success; -1 with errs filled. */
int router_conf_load(const char *path, struct router_conf *out, struct conf_errors *errs);
/* One wg-quick file on its own (used by the above and by tests). */
int wg_iface_conf_load(const char *path, const char *name, struct wg_iface_conf *out,
		       struct conf_errors *errs);
/* Frees everything and wipes private and preshared keys. */
void router_conf_free(struct router_conf *conf);
void wg_iface_conf_free(struct wg_iface_conf *iface);

void conf_error(struct conf_errors *errs, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Added. errs is appended to (zero it before the first call); a load fails
 * when it added an error. On failure out is already freed (all zero), and
 * freeing it again is harmless.
 *
 * Parsing from memory, for tests and the fuzzer. path_for_messages names the
 * text in errors; for the router file it also anchors relative paths.
 */
#define CONF_NUMERIC_ONLY    0x1u    /* Endpoint hosts must be numeric: never DNS */
#define CONF_SKIP_INTERFACES 0x2u    /* router: do not read the interfaces directory,
					and so do not check route dev names */
#define CONF_DEFER_NAMES     0x4u    /* Endpoint names are left for the daemon to resolve
					(endpoint_is_name, has_endpoint false): loading
					never blocks on DNS and never fails on it */
/* The loaders with flags (CONF_DEFER_NAMES); the plain ones pass 0. */
int router_conf_load_flags(const char *path, unsigned flags, struct router_conf *out,
			   struct conf_errors *errs);
int wg_iface_conf_load_flags(const char *path, const char *name, unsigned flags,
			     struct wg_iface_conf *out, struct conf_errors *errs);
int wg_iface_conf_parse_string(const char *text, const char *path_for_messages,
			       const char *name, unsigned flags,
			       struct wg_iface_conf *out, struct conf_errors *errs);
int router_conf_parse_string(const char *text, const char *path_for_messages,
			     unsigned flags, struct router_conf *out,
			     struct conf_errors *errs);
/*
 * Writes the config back in the syntax it was read from (endpoints as the
 * resolved numeric address), so print -> parse gives the same structs.
 * Keys are printed only with with_secrets, as "(hidden)" otherwise; a buffer
 * that received secrets is the caller's to wipe (fmemopen on a fixed buffer
 * does not leave copies behind, open_memstream does). 0, or -1 on a write error.
 */
int wg_iface_conf_print(FILE *f, const struct wg_iface_conf *iface, bool with_secrets);
/* The [router] section only; interface files are printed one by one. */
int router_conf_print(FILE *f, const struct router_conf *conf);

#endif
