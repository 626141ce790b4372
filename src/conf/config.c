/*
 * rrouted.conf, and the INI reader both config files share.
 *
 * Why not libinih: the Debian build (55) passes line numbers but never tells
 * the handler that a section starts, so two consecutive [Peer] sections
 * cannot be told apart; it reports only the first malformed line, splits
 * lines longer than 200 bytes, and its options (multi-line values, ';'
 * inline comments, both wrong for wg-quick files) are process-wide
 * variables. The dialect is small enough to read here, line by line.
 */
#include "conf/conf_internal.h"
#include "core/localsock.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "ip/fib.h"

/* route = … lines are handed to the FIB as they are: the two enums must stay equal. */
_Static_assert((int)FIB_TYPE_UNICAST == (int)ROUTE_UNICAST &&
	       (int)FIB_TYPE_UNREACHABLE == (int)ROUTE_UNREACHABLE &&
	       (int)FIB_TYPE_BLACKHOLE == (int)ROUTE_BLACKHOLE &&
	       (int)FIB_TYPE_PROHIBIT == (int)ROUTE_PROHIBIT,
	       "conf/config.h enum route_type must equal ip/fib.h route types");

/* ---- errors ---- */

void conf_error(struct conf_errors *errs, const char *file, int line, const char *fmt, ...)
{
	char *msg;
	int n;
	va_list ap;

	if (!errs)
		return;
	if (errs->count < CONF_MAX_ERRORS) {
		msg = errs->msg[errs->count];
		if (line > 0)
			n = snprintf(msg, CONF_ERROR_LEN, "%s:%d: ", file, line);
		else
			n = snprintf(msg, CONF_ERROR_LEN, "%s: ", file);
		if (n < 0)
			n = 0;
		if ((size_t)n < CONF_ERROR_LEN) {
			va_start(ap, fmt);
			vsnprintf(msg + n, CONF_ERROR_LEN - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	errs->count++;
}

/* ---- small helpers ---- */

char *conf_trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int conf_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

void *conf_array_grow(void *arr, size_t n, size_t elem, bool wipe)
{
	size_t cap;
	void *fresh;

	if (n != 0 && (n & (n - 1)) != 0)
		return arr;                 /* capacity is the next power of two: room left */
	cap = n ? n * 2 : 1;
	if (cap > ((size_t)-1) / elem)
		return NULL;
	fresh = calloc(cap, elem);
	if (!fresh)
		return NULL;
	if (arr) {
		memcpy(fresh, arr, n * elem);
		if (wipe)
			crypto_wipe(arr, n * elem);
		free(arr);
	}
	return fresh;
}

void conf_split_list(char *value, void (*fn)(void *user, const char *item, int line),
		     void *user, int line)
{
	char *save = NULL;

	/*
	 * wg-quick word-splits its lists after turning commas into spaces, so
	 * "a, b", "a b" and "a,,b," all mean a and b.
	 */
	for (char *item = strtok_r(value, ", \t", &save); item;
	     item = strtok_r(NULL, ", \t", &save)) {
		item = conf_trim(item);
		if (*item)
			fn(user, item, line);
	}
}

/* ---- the INI reader ---- */

void conf_ini_parse(char *text, const struct conf_ini *ini)
{
	char *next;
	int line = 0;

	if (strncmp(text, "\xef\xbb\xbf", 3) == 0)
		text += 3;                  /* a UTF-8 byte order mark, as some editors write */
	for (char *s = text; s; s = next) {
		line++;
		next = strchr(s, '\n');
		if (next)
			*next++ = '\0';
		char *hash = strchr(s, '#');
		if (hash)
			*hash = '\0';
		s = conf_trim(s);
		if (*s == '\0' || *s == ';')
			continue;
		if (*s == '[') {
			size_t n = strlen(s);
			if (s[n - 1] != ']') {
				conf_error(ini->errs, ini->path, line,
					   "a section header must end with ']'");
				continue;
			}
			s[n - 1] = '\0';
			char *name = conf_trim(s + 1);
			if (!*name) {
				conf_error(ini->errs, ini->path, line, "empty section name '[]'");
				continue;
			}
			ini->section(ini->user, name, line);
			continue;
		}
		char *eq = strchr(s, '=');
		if (!eq) {
			/* Not echoed: the line might be a mistyped private key. */
			conf_error(ini->errs, ini->path, line,
				   "expected 'Key = Value' or a [Section] header");
			continue;
		}
		*eq = '\0';
		char *key = conf_trim(s);
		if (!*key) {
			conf_error(ini->errs, ini->path, line, "missing key name before '='");
			continue;
		}
		ini->key(ini->user, key, conf_trim(eq + 1), line);
	}
}

int conf_read_file(const char *path, char **text, size_t *len, struct conf_errors *errs)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd;

	*text = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		conf_error(errs, path, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		conf_error(errs, path, 0, "cannot stat: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		conf_error(errs, path, 0, "not a regular file");
		goto fail;
	}
	if ((unsigned long long)st.st_size > CONF_FILE_MAX) {
		conf_error(errs, path, 0, "file is larger than %u bytes; not a config file?",
			   CONF_FILE_MAX);
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		conf_error(errs, path, 0, "out of memory");
		goto fail;
	}
	/* The size may change under us; read what is there, up to the limit. */
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			conf_error(errs, path, 0, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (memchr(buf, '\0', got)) {
		int line = 1;
		for (const char *p = buf; *p; p++)
			line += *p == '\n';
		conf_error(errs, path, line, "contains a NUL byte; not a text file?");
		goto fail;
	}
	close(fd);
	*text = buf;
	*len = got;
	return 0;
fail:
	if (buf) {
		crypto_wipe(buf, got);
		free(buf);
	}
	close(fd);
	return -1;
}

char *conf_text_get(const char *text, const char *path, size_t *len, struct conf_errors *errs)
{
	char *copy;
	if (!text)
		return conf_read_file(path, &copy, len, errs) == 0 ? copy : NULL;
	*len = strlen(text);
	copy = malloc(*len + 1);
	if (!copy) {
		conf_error(errs, path, 0, "out of memory");
		return NULL;
	}
	memcpy(copy, text, *len + 1);
	return copy;
}

void conf_text_free(char *text, size_t len)
{
	if (!text)
		return;
	crypto_wipe(text, len);
	free(text);
}

bool conf_run_start(struct conf_parse_run *run, const char *text, const char *path,
		    struct conf_errors *errs)
{
	if (!errs) {
		memset(&run->scratch, 0, sizeof(run->scratch));
		errs = &run->scratch;
	}
	run->errs = errs;
	run->errors_before = errs->count;
	run->text = conf_text_get(text, path, &run->len, errs);
	return run->text != NULL;
}

bool conf_run_finish(struct conf_parse_run *run)
{
	conf_text_free(run->text, run->len);
	run->text = NULL;
	return run->errs->count == run->errors_before;
}

/* ---- rrouted.conf ---- */

enum { RK_INTERFACES, RK_CONTROL, RK_LOG_LEVEL, RK_ROUTE, RK_METRICS, RK_BATCH_HOLD_US, RK_COUNT };
static const char *const router_keys[RK_COUNT] = {
	[RK_INTERFACES] = "interfaces", [RK_CONTROL] = "control",
	[RK_LOG_LEVEL] = "log_level", [RK_ROUTE] = "route", [RK_METRICS] = "metrics",
	[RK_BATCH_HOLD_US] = "batch_hold_us",
};

struct router_parse {
	struct router_conf *out;
	const char *path;
	struct conf_errors *errs;
	enum { RS_NONE, RS_ROUTER, RS_EXEC, RS_UNKNOWN } section;
	int key_line[RK_COUNT];
	char dir[PATH_MAX];           /* the conf file's directory, "" for the cwd */
	unsigned flags;               /* CONF_* passed on to the interface files */
	bool oom;
};

/* dir + "/" + rel unless rel is absolute; -1 if it does not fit. */
static int join_path(char out[PATH_MAX], const char *dir, const char *rel)
{
	int n;

	if (rel[0] == '/' || dir[0] == '\0')
		n = snprintf(out, PATH_MAX, "%s", rel);
	else if (strcmp(dir, "/") == 0)
		n = snprintf(out, PATH_MAX, "/%s", rel);
	else
		n = snprintf(out, PATH_MAX, "%s/%s", dir, rel);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

static void router_section(void *user, const char *name, int line)
{
	struct router_parse *rp = user;

	if (strcasecmp(name, "router") == 0) {
		rp->section = RS_ROUTER;
		return;
	}
	if (strcasecmp(name, "exec") == 0) {
		rp->section = RS_EXEC;
		return;
	}
	rp->section = RS_UNKNOWN;
	conf_error(rp->errs, rp->path, line,
		   "unknown section '[%s]' (expected [router] or [exec])", name);
}

static const char *route_type_name(enum route_type t)
{
	switch (t) {
	case ROUTE_UNREACHABLE: return "unreachable";
	case ROUTE_BLACKHOLE: return "blackhole";
	case ROUTE_PROHIBIT: return "prohibit";
	default: return "unicast";
	}
}

#define ROUTE_SYNTAX "expected 'PREFIX [via GATEWAY] [dev IFACE]' or 'PREFIX unreachable|blackhole|prohibit'"

/* The route's PREFIX (tok), without host bits; false: not one (said). */
static bool route_prefix(struct router_parse *rp, const char *tok, int line, struct route_conf *r)
{
	char buf[IP_PREFIX_STRLEN];
	if (ip_prefix_parse(tok, &r->prefix) != 0) {
		conf_error(rp->errs, rp->path, line, "route: '%.64s' is not a valid prefix", tok);
		return false;
	}
	if (ip_prefix_has_host_bits(&r->prefix)) {
		struct ip_prefix m = r->prefix;
		ip_prefix_mask(&m);
		conf_error(rp->errs, rp->path, line,
			   "route: '%s' has host bits set (the prefix is %s)", tok,
			   ip_prefix_format(&m, buf));
		return false;
	}
	return true;
}

/* "via GATEWAY" (gw: the word after "via", NULL if none); false: wrong (said). */
static bool route_via(struct router_parse *rp, const char *gw, int line, struct route_conf *r)
{
	if (r->has_gateway) {
		conf_error(rp->errs, rp->path, line, "route: 'via' given twice");
		return false;
	}
	if (!gw) {
		conf_error(rp->errs, rp->path, line, "route: 'via' needs a gateway address");
		return false;
	}
	if (ip_addr_parse(gw, &r->gateway) != 0) {
		conf_error(rp->errs, rp->path, line,
			   "route: '%.64s' is not a valid gateway address", gw);
		return false;
	}
	r->has_gateway = true;
	return true;
}

/* "dev IFACE" (dev: the word after "dev", NULL if none); false: wrong (said). */
static bool route_dev(struct router_parse *rp, const char *dev, int line, struct route_conf *r)
{
	if (r->dev[0]) {
		conf_error(rp->errs, rp->path, line, "route: 'dev' given twice");
		return false;
	}
	if (!dev) {
		conf_error(rp->errs, rp->path, line, "route: 'dev' needs an interface name");
		return false;
	}
	if (!netif_name_valid(dev)) {
		conf_error(rp->errs, rp->path, line,
			   "route: '%.64s' is not a valid interface name", dev);
		return false;
	}
	snprintf(r->dev, sizeof(r->dev), "%s", dev);
	return true;
}

/*
 * One option after the prefix (tok; its argument, if any, is the next word of save):
 * a route type, "via GATEWAY" or "dev IFACE". false: wrong (said).
 */
static bool route_option(struct router_parse *rp, char *tok, char **save, int line,
			 struct route_conf *r, bool *have_type)
{
	enum route_type t = ROUTE_UNICAST;

	if (strcmp(tok, "unreachable") == 0)
		t = ROUTE_UNREACHABLE;
	else if (strcmp(tok, "blackhole") == 0)
		t = ROUTE_BLACKHOLE;
	else if (strcmp(tok, "prohibit") == 0)
		t = ROUTE_PROHIBIT;
	if (t != ROUTE_UNICAST) {
		if (*have_type || r->has_gateway || r->dev[0]) {
			conf_error(rp->errs, rp->path, line,
				   "route: '%s' cannot be combined with other options; "
				   ROUTE_SYNTAX, tok);
			return false;
		}
		r->type = t;
		*have_type = true;
		return true;
	}
	if (*have_type) {
		conf_error(rp->errs, rp->path, line, "route: nothing may follow '%s' (got '%.64s')",
			   route_type_name(r->type), tok);
		return false;
	}
	if (strcmp(tok, "via") == 0)
		return route_via(rp, strtok_r(NULL, " \t", save), line, r);
	if (strcmp(tok, "dev") == 0)
		return route_dev(rp, strtok_r(NULL, " \t", save), line, r);
	conf_error(rp->errs, rp->path, line, "route: unexpected '%.64s'; " ROUTE_SYNTAX, tok);
	return false;
}

/* What the options say together: a next hop for a unicast route, one that fits. */
static bool route_complete(struct router_parse *rp, const struct route_conf *r, bool have_type,
			   int line)
{
	if (!have_type && !r->has_gateway && !r->dev[0]) {
		conf_error(rp->errs, rp->path, line,
			   "route: a unicast route needs 'via GATEWAY' or 'dev IFACE'");
		return false;
	}
	if (!r->has_gateway)
		return true;
	char gw[IP_ADDR_STRLEN];
	if (r->prefix.addr.family == AF_INET6 && r->gateway.family == AF_INET) {
		conf_error(rp->errs, rp->path, line,
			   "route: an IPv6 prefix cannot have the IPv4 gateway %s",
			   ip_addr_format(&r->gateway, gw));
		return false;
	}
	/* fe80::1 means nothing without the link it is on. */
	if (r->gateway.family == AF_INET6 && ip_addr_is_link_local(&r->gateway) && !r->dev[0]) {
		conf_error(rp->errs, rp->path, line,
			   "route: the link-local gateway %s needs 'dev IFACE'",
			   ip_addr_format(&r->gateway, gw));
		return false;
	}
	return true;
}

/* Adds r to the configuration's routes unless its prefix is there already. */
static void add_route(struct router_parse *rp, const struct route_conf *r, int line)
{
	char buf[IP_PREFIX_STRLEN];
	for (size_t i = 0; i < rp->out->n_routes; i++) {
		if (ip_prefix_equal(&rp->out->routes[i].prefix, &r->prefix)) {
			conf_error(rp->errs, rp->path, line,
				   "route: %s is already given on line %d",
				   ip_prefix_format(&r->prefix, buf), rp->out->routes[i].line);
			return;
		}
	}
	struct route_conf *routes = conf_array_grow(rp->out->routes, rp->out->n_routes,
						    sizeof(*routes), false);
	if (!routes) {
		rp->oom = true;
		conf_error(rp->errs, rp->path, line, "out of memory");
		return;
	}
	rp->out->routes = routes;
	routes[rp->out->n_routes++] = *r;
}

/* route = PREFIX [via GATEWAY] [dev IFACE] | PREFIX unreachable|blackhole|prohibit */
static void parse_route(struct router_parse *rp, char *value, int line)
{
	struct route_conf r;
	char *save = NULL, *tok;
	bool have_type = false;

	memset(&r, 0, sizeof(r));
	r.line = line;
	tok = strtok_r(value, " \t", &save);
	if (!tok) {
		conf_error(rp->errs, rp->path, line, "route: empty; " ROUTE_SYNTAX);
		return;
	}
	if (!route_prefix(rp, tok, line, &r))
		return;
	while ((tok = strtok_r(NULL, " \t", &save)))
		if (!route_option(rp, tok, &save, line, &r, &have_type))
			return;
	if (route_complete(rp, &r, have_type, line))
		add_route(rp, &r, line);
}

/* [exec] NAME = COMMAND: a supervised program. */
static void exec_key(struct router_parse *rp, const char *key, const char *value, int line)
{
	struct router_conf *out = rp->out;
	size_t len = strlen(key);
	if (len == 0 || len > EXEC_NAME_MAX || strspn(key, "abcdefghijklmnopqrstuvwxyz"
					   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len) {
		conf_error(rp->errs, rp->path, line,
			   "[exec] name '%.64s' must be 1..%d characters of letters, digits, '_', '.', '-'",
			   key, EXEC_NAME_MAX);
		return;
	}
	if (!*value) {
		conf_error(rp->errs, rp->path, line, "[exec] %s: empty command", key);
		return;
	}
	for (size_t i = 0; i < out->n_execs; i++) {
		if (strcmp(out->execs[i].name, key) == 0) {
			conf_error(rp->errs, rp->path, line, "[exec] %s: given twice (first on line %d)",
				   key, out->execs[i].line);
			return;
		}
	}
	struct exec_conf *n = realloc(out->execs, (out->n_execs + 1) * sizeof(*n));
	char *cmd = strdup(value);
	if (!n || !cmd) {
		free(cmd);
		if (n)
			out->execs = n;
		conf_error(rp->errs, rp->path, line, "[exec] %s: out of memory", key);
		return;
	}
	out->execs = n;
	struct exec_conf *e = &out->execs[out->n_execs++];
	e->line = line;
	snprintf(e->name, sizeof(e->name), "%s", key);
	e->command = cmd;
}

/*
 * metrics = 127.0.0.1:9142 or [::1]:9142: the HTTP listener of ctl/metrics_http.h.
 * Loopback only: the figures name peers and their endpoints, and there is no
 * authentication; a scraper elsewhere goes through a proxy the operator controls.
 */
static void parse_metrics(struct router_parse *rp, const char *value, int line)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(value, ':');
	unsigned long port;
	union sockaddr_inet *a = &rp->out->metrics_addr;

	if (!colon || (size_t)(colon - value) >= sizeof(host) ||
	    conf_parse_uint(colon + 1, 65535, &port) != 0 || port == 0) {
		conf_error(rp->errs, rp->path, line,
			   "metrics: '%.64s' is not ADDRESS:PORT (e.g. 127.0.0.1:9142 or [::1]:9142)",
			   value);
		return;
	}
	memcpy(host, value, (size_t)(colon - value));
	host[colon - value] = '\0';
	memset(a, 0, sizeof(*a));
	size_t hl = strlen(host);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &a->in6.sin6_addr) != 1)
			a->in6.sin6_family = 0;
	} else {
		a->in4.sin_family = AF_INET;
		a->in4.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->in4.sin_addr) != 1)
			a->in4.sin_family = 0;
	}
	bool loopback = (a->sa.sa_family == AF_INET &&
			 (ntohl(a->in4.sin_addr.s_addr) >> 24) == 127) ||
			(a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a->in6.sin6_addr));
	if (!a->sa.sa_family) {
		conf_error(rp->errs, rp->path, line,
			   "metrics: '%.64s' is not ADDRESS:PORT (an IPv6 address goes in brackets)",
			   value);
		return;
	}
	if (!loopback) {
		conf_error(rp->errs, rp->path, line,
			   "metrics: %.64s is not a loopback address (127.0.0.0/8 or [::1]); the metrics "
			   "are served without authentication", host[0] == '[' ? host + 1 : host);
		return;
	}
	rp->out->has_metrics = true;
}

static void router_key(void *user, const char *key, char *value, int line)
{
	struct router_parse *rp = user;
	struct router_conf *out = rp->out;
	int k;

	if (rp->section == RS_UNKNOWN)
		return;                     /* reported once, at its header */
	if (rp->section == RS_EXEC) {
		exec_key(rp, key, value, line);
		return;
	}
	if (rp->section == RS_NONE) {
		conf_error(rp->errs, rp->path, line,
			   "'%s' is outside a section (put it under [router])", key);
		return;
	}
	for (k = 0; k < RK_COUNT; k++)
		if (strcasecmp(key, router_keys[k]) == 0)
			break;
	if (k == RK_COUNT) {
		conf_error(rp->errs, rp->path, line,
			   "unknown key '%s' in [router] (expected interfaces, control, log_level, route, "
			   "metrics or batch_hold_us)",
			   key);
		return;
	}
	if (k != RK_ROUTE) {
		if (rp->key_line[k]) {
			conf_error(rp->errs, rp->path, line, "%s: given twice (first on line %d)",
				   router_keys[k], rp->key_line[k]);
			return;
		}
		rp->key_line[k] = line;
		if (!*value) {
			conf_error(rp->errs, rp->path, line, "%s: empty value", router_keys[k]);
			return;
		}
	}

	switch (k) {
	case RK_INTERFACES:
		if (join_path(out->interfaces_dir, rp->dir, value) != 0)
			conf_error(rp->errs, rp->path, line, "interfaces: path is too long");
		break;
	case RK_CONTROL:
		if (join_path(out->control_path, rp->dir, value) != 0 ||
		    strlen(out->control_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			conf_error(rp->errs, rp->path, line,
				   "control: '%s' is too long for a unix socket path (at most %zu bytes)",
				   out->control_path,
				   sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		break;
	case RK_LOG_LEVEL: {
		enum log_level level;
		if (log_level_parse(value, &level) != 0 ||
		    strlen(value) >= sizeof(out->log_level))
			conf_error(rp->errs, rp->path, line,
				   "log_level: '%.32s' is not one of error, warn, info, debug", value);
		else
			snprintf(out->log_level, sizeof(out->log_level), "%s", value);
		break;
	}
	case RK_ROUTE:
		parse_route(rp, value, line);
		break;
	case RK_METRICS:
		parse_metrics(rp, value, line);
		break;
	case RK_BATCH_HOLD_US: {
		char *end;
		errno = 0;
		unsigned long us = strtoul(value, &end, 10);
		if (*end || errno || !isdigit((unsigned char)value[0]) || us > CONF_BATCH_HOLD_US_MAX)
			conf_error(rp->errs, rp->path, line,
				   "batch_hold_us: '%.32s' is not a number of microseconds from 0 to %u",
				   value, CONF_BATCH_HOLD_US_MAX);
		else
			out->batch_hold_us = (uint32_t)us;
		break;
	}
	}
}

static void default_control_path(struct router_parse *rp)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (xdg && *xdg) {
		n = snprintf(rp->out->control_path, PATH_MAX, "%s/rrouted.sock", xdg);
	} else {
		/* Not /tmp itself, where another user could take the name first. */
		localsock_default_dir(rp->out->private_dir, sizeof(rp->out->private_dir));
		n = snprintf(rp->out->control_path, PATH_MAX, "%s/rrouted.sock",
			     rp->out->private_dir);
	}
	if (n < 0 || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		conf_error(rp->errs, rp->path, 0,
			   "the default control socket path '%s' is too long for a unix socket; "
			   "set 'control = PATH'", rp->out->control_path);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every NAME.conf in the directory, sorted; the array and names are malloc'd. */
static int list_iface_files(struct router_parse *rp, char ***names_out, size_t *n_out)
{
	char **names = NULL;
	size_t n = 0;
	int line = rp->key_line[RK_INTERFACES];
	const char *dir = rp->out->interfaces_dir;
	DIR *d = opendir(dir);
	struct dirent *de;

	*names_out = NULL;
	*n_out = 0;
	if (!d) {
		conf_error(rp->errs, rp->path, line, "interfaces: cannot open directory '%s': %s",
			   dir, strerror(errno));
		return -1;
	}
	while ((errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		char name[IFACE_NAME_MAX + 2];
		if (len - 5 > IFACE_NAME_MAX ||
		    (snprintf(name, sizeof(name), "%.*s", (int)(len - 5), de->d_name),
		     !netif_name_valid(name))) {
			conf_error(rp->errs, rp->path, line,
				   "interfaces: '%s/%s': the name before .conf must be 1..%d characters of A-Z a-z 0-9 _ = + . -",
				   dir, de->d_name, IFACE_NAME_MAX);
			continue;
		}
		char **grown = conf_array_grow(names, n, sizeof(*names), false);
		char *copy = strdup(name);
		if (!grown || !copy) {
			free(copy);
			if (grown)
				names = grown;
			rp->oom = true;
			conf_error(rp->errs, rp->path, line, "out of memory");
			break;
		}
		names = grown;
		names[n++] = copy;
	}
	if (errno && !rp->oom)
		conf_error(rp->errs, rp->path, line, "interfaces: cannot read directory '%s': %s",
			   dir, strerror(errno));
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	*names_out = names;
	*n_out = n;
	return 0;
}

/* Against the file names, so a file that failed to load does not add a second error. */
static void check_route_devs(struct router_parse *rp, char *const *names, size_t n)
{
	struct router_conf *out = rp->out;

	for (size_t i = 0; i < out->n_routes; i++) {
		struct route_conf *r = &out->routes[i];
		bool found = false;
		if (!r->dev[0])
			continue;
		for (size_t j = 0; j < n && !found; j++)
			found = strcmp(names[j], r->dev) == 0;
		if (found)
			continue;
		if (out->interfaces_dir[0])
			conf_error(rp->errs, rp->path, r->line,
				   "route: dev '%s' is not an interface (no %s.conf in '%s')",
				   r->dev, r->dev, out->interfaces_dir);
		else
			conf_error(rp->errs, rp->path, r->line,
				   "route: dev '%s' is not an interface (no 'interfaces = DIR' given)",
				   r->dev);
	}
}

static void load_interfaces(struct router_parse *rp)
{
	struct router_conf *out = rp->out;
	char **names;
	size_t n;

	if (list_iface_files(rp, &names, &n) != 0)
		return;
	check_route_devs(rp, names, n);
	if (n) {
		out->ifaces = calloc(n, sizeof(*out->ifaces));
		if (!out->ifaces)
			conf_error(rp->errs, rp->path, rp->key_line[RK_INTERFACES], "out of memory");
	}
	for (size_t i = 0; i < n && out->ifaces; i++) {
		char file[PATH_MAX];
		int len = snprintf(file, sizeof(file), "%s/%s.conf", out->interfaces_dir, names[i]);
		if (len < 0 || len >= (int)sizeof(file)) {
			conf_error(rp->errs, out->interfaces_dir, 0, "%s.conf: path is too long",
				   names[i]);
			continue;
		}
		/* A failed load leaves its slot zeroed; keep going to collect every error. */
		if (wg_iface_conf_load_flags(file, names[i], rp->flags & CONF_DEFER_NAMES,
					     &out->ifaces[out->n_ifaces], rp->errs) == 0)
			out->n_ifaces++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);

	/* Two interfaces cannot bind the same UDP port. */
	for (size_t i = 0; i < out->n_ifaces; i++) {
		for (size_t j = 0; j < i; j++) {
			if (out->ifaces[i].has_listen_port && out->ifaces[j].has_listen_port &&
			    out->ifaces[i].listen_port == out->ifaces[j].listen_port) {
				conf_error(rp->errs, out->ifaces[i].path, 0,
					   "ListenPort: %u is already used by interface %s",
					   out->ifaces[i].listen_port, out->ifaces[j].name);
				break;
			}
		}
	}
}

/* Parses text, or the file at path when text is NULL. */
static int router_parse_text(const char *text, const char *path, unsigned flags,
			     struct router_conf *out, struct conf_errors *errs)
{
	struct conf_parse_run run;
	struct router_parse rp;
	const char *slash;

	memset(out, 0, sizeof(*out));
	if (!conf_run_start(&run, text, path, errs))
		return -1;
	errs = run.errs;
	memset(&rp, 0, sizeof(rp));
	rp.out = out;
	rp.path = path;
	rp.errs = errs;
	rp.flags = flags;

	memset(out, 0, sizeof(*out));
	if (snprintf(out->path, sizeof(out->path), "%s", path) >= (int)sizeof(out->path)) {
		conf_error(errs, path, 0, "path is too long");
		goto done;
	}
	slash = strrchr(path, '/');
	if (slash)
		snprintf(rp.dir, sizeof(rp.dir), "%.*s", slash == path ? 1 : (int)(slash - path),
			 path);

	struct conf_ini ini = {
		.path = path, .errs = errs, .user = &rp,
		.section = router_section, .key = router_key,
	};
	conf_ini_parse(run.text, &ini);
	if (!rp.key_line[RK_CONTROL])
		default_control_path(&rp);
	if (!(flags & CONF_SKIP_INTERFACES) && !rp.oom) {
		if (out->interfaces_dir[0])
			load_interfaces(&rp);
		else
			check_route_devs(&rp, NULL, 0);
	}
done:
	if (!conf_run_finish(&run)) {
		router_conf_free(out);
		return -1;
	}
	return 0;
}

int router_conf_parse_string(const char *text, const char *path_for_messages,
			     unsigned flags, struct router_conf *out,
			     struct conf_errors *errs)
{
	return router_parse_text(text, path_for_messages, flags, out, errs);
}

int router_conf_load_flags(const char *path, unsigned flags, struct router_conf *out,
			   struct conf_errors *errs)
{
	return router_parse_text(NULL, path, flags, out, errs);
}

int router_conf_load(const char *path, struct router_conf *out, struct conf_errors *errs)
{
	return router_conf_load_flags(path, 0, out, errs);
}

int router_conf_print(FILE *f, const struct router_conf *conf)
{
	char pbuf[IP_PREFIX_STRLEN], gbuf[IP_ADDR_STRLEN];

	fprintf(f, "[router]\n");
	if (conf->interfaces_dir[0])
		fprintf(f, "interfaces = %s\n", conf->interfaces_dir);
	fprintf(f, "control = %s\n", conf->control_path);
	if (conf->log_level[0])
		fprintf(f, "log_level = %s\n", conf->log_level);
	if (conf->has_metrics) {
		char mbuf[SOCKADDR_INET_STRLEN];
		fprintf(f, "metrics = %s\n", sockaddr_inet_format(&conf->metrics_addr, mbuf,
								    sizeof(mbuf)));
	}
	if (conf->batch_hold_us)
		fprintf(f, "batch_hold_us = %u\n", conf->batch_hold_us);
	for (size_t i = 0; i < conf->n_routes; i++) {
		const struct route_conf *r = &conf->routes[i];
		fprintf(f, "route = %s", ip_prefix_format(&r->prefix, pbuf));
		if (r->type != ROUTE_UNICAST)
			fprintf(f, " %s", route_type_name(r->type));
		if (r->has_gateway)
			fprintf(f, " via %s", ip_addr_format(&r->gateway, gbuf));
		if (r->dev[0])
			fprintf(f, " dev %s", r->dev);
		fputc('\n', f);
	}
	if (conf->n_execs)
		fprintf(f, "\n[exec]\n");
	for (size_t i = 0; i < conf->n_execs; i++)
		fprintf(f, "%s = %s\n", conf->execs[i].name, conf->execs[i].command);
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

void router_conf_free(struct router_conf *conf)
{
	if (!conf)
		return;
	for (size_t i = 0; i < conf->n_ifaces; i++)
		wg_iface_conf_free(&conf->ifaces[i]);
	free(conf->ifaces);
	free(conf->routes);
	for (size_t i = 0; i < conf->n_execs; i++)
		free(conf->execs[i].command);
	free(conf->execs);
	memset(conf, 0, sizeof(*conf));
}
