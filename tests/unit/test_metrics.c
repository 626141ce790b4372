/*
 * The Prometheus exposition of `rrctl show metrics` (ctl/metrics.c): label
 * escaping, and the output of a small router (lo, a dummy, a WireGuard
 * interface with one peer, an [exec] program and a hook) checked line by line
 * against the 0.0.4 text format and for the figures put in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/strbuf.h"
#include "crypto/crypto.h"
#include "ctl/metrics.h"
#include "ctl/metrics_http.h"
#include "ip/dummy.h"
#include "ip/router.h"
#include "wg/device.h"
#include "wg/peer.h"

static void expect_escaped(const char *in, const char *want)
{
	struct strbuf sb;
	strbuf_init(&sb);
	metrics_label_value(&sb, in);
	strbuf_puts(&sb, "");
	assert_false(sb.oom);
	assert_string_equal(sb.len ? sb.data : "", want);
	strbuf_free(&sb);
}

static void test_label_escaping(void **state)
{
	expect_escaped("", "");
	expect_escaped("wg0", "wg0");
	expect_escaped("a\\b", "a\\\\b");
	expect_escaped("say \"hi\"", "say \\\"hi\\\"");
	expect_escaped("two\nlines\n", "two\\nlines\\n");
	expect_escaped("\\\"\n", "\\\\\\\"\\n");
	/* Other bytes, tabs and UTF-8 included, pass as they are. */
	expect_escaped("t\tü", "t\tü");
}

/* A metric name as the format allows: [a-zA-Z_:][a-zA-Z0-9_:]*. Returns its length. */
static size_t name_len(const char *s)
{
	size_t n = 0;
	if (!(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
		return 0;
	while (isalnum((unsigned char)s[n]) || s[n] == '_' || s[n] == ':')
		n++;
	return n;
}

/*
 * Checks one sample line strictly (name, optional {k="v",...} with only valid
 * escapes, one space, an unsigned integer) and that its family was declared
 * by the TYPE line just before its samples (the current family).
 */
static void check_sample(const char *line, const char *current_family)
{
	size_t n = name_len(line);
	assert_true(n > 0);
	assert_true(strlen(current_family) == n && strncmp(line, current_family, n) == 0);
	const char *p = line + n;
	if (*p == '{') {
		p++;
		for (;;) {
			size_t k = name_len(p);
			assert_true(k > 0);
			p += k;
			assert_true(p[0] == '=' && p[1] == '"');
			p += 2;
			while (*p != '"') {
				assert_true(*p != '\0' && *p != '\n');
				if (*p == '\\') {
					assert_non_null(strchr("\\\"n", p[1]));
					p++;
				}
				p++;
			}
			p++;
			if (*p == '}')
				break;
			assert_true(*p == ',');
			p++;
		}
		p++;
	}
	assert_true(*p == ' ');
	p++;
	assert_true(isdigit((unsigned char)*p));
	while (isdigit((unsigned char)*p))
		p++;
	assert_true(*p == '\0');
}

/* Every line parses; HELP then TYPE precede each family's samples; no family twice. */
static void check_format(const char *text)
{
	char *copy = strdup(text);
	assert_non_null(copy);
	char family[128] = "", seen[8192] = " ";
	char help_for[128] = "";
	for (char *save = NULL, *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			size_t n = name_len(line + 7);
			assert_true(n > 0 && n < sizeof(help_for) && line[7 + n] == ' ');
			snprintf(help_for, sizeof(help_for), "%.*s", (int)n, line + 7);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			size_t n = name_len(line + 7);
			assert_true(n > 0 && n < sizeof(family));
			snprintf(family, sizeof(family), "%.*s", (int)n, line + 7);
			assert_string_equal(family, help_for);
			const char *type = line + 7 + n;
			assert_true(strcmp(type, " counter") == 0 || strcmp(type, " gauge") == 0);
			char key[140];
			snprintf(key, sizeof(key), " %s ", family);
			assert_null(strstr(seen, key));
			assert_true(strlen(seen) + strlen(family) + 2 < sizeof(seen));
			strcat(seen, family);
			strcat(seen, " ");
			continue;
		}
		assert_true(line[0] != '#');
		check_sample(line, family);
	}
	free(copy);
}

static void expect_line(const char *text, const char *line)
{
	char want[512];
	snprintf(want, sizeof(want), "\n%s\n", line);
	if (!strstr(text, want))
		fail_msg("missing line: %s\n--- output:\n%s", line, text);
}

static void test_router_metrics(void **state)
{
	struct loop loop;
	struct ip_router router;
	assert_int_equal(crypto_init(), 0);
	log_set_level(LOG_ERROR);
	assert_int_equal(loop_init(&loop), 0);
	assert_int_equal(ip_router_init(&router, &loop), 0);

	struct netif *dn = dummy_new("dn42");
	assert_non_null(dn);
	assert_int_equal(ip_router_add_netif(&router, dn), 0);
	dn->stats.tx_packets = 7;
	dn->stats.drops[DROP_NO_ROUTE] = 3;

	int err = 0;
	struct wg_device *wg = wg_device_create_empty(&loop, &router, "wg0", &err);
	assert_non_null(wg);
	uint8_t priv[32], pub[32];
	x25519_generate(priv);
	assert_int_equal(x25519_public(pub, priv), 0);
	struct wg_peer *peer = wg_device_add_peer(wg, pub, &err);
	assert_non_null(peer);
	union sockaddr_inet ep = { .in4 = { .sin_family = AF_INET, .sin_port = htons(51820) } };
	ep.in4.sin_addr.s_addr = htonl(0xc0000201);   /* 192.0.2.1 */
	wg_peer_configure_endpoint(peer, &ep);
	peer->rx_bytes = 1234;
	peer->tx_bytes = 5678;
	peer->handshakes_completed = 2;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	peer->walltime_last_handshake = (uint64_t)(now.tv_sec - 30) * 1000000000ULL;
	wg->netif.stats.rx_bytes = 999;
	router.stats.forwarded = 42;

	/* A supervisor's list as it is read (no children): a program started 4 times, a hook. */
	struct supervised hook = { .restart = false, .starts = 1 };
	struct supervised prog = { .restart = true, .starts = 4, .pid = 1234, .next = &hook };
	snprintf(hook.name, sizeof(hook.name), "PostUp wg0");
	snprintf(prog.name, sizeof(prog.name), "bird \"main\"");
	struct supervisor sup = { .list = &prog };
	struct sock_stats socks = { .sockets = 5, .clients = 2 };

	struct metrics_sources src = { .router = &router, .sockets = &socks, .sup = &sup,
				       .uptime_ns = 90 * 1000000000ULL };
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_puts(&sb, "\n");   /* so that expect_line finds the first line too */
	metrics_render(&sb, &src);
	assert_false(sb.oom);
	check_format(sb.data + 1);

	expect_line(sb.data, "rr_interface_tx_packets_total{interface=\"dn42\",kind=\"dummy\"} 7");
	expect_line(sb.data, "rr_interface_drops_total{interface=\"dn42\",kind=\"dummy\","
			     "reason=\"no_route\"} 3");
	expect_line(sb.data, "rr_interface_rx_bytes_total{interface=\"wg0\",kind=\"wireguard\"} 999");
	expect_line(sb.data, "rr_interface_up{interface=\"lo\",kind=\"loopback\"} 1");
	char line[256];
	snprintf(line, sizeof(line),
		 "rr_wireguard_peer_rx_bytes_total{interface=\"wg0\",public_key=\"%s\"} 1234",
		 peer->public_key_b64);
	expect_line(sb.data, line);
	snprintf(line, sizeof(line),
		 "rr_wireguard_peer_tx_bytes_total{interface=\"wg0\",public_key=\"%s\"} 5678",
		 peer->public_key_b64);
	expect_line(sb.data, line);
	snprintf(line, sizeof(line),
		 "rr_wireguard_peer_handshakes_total{interface=\"wg0\",public_key=\"%s\"} 2",
		 peer->public_key_b64);
	expect_line(sb.data, line);
	snprintf(line, sizeof(line),
		 "rr_wireguard_peer_endpoint_info{interface=\"wg0\",public_key=\"%s\","
		 "endpoint=\"192.0.2.1:51820\"} 1", peer->public_key_b64);
	expect_line(sb.data, line);
	/* 30 s ago, give or take the second this test may straddle. */
	snprintf(line, sizeof(line),
		 "rr_wireguard_peer_last_handshake_age_seconds{interface=\"wg0\",public_key=\"%s\"} ",
		 peer->public_key_b64);
	const char *age = strstr(sb.data, line);
	assert_non_null(age);
	long secs = strtol(age + strlen(line), NULL, 10);
	assert_true(secs >= 30 && secs <= 32);
	expect_line(sb.data, "rr_forwarded_packets_total 42");
	expect_line(sb.data, "rr_exec_program_restarts_total{program=\"bird \\\"main\\\"\"} 3");
	expect_line(sb.data, "rr_exec_program_running{program=\"bird \\\"main\\\"\"} 1");
	assert_null(strstr(sb.data, "PostUp"));
	expect_line(sb.data, "rr_shim_sockets 5");
	expect_line(sb.data, "rr_shim_clients 2");
	expect_line(sb.data, "rr_uptime_seconds 90");
	assert_non_null(strstr(sb.data, "\nprocess_resident_memory_bytes "));

	/* A peer that never completed a handshake and has no endpoint has neither sample. */
	peer->walltime_last_handshake = 0;
	peer->has_endpoint = false;
	strbuf_reset(&sb);
	metrics_render(&sb, &src);
	check_format(sb.data);
	assert_null(strstr(sb.data, "rr_wireguard_peer_last_handshake_age_seconds{"));
	assert_null(strstr(sb.data, "rr_wireguard_peer_endpoint_info{"));

	strbuf_free(&sb);
	wg_device_destroy(wg);
	ip_router_destroy_netif(&router, dn);
	ip_router_free(&router);
	loop_free(&loop);
}

static enum metrics_http_verdict parse(const char *req, bool *head_only)
{
	return metrics_http_parse(req, strlen(req), head_only);
}

static void test_http_request_parse(void **state)
{
	bool head = true;
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &head), METRICS_HTTP_OK);
	assert_false(head);
	assert_int_equal(parse("HEAD /metrics HTTP/1.0\r\n\r\n", &head), METRICS_HTTP_OK);
	assert_true(head);
	assert_int_equal(parse("GET /metrics?x=1 HTTP/1.1\n\n", &head), METRICS_HTTP_OK);
	assert_int_equal(parse("GET /metricsx HTTP/1.1\r\n\r\n", &head), METRICS_HTTP_NOT_FOUND);
	assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n", &head), METRICS_HTTP_NOT_FOUND);
	assert_int_equal(parse("POST /metrics HTTP/1.1\r\n\r\n", &head), METRICS_HTTP_BAD_METHOD);
	assert_int_equal(parse("GET /metrics\r\n\r\n", &head), METRICS_HTTP_BAD_REQUEST);
	assert_int_equal(parse("GET  HTTP/1.1\r\n\r\n", &head), METRICS_HTTP_BAD_REQUEST);
	assert_int_equal(parse("GET /metrics HTTP/2.0\r\n\r\n", &head), METRICS_HTTP_BAD_REQUEST);
	assert_int_equal(parse("\r\n\r\n", &head), METRICS_HTTP_BAD_REQUEST);
	/* Until the blank line, nothing is decided: a slow client just waits (with a deadline). */
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\n", &head), METRICS_HTTP_INCOMPLETE);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r", &head),
			 METRICS_HTTP_INCOMPLETE);
	assert_int_equal(parse("", &head), METRICS_HTTP_INCOMPLETE);

	union sockaddr_inet a = { .in4 = { .sin_family = AF_INET } };
	a.in4.sin_addr.s_addr = htonl(0x7f000001);
	assert_true(metrics_http_addr_is_loopback(&a));
	a.in4.sin_addr.s_addr = htonl(0x7f0a0b0c);
	assert_true(metrics_http_addr_is_loopback(&a));
	a.in4.sin_addr.s_addr = htonl(0xc0000201);
	assert_false(metrics_http_addr_is_loopback(&a));
	a.in4.sin_addr.s_addr = 0;
	assert_false(metrics_http_addr_is_loopback(&a));
	union sockaddr_inet b = { .in6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT } };
	assert_true(metrics_http_addr_is_loopback(&b));
	b.in6.sin6_addr = in6addr_any;
	assert_false(metrics_http_addr_is_loopback(&b));
}

/* [router] metrics = ...: loopback only, with a message that says so; printed back as read. */
static void test_metrics_config(void **state)
{
	static const struct {
		const char *value, *error;   /* error: a piece of the message, NULL: accepted */
	} cases[] = {
		{ "127.0.0.1:9142", NULL },
		{ "127.1.2.3:80", NULL },
		{ "[::1]:9142", NULL },
		{ "0.0.0.0:9142", "not a loopback address" },
		{ "192.0.2.1:9142", "not a loopback address" },
		{ "[::]:9142", "not a loopback address" },
		{ "127.0.0.1", "is not ADDRESS:PORT" },
		{ "127.0.0.1:0", "is not ADDRESS:PORT" },
		{ "127.0.0.1:65536", "is not ADDRESS:PORT" },
		{ "localhost:9142", "is not ADDRESS:PORT" },
		{ "::1:9142", "is not ADDRESS:PORT" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[256];
		snprintf(text, sizeof(text), "[router]\ncontrol = /tmp/x.sock\nmetrics = %s\n",
			 cases[i].value);
		struct conf_errors e = { 0 };
		struct router_conf rc;
		int r = router_conf_parse_string(text, "r.conf", CONF_SKIP_INTERFACES, &rc, &e);
		if (!cases[i].error) {
			if (r != 0)
				fail_msg("%s: %s", cases[i].value, e.msg[0]);
			assert_true(rc.has_metrics);
			char *printed = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&printed, &len);
			assert_non_null(f);
			assert_int_equal(router_conf_print(f, &rc), 0);
			fclose(f);
			char want[64];
			snprintf(want, sizeof(want), "metrics = %s\n", cases[i].value);
			if (!strstr(printed, want))
				fail_msg("printed back without \"%s\":\n%s", want, printed);
			free(printed);
			router_conf_free(&rc);
			continue;
		}
		assert_int_not_equal(r, 0);
		assert_true(e.count >= 1);
		if (!strstr(e.msg[0], cases[i].error) || !strstr(e.msg[0], "r.conf:3:"))
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].value, e.msg[0],
				 cases[i].error);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_router_metrics),
		cmocka_unit_test(test_http_request_parse),
		cmocka_unit_test(test_metrics_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
