/*
 * wg-quick(8) interface files: [Interface] and [Peer] sections with the keys
 * wg-quick and wg(8) know, case-insensitive like wg-quick. Everything is
 * validated here, including resolving endpoint names, so the daemon only
 * ever sees a usable interface. Errors are collected, not fatal, so a user
 * fixes a file in one round.
 *
 * Stricter than wg-quick on purpose: a single-valued key given twice, or a
 * second [Interface] section, is an error (wg-quick silently keeps the last).
 */
#include "conf/conf_internal.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <sodium.h>

#include "conf/ws_url.h"

enum iface_key {
	IK_PRIVATE_KEY, IK_LISTEN_PORT, IK_ADDRESS, IK_MTU, IK_TABLE,
	IK_PRE_UP, IK_POST_UP, IK_PRE_DOWN, IK_POST_DOWN,
	IK_DNS, IK_FWMARK, IK_SAVE_CONFIG, IK_LISTEN_WS, IK_COUNT
};
static const char *const iface_keys[IK_COUNT] = {
	[IK_PRIVATE_KEY] = "PrivateKey", [IK_LISTEN_PORT] = "ListenPort",
	[IK_ADDRESS] = "Address", [IK_MTU] = "MTU", [IK_TABLE] = "Table",
	[IK_PRE_UP] = "PreUp", [IK_POST_UP] = "PostUp",
	[IK_PRE_DOWN] = "PreDown", [IK_POST_DOWN] = "PostDown",
	[IK_DNS] = "DNS", [IK_FWMARK] = "FwMark", [IK_SAVE_CONFIG] = "SaveConfig",
	[IK_LISTEN_WS] = "ListenWebSocket",
};

enum peer_key {
	PK_PUBLIC_KEY, PK_PRESHARED_KEY, PK_ENDPOINT, PK_ALLOWED_IPS,
	PK_PERSISTENT_KEEPALIVE, PK_ENDPOINT_PIN, PK_COUNT,
	PK_PUBLIC_KEY_OK = PK_COUNT     /* not a key: a flag kept next to the key lines */
};
static const char *const peer_keys[PK_COUNT] = {
	[PK_PUBLIC_KEY] = "PublicKey", [PK_PRESHARED_KEY] = "PresharedKey",
	[PK_ENDPOINT] = "Endpoint", [PK_ALLOWED_IPS] = "AllowedIPs",
	[PK_PERSISTENT_KEEPALIVE] = "PersistentKeepalive",
	[PK_ENDPOINT_PIN] = "EndpointPin",
};

struct wgq_parse {
	struct wg_iface_conf *out;
	const char *path;
	struct conf_errors *errs;
	unsigned flags;
	enum { WS_NONE, WS_INTERFACE, WS_PEER, WS_UNKNOWN } section;
	int iface_line;                 /* its [Interface] header, 0 before one */
	int iface_key_line[IK_COUNT];   /* where single-valued keys were set */
	int (*peer_key_line)[PK_COUNT + 1]; /* the same per peer, parallel to out->peers */
	bool oom;
};

static void out_of_memory(struct wgq_parse *wp, int line)
{
	if (!wp->oom)
		conf_error(wp->errs, wp->path, line, "out of memory");
	wp->oom = true;
}

static void wgq_section(void *user, const char *name, int line)
{
	struct wgq_parse *wp = user;
	struct wg_iface_conf *out = wp->out;

	if (strcasecmp(name, "Interface") == 0) {
		if (wp->iface_line) {
			conf_error(wp->errs, wp->path, line,
				   "a second [Interface] section (the first is on line %d)",
				   wp->iface_line);
			wp->section = WS_UNKNOWN;   /* skip its keys rather than report each */
			return;
		}
		wp->iface_line = line;
		wp->section = WS_INTERFACE;
		return;
	}
	if (strcasecmp(name, "Peer") == 0) {
		struct wg_peer_conf *peers;
		int (*lines)[PK_COUNT + 1];

		wp->section = WS_UNKNOWN;
		if (wp->oom)
			return;
		peers = conf_array_grow(out->peers, out->n_peers, sizeof(*peers), true);
		if (!peers) {
			out_of_memory(wp, line);
			return;
		}
		out->peers = peers;
		lines = conf_array_grow(wp->peer_key_line, out->n_peers, sizeof(*lines), false);
		if (!lines) {
			out_of_memory(wp, line);
			return;
		}
		wp->peer_key_line = lines;
		memset(&peers[out->n_peers], 0, sizeof(peers[0]));
		memset(&lines[out->n_peers], 0, sizeof(lines[0]));
		peers[out->n_peers].line = line;
		out->n_peers++;
		wp->section = WS_PEER;
		return;
	}
	wp->section = WS_UNKNOWN;
	conf_error(wp->errs, wp->path, line,
		   "unknown section '[%s]' (expected [Interface] or [Peer])", name);
}

/* ---- values ---- */

static int parse_port(const char *value, uint16_t *port)
{
	unsigned long v;

	if (conf_parse_uint(value, 65535, &v) != 0 || v == 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

struct list_ctx {
	struct wgq_parse *wp;
	const char *key;
	struct ip_prefix **arr;
	size_t *n;
	bool mask;
};

static void add_prefix(void *user, const char *item, int line)
{
	struct list_ctx *lc = user;
	struct ip_prefix p, *arr;

	if (lc->wp->oom)
		return;
	if (ip_prefix_parse(item, &p) != 0) {
		conf_error(lc->wp->errs, lc->wp->path, line, "%s: '%.64s' is not a valid prefix",
			   lc->key, item);
		return;
	}
	if (lc->mask)
		ip_prefix_mask(&p);
	arr = conf_array_grow(*lc->arr, *lc->n, sizeof(*arr), false);
	if (!arr) {
		out_of_memory(lc->wp, line);
		return;
	}
	*lc->arr = arr;
	arr[(*lc->n)++] = p;
}

static void add_command(struct wgq_parse *wp, const char *key, const char *value, int line,
			char ***arr, size_t *n)
{
	char **grown, *copy;

	if (!*value) {
		conf_error(wp->errs, wp->path, line, "%s: empty command", key);
		return;
	}
	if (wp->oom)
		return;
	grown = conf_array_grow(*arr, *n, sizeof(*grown), false);
	if (!grown) {
		out_of_memory(wp, line);
		return;
	}
	*arr = grown;
	copy = strdup(value);
	if (!copy) {
		out_of_memory(wp, line);
		return;
	}
	grown[(*n)++] = copy;
}

static void parse_table(struct wgq_parse *wp, const char *value, int line)
{
	unsigned long id;

	if (strcasecmp(value, "off") == 0) {
		wp->out->table = TABLE_OFF;
	} else if (strcasecmp(value, "auto") == 0) {
		wp->out->table = TABLE_AUTO;
	} else if (conf_parse_uint(value, UINT32_MAX, &id) == 0 && id != 0) {
		wp->out->table = TABLE_ID;
		wp->out->table_id = (uint32_t)id;
	} else {
		conf_error(wp->errs, wp->path, line,
			   "Table: '%.32s' is not off, auto or a table number (1..4294967295)", value);
	}
}

static void parse_endpoint(struct wgq_parse *wp, struct wg_peer_conf *peer, const char *value,
			   int line)
{
	char host[256];
	const char *port_text;
	size_t hlen;
	uint16_t port;

	if (strlen(value) >= sizeof(peer->endpoint_text)) {
		conf_error(wp->errs, wp->path, line, "Endpoint: longer than %zu characters",
			   sizeof(peer->endpoint_text) - 1);
		return;
	}
	if (strstr(value, "://")) {
		struct ws_url url;
		const char *why = "";
		if (ws_url_parse(value, &url, &why) < 0) {
			conf_error(wp->errs, wp->path, line, "Endpoint: '%s': %s", value, why);
			return;
		}
		peer->endpoint_is_ws = true;
		snprintf(peer->endpoint_text, sizeof(peer->endpoint_text), "%s", value);
		return;
	}
	if (value[0] == '[') {
		const char *close = strchr(value, ']');
		if (!close || close[1] != ':') {
			conf_error(wp->errs, wp->path, line,
				   "Endpoint: '%s' is not [address]:port", value);
			return;
		}
		hlen = (size_t)(close - value - 1);
		memcpy(host, value + 1, hlen);
		port_text = close + 2;
	} else {
		const char *colon = strrchr(value, ':');
		if (!colon) {
			conf_error(wp->errs, wp->path, line,
				   "Endpoint: '%s' has no port (expected host:port or [address]:port)",
				   value);
			return;
		}
		hlen = (size_t)(colon - value);
		memcpy(host, value, hlen);
		port_text = colon + 1;
		if (memchr(host, ':', hlen)) {
			conf_error(wp->errs, wp->path, line,
				   "Endpoint: '%s': write an IPv6 address in brackets, [address]:port",
				   value);
			return;
		}
	}
	host[hlen] = '\0';
	if (hlen == 0) {
		conf_error(wp->errs, wp->path, line, "Endpoint: '%s' has no host", value);
		return;
	}
	if (parse_port(port_text, &port) != 0) {
		conf_error(wp->errs, wp->path, line,
			   "Endpoint: '%s' has an invalid port (expected 1..65535)", value);
		return;
	}

	struct addrinfo hints = {
		.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM, .ai_protocol = IPPROTO_UDP,
		.ai_flags = AI_NUMERICHOST,
	};
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0 && !(wp->flags & CONF_NUMERIC_ONLY)) {
		peer->endpoint_is_name = true;
		snprintf(peer->endpoint_host, sizeof(peer->endpoint_host), "%s", host);
		peer->endpoint_port = port;
		snprintf(peer->endpoint_text, sizeof(peer->endpoint_text), "%s", value);
		if (wp->flags & CONF_DEFER_NAMES)
			return;   /* the daemon resolves it, off its event loop */
		hints.ai_flags = 0;
		rc = getaddrinfo(host, NULL, &hints, &res);
	}
	if (rc != 0) {
		if (wp->flags & CONF_NUMERIC_ONLY)
			conf_error(wp->errs, wp->path, line,
				   "Endpoint: '%s' is not a numeric address (name lookups are off)",
				   host);
		else
			conf_error(wp->errs, wp->path, line, "Endpoint: cannot resolve '%s': %s",
				   host, gai_strerror(rc));
		return;
	}
	/* The first answer, in the order getaddrinfo ranks them, like wg(8). */
	bool found = sockaddr_inet_from_addrinfo(&peer->endpoint, res, port);
	freeaddrinfo(res);
	if (!found) {
		conf_error(wp->errs, wp->path, line, "Endpoint: '%s' has no IPv4 or IPv6 address",
			   host);
		return;
	}
	snprintf(peer->endpoint_text, sizeof(peer->endpoint_text), "%s", value);
	peer->has_endpoint = true;
}

static const char BAD_KEY[] = "not a valid key (expected 44 characters of base64, as 'wg genkey' prints)";

/* ---- keys ---- */

/* ListenWebSocket = [ADDR:]PORT, where PORT may be $NAME or ${NAME} from the environment. */
static void parse_listen_ws(struct wgq_parse *wp, const char *value, int line)
{
	struct wg_iface_conf *out = wp->out;
	char host[64] = "";
	const char *port_text = value;
	const char *colon = strrchr(value, ':');
	if (colon && value[0] != '$') {
		size_t hlen = (size_t)(colon - value);
		const char *h = value;
		if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']')
			h++, hlen -= 2;
		if (hlen == 0 || hlen >= sizeof(host)) {
			conf_error(wp->errs, wp->path, line,
				   "ListenWebSocket: '%.64s' is not [ADDR:]PORT", value);
			return;
		}
		memcpy(host, h, hlen);
		host[hlen] = '\0';
		port_text = colon + 1;
	}
	char var[64];
	if (port_text[0] == '$') {
		const char *name = port_text + 1;
		size_t nlen = strlen(name);
		if (name[0] == '{') {
			name++;
			nlen = nlen >= 2 && name[nlen - 2] == '}' ? nlen - 2 : 0;
		}
		if (nlen == 0 || nlen >= sizeof(var)) {
			conf_error(wp->errs, wp->path, line,
				   "ListenWebSocket: '%.64s': expected $NAME or ${NAME}", port_text);
			return;
		}
		memcpy(var, name, nlen);
		var[nlen] = '\0';
		port_text = getenv(var);
		if (!port_text) {
			conf_error(wp->errs, wp->path, line,
				   "ListenWebSocket: $%s is not set in the environment", var);
			return;
		}
	}
	uint16_t port;
	if (parse_port(port_text, &port) != 0) {
		conf_error(wp->errs, wp->path, line,
			   "ListenWebSocket: port '%.32s' is not valid (expected 1..65535)", port_text);
		return;
	}
	union sockaddr_inet *a = &out->listen_ws;
	memset(a, 0, sizeof(*a));
	if (!host[0]) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(port);
		out->listen_ws_any = true;
	} else if (inet_pton(AF_INET, host, &a->in4.sin_addr) == 1) {
		a->in4.sin_family = AF_INET;
		a->in4.sin_port = htons(port);
	} else if (inet_pton(AF_INET6, host, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(port);
	} else {
		conf_error(wp->errs, wp->path, line,
			   "ListenWebSocket: '%s' is not an IPv4 or IPv6 address", host);
		return;
	}
	out->has_listen_ws = true;
}

static void interface_key(struct wgq_parse *wp, int k, char *value, int line)
{
	struct wg_iface_conf *out = wp->out;
	const char *key = iface_keys[k];
	unsigned long v;

	switch (k) {
	case IK_PRIVATE_KEY:
		if (key_from_base64(out->private_key, value) != 0)
			conf_error(wp->errs, wp->path, line, "PrivateKey: %s", BAD_KEY);
		break;
	case IK_LISTEN_PORT:
		if (parse_port(value, &out->listen_port) != 0)
			conf_error(wp->errs, wp->path, line,
				   "ListenPort: '%.32s' is not a valid port (expected 1..65535)", value);
		else
			out->has_listen_port = true;
		break;
	case IK_LISTEN_WS:
		parse_listen_ws(wp, value, line);
		break;
	case IK_ADDRESS: {
		/* Interface addresses keep their host bits: 172.20.1.1/24 is an address. */
		struct list_ctx lc = { wp, key, &out->addresses, &out->n_addresses, false };
		conf_split_list(value, add_prefix, &lc, line);
		break;
	}
	case IK_MTU:
		if (conf_parse_uint(value, 65535, &v) != 0 || v < MTU_MIN || v > 1920)
			conf_error(wp->errs, wp->path, line,
				   "MTU: '%.32s' is out of range (expected %d..1920)", value, MTU_MIN);
		else
			out->mtu = (uint16_t)v;
		break;
	case IK_TABLE:
		parse_table(wp, value, line);
		break;
	case IK_PRE_UP:
		add_command(wp, key, value, line, &out->pre_up, &out->n_pre_up);
		break;
	case IK_POST_UP:
		add_command(wp, key, value, line, &out->post_up, &out->n_post_up);
		break;
	case IK_PRE_DOWN:
		add_command(wp, key, value, line, &out->pre_down, &out->n_pre_down);
		break;
	case IK_POST_DOWN:
		add_command(wp, key, value, line, &out->post_down, &out->n_post_down);
		break;
	case IK_DNS:
		out->ignored_keys |= CONF_IGNORED_DNS;
		break;
	case IK_FWMARK:
		out->ignored_keys |= CONF_IGNORED_FWMARK;
		break;
	case IK_SAVE_CONFIG:
		out->ignored_keys |= CONF_IGNORED_SAVECONFIG;
		break;
	}
}

static void peer_key(struct wgq_parse *wp, int k, char *value, int line)
{
	struct wg_iface_conf *out = wp->out;
	struct wg_peer_conf *peer = &out->peers[out->n_peers - 1];
	unsigned long v;

	switch (k) {
	case PK_PUBLIC_KEY: {
		uint8_t key[CRYPTO_KEY_LEN];
		if (key_from_base64(key, value) != 0) {
			conf_error(wp->errs, wp->path, line, "PublicKey: %s", BAD_KEY);
			break;
		}
		for (size_t i = 0; i + 1 < out->n_peers; i++) {
			if (wp->peer_key_line[i][PK_PUBLIC_KEY_OK] &&
			    crypto_equal(out->peers[i].public_key, key, CRYPTO_KEY_LEN)) {
				conf_error(wp->errs, wp->path, line,
					   "PublicKey: the same key as the peer on line %d",
					   out->peers[i].line);
				break;
			}
		}
		memcpy(peer->public_key, key, CRYPTO_KEY_LEN);
		wp->peer_key_line[out->n_peers - 1][PK_PUBLIC_KEY_OK] = 1;
		break;
	}
	case PK_PRESHARED_KEY:
		if (key_from_base64(peer->psk, value) != 0)
			conf_error(wp->errs, wp->path, line, "PresharedKey: %s", BAD_KEY);
		else
			peer->has_psk = true;
		break;
	case PK_ENDPOINT:
		parse_endpoint(wp, peer, value, line);
		break;
	case PK_ENDPOINT_PIN: {
		size_t raw_len = 0;
		if (strncasecmp(value, "sha256/", 7) != 0 ||
		    sodium_base642bin(peer->endpoint_pin, sizeof(peer->endpoint_pin), value + 7,
				      strlen(value + 7), NULL, &raw_len, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    raw_len != sizeof(peer->endpoint_pin))
			conf_error(wp->errs, wp->path, line,
				   "EndpointPin: expected sha256/ and the base64 of 32 bytes (the "
				   "SHA-256 of the server's public key, as openssl prints it)");
		else
			peer->has_endpoint_pin = true;
		break;
	}
	case PK_ALLOWED_IPS: {
		/* Routes, like wg(8): host bits are dropped. */
		struct list_ctx lc = { wp, peer_keys[k], &peer->allowed_ips, &peer->n_allowed_ips,
				       true };
		conf_split_list(value, add_prefix, &lc, line);
		break;
	}
	case PK_PERSISTENT_KEEPALIVE:
		if (strcasecmp(value, "off") == 0)
			peer->persistent_keepalive = 0;
		else if (conf_parse_uint(value, 65535, &v) == 0)
			peer->persistent_keepalive = (uint16_t)v;
		else
			conf_error(wp->errs, wp->path, line,
				   "PersistentKeepalive: '%.32s' is not off or 0..65535 seconds", value);
		break;
	}
}

static bool repeatable_iface_key(int k)
{
	return k == IK_ADDRESS || k == IK_PRE_UP || k == IK_POST_UP || k == IK_PRE_DOWN ||
	       k == IK_POST_DOWN || k == IK_DNS;
}

static void wgq_key(void *user, const char *key, char *value, int line)
{
	struct wgq_parse *wp = user;
	int *key_line;
	int k;

	switch (wp->section) {
	case WS_UNKNOWN:
		return;                     /* reported once, at its header */
	case WS_NONE:
		conf_error(wp->errs, wp->path, line,
			   "'%s' is outside a section (put it under [Interface] or [Peer])", key);
		return;
	case WS_INTERFACE:
		for (k = 0; k < IK_COUNT; k++)
			if (strcasecmp(key, iface_keys[k]) == 0)
				break;
		if (k == IK_COUNT) {
			conf_error(wp->errs, wp->path, line, "unknown key '%s' in [Interface]", key);
			return;
		}
		if (repeatable_iface_key(k)) {
			interface_key(wp, k, value, line);
			return;
		}
		key_line = &wp->iface_key_line[k];
		if (*key_line) {
			conf_error(wp->errs, wp->path, line, "%s: given twice (first on line %d)",
				   iface_keys[k], *key_line);
			return;
		}
		*key_line = line;
		interface_key(wp, k, value, line);
		return;
	case WS_PEER:
		for (k = 0; k < PK_COUNT; k++)
			if (strcasecmp(key, peer_keys[k]) == 0)
				break;
		if (k == PK_COUNT) {
			conf_error(wp->errs, wp->path, line, "unknown key '%s' in [Peer]", key);
			return;
		}
		if (k == PK_ALLOWED_IPS) {
			peer_key(wp, k, value, line);
			return;
		}
		key_line = &wp->peer_key_line[wp->out->n_peers - 1][k];
		if (*key_line) {
			conf_error(wp->errs, wp->path, line, "%s: given twice (first on line %d)",
				   peer_keys[k], *key_line);
			return;
		}
		*key_line = line;
		peer_key(wp, k, value, line);
		return;
	}
}

/* Checks that need the whole file: required keys, a peer that is ourselves. */
static void wgq_finish(struct wgq_parse *wp)
{
	struct wg_iface_conf *out = wp->out;
	uint8_t own_public[CRYPTO_KEY_LEN];
	bool have_own = false;

	if (!wp->iface_line)
		conf_error(wp->errs, wp->path, 0,
			   "no [Interface] section (it must hold the PrivateKey)");
	else if (!wp->iface_key_line[IK_PRIVATE_KEY])
		conf_error(wp->errs, wp->path, wp->iface_line, "[Interface]: missing PrivateKey");
	else
		have_own = x25519_public(own_public, out->private_key) == 0;

	for (size_t i = 0; i < out->n_peers; i++) {
		int pk_line = wp->peer_key_line[i][PK_PUBLIC_KEY];
		if (!pk_line)
			conf_error(wp->errs, wp->path, out->peers[i].line,
				   "[Peer]: missing PublicKey");
		else if (have_own && wp->peer_key_line[i][PK_PUBLIC_KEY_OK] &&
			 crypto_equal(own_public, out->peers[i].public_key,
						  CRYPTO_KEY_LEN))
			conf_error(wp->errs, wp->path, pk_line,
				   "PublicKey: this is the interface's own public key "
				   "(the key of the other end belongs here)");
	}
}

/* Parses text, or the file at path when text is NULL. */
static int wgq_parse_text(const char *text, const char *path, const char *name, unsigned flags,
			  struct wg_iface_conf *out, struct conf_errors *errs)
{
	struct conf_parse_run run;
	struct wgq_parse wp;

	memset(out, 0, sizeof(*out));
	if (!conf_run_start(&run, text, path, errs))
		return -1;
	errs = run.errs;
	out->mtu = MTU_DEFAULT;
	out->table = TABLE_AUTO;
	if (!netif_name_valid(name)) {
		conf_error(errs, path, 0,
			   "'%.32s' is not a valid interface name (1..%d characters of A-Z a-z 0-9 _ = + . -)",
			   name ? name : "", IFACE_NAME_MAX);
		conf_run_finish(&run);
		return -1;
	}
	snprintf(out->name, sizeof(out->name), "%s", name);
	if (snprintf(out->path, sizeof(out->path), "%s", path) >= (int)sizeof(out->path)) {
		conf_error(errs, path, 0, "path is too long");
		conf_run_finish(&run);
		return -1;
	}

	memset(&wp, 0, sizeof(wp));
	wp.out = out;
	wp.path = path;
	wp.errs = errs;
	wp.flags = flags;
	struct conf_ini ini = {
		.path = path, .errs = errs, .user = &wp,
		.section = wgq_section, .key = wgq_key,
	};
	conf_ini_parse(run.text, &ini);
	if (!wp.oom)
		wgq_finish(&wp);
	free(wp.peer_key_line);
	if (!conf_run_finish(&run)) {
		wg_iface_conf_free(out);
		return -1;
	}
	return 0;
}

int wg_iface_conf_parse_string(const char *text, const char *path_for_messages,
			       const char *name, unsigned flags,
			       struct wg_iface_conf *out, struct conf_errors *errs)
{
	return wgq_parse_text(text, path_for_messages, name, flags, out, errs);
}

int wg_iface_conf_load_flags(const char *path, const char *name, unsigned flags,
			     struct wg_iface_conf *out, struct conf_errors *errs)
{
	return wgq_parse_text(NULL, path, name, flags, out, errs);
}

int wg_iface_conf_load(const char *path, const char *name, struct wg_iface_conf *out,
		       struct conf_errors *errs)
{
	return wg_iface_conf_load_flags(path, name, 0, out, errs);
}

static void free_commands(char **cmds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(cmds[i]);
	free(cmds);
}

void wg_iface_conf_free(struct wg_iface_conf *iface)
{
	if (!iface)
		return;
	crypto_wipe(iface->private_key, sizeof(iface->private_key));
	for (size_t i = 0; i < iface->n_peers; i++)
		free(iface->peers[i].allowed_ips);
	if (iface->peers)
		crypto_wipe(iface->peers, iface->n_peers * sizeof(*iface->peers));
	free(iface->peers);
	free(iface->addresses);
	free_commands(iface->pre_up, iface->n_pre_up);
	free_commands(iface->post_up, iface->n_post_up);
	free_commands(iface->pre_down, iface->n_pre_down);
	free_commands(iface->post_down, iface->n_post_down);
	memset(iface, 0, sizeof(*iface));
}

/* ---- printing ---- */

static void print_key(FILE *f, const char *name, const uint8_t key[CRYPTO_KEY_LEN], bool show)
{
	char text[KEY_BASE64_LEN + 1];

	if (!show) {
		fprintf(f, "%s = (hidden)\n", name);
		return;
	}
	key_to_base64(text, key);
	fprintf(f, "%s = %s\n", name, text);
	crypto_wipe(text, sizeof(text));
}

static void print_prefixes(FILE *f, const char *name, const struct ip_prefix *p, size_t n)
{
	char buf[IP_PREFIX_STRLEN];

	if (!n)
		return;
	fprintf(f, "%s = ", name);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? ", " : "", ip_prefix_format(&p[i], buf));
	fputc('\n', f);
}

static void print_commands(FILE *f, const char *name, char *const *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s = %s\n", name, cmds[i]);
}

int wg_iface_conf_print(FILE *f, const struct wg_iface_conf *w, bool with_secrets)
{
	char buf[SOCKADDR_INET_STRLEN];

	fprintf(f, "[Interface]\n");
	print_key(f, "PrivateKey", w->private_key, with_secrets);
	if (w->has_listen_port)
		fprintf(f, "ListenPort = %u\n", w->listen_port);
	if (w->has_listen_ws) {
		if (w->listen_ws_any)
			fprintf(f, "ListenWebSocket = %u\n", ntohs(w->listen_ws.in6.sin6_port));
		else
			fprintf(f, "ListenWebSocket = %s\n",
				sockaddr_inet_format(&w->listen_ws, buf, sizeof(buf)));
	}
	print_prefixes(f, "Address", w->addresses, w->n_addresses);
	fprintf(f, "MTU = %u\n", w->mtu);
	if (w->table == TABLE_OFF)
		fprintf(f, "Table = off\n");
	else if (w->table == TABLE_ID)
		fprintf(f, "Table = %u\n", w->table_id);
	print_commands(f, "PreUp", w->pre_up, w->n_pre_up);
	print_commands(f, "PostUp", w->post_up, w->n_post_up);
	print_commands(f, "PreDown", w->pre_down, w->n_pre_down);
	print_commands(f, "PostDown", w->post_down, w->n_post_down);
	for (size_t i = 0; i < w->n_peers; i++) {
		const struct wg_peer_conf *p = &w->peers[i];
		fprintf(f, "\n[Peer]\n");
		print_key(f, "PublicKey", p->public_key, true);
		if (p->has_psk)
			print_key(f, "PresharedKey", p->psk, with_secrets);
		if (p->has_endpoint)
			fprintf(f, "Endpoint = %s\n", sockaddr_inet_format(&p->endpoint, buf, sizeof(buf)));
		else if (p->endpoint_is_name || p->endpoint_is_ws)
			fprintf(f, "Endpoint = %s\n", p->endpoint_text);   /* not resolved yet, or a URL */
		if (p->has_endpoint_pin) {
			char pin[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
			sodium_bin2base64(pin, sizeof(pin), p->endpoint_pin, sizeof(p->endpoint_pin),
					  sodium_base64_VARIANT_ORIGINAL);
			fprintf(f, "EndpointPin = sha256/%s\n", pin);
		}
		print_prefixes(f, "AllowedIPs", p->allowed_ips, p->n_allowed_ips);
		if (p->persistent_keepalive)
			fprintf(f, "PersistentKeepalive = %u\n", p->persistent_keepalive);
	}
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
