/*
 * ws/ws_conn.c on a real loop over loopback TCP: a client and a server
 * connection exchange messages; and the server's bounds: garbage gets a 400
 * and a close, a frame above the limit closes, a slow request head is cut
 * at the handshake deadline (manual clock), a plain GET gets the page.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/loop.h"
#include "ws/ws_conn.h"
#include "ws/ws_frame.h"
#include "testlib.h"

struct side {
	struct ws_conn c;
	bool open, closed;
	uint8_t last[WS_MAX_MESSAGE];
	size_t last_len;
	unsigned messages;
};

static void on_open(struct ws_conn *c)
{
	container_of(c, struct side, c)->open = true;
}

static void on_message(struct ws_conn *c, uint8_t *data, size_t len)
{
	struct side *s = container_of(c, struct side, c);
	memcpy(s->last, data, len);
	s->last_len = len;
	s->messages++;
}

static void on_page(struct ws_conn *c, const char *path, struct strbuf *body)
{
	strbuf_printf(body, "page for %s\n", path);
}

static void on_closed(struct ws_conn *c)
{
	container_of(c, struct side, c)->closed = true;
}

static const struct ws_conn_ops ops = { on_open, on_message, on_page, on_closed };

static int listener(union sockaddr_inet *addr)
{
	int fd = tl_loopback_socket(SOCK_STREAM, addr);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int accept_nb(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

/* Runs the loop until cond or about 2 s. */
#define RUN_UNTIL(loop, cond) \
	do { \
		for (int i_ = 0; i_ < 200 && !(cond); i_++) \
			loop_run_once((loop), 10); \
		assert_true(cond); \
	} while (0)

static void test_client_server(void **state)
{
	struct loop loop;
	assert_int_equal(loop_init(&loop), 0);
	union sockaddr_inet addr;
	int lfd = listener(&addr);
	struct side cli = { 0 }, srv = { 0 };
	cli.c.lfd.fd = srv.c.lfd.fd = -1;
	assert_int_equal(ws_conn_dial(&cli.c, &loop, &ops, &addr, NULL, "127.0.0.1",
				      ntohs(addr.in4.sin_port), "/wg", NULL), 0);
	loop_run_once(&loop, 10);
	assert_int_equal(ws_conn_accept(&srv.c, &loop, &ops, accept_nb(lfd)), 0);
	RUN_UNTIL(&loop, cli.open && srv.open);

	uint8_t msg[1500];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	for (int k = 0; k < 10; k++)
		assert_int_equal(ws_conn_send(&cli.c, msg, sizeof(msg)), 0);
	RUN_UNTIL(&loop, srv.messages == 10);
	assert_int_equal(srv.last_len, sizeof(msg));
	assert_memory_equal(srv.last, msg, sizeof(msg));   /* unmasked again */
	assert_int_equal(ws_conn_send(&srv.c, "pong", 4), 0);
	RUN_UNTIL(&loop, cli.messages == 1);
	assert_memory_equal(cli.last, "pong", 4);
	/* Too big for a frame of ours: refused by the receiver, which closes. */
	uint8_t big[WS_MAX_MESSAGE + 1] = { 0 };
	assert_int_equal(ws_conn_send(&cli.c, big, sizeof(big)), 0);
	RUN_UNTIL(&loop, srv.closed && cli.closed);
	assert_non_null(strstr(srv.c.close_reason, "larger than the limit"));
	assert_int_equal(ws_conn_send(&cli.c, msg, 10), -ENOTCONN);
	ws_conn_free(&cli.c);
	ws_conn_free(&srv.c);
	close(lfd);
	loop_free(&loop);
}

/* A raw client socket against a server connection; returns what the server answered. */
static size_t raw_exchange(struct loop *loop, struct side *srv, const void *req, size_t len,
			   char *reply, size_t cap, bool wait_close)
{
	union sockaddr_inet addr;
	int lfd = listener(&addr);
	int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(cfd, &addr.sa, sizeof(addr.in4)), 0);
	memset(srv, 0, sizeof(*srv));
	srv->c.lfd.fd = -1;
	assert_int_equal(ws_conn_accept(&srv->c, loop, &ops, accept_nb(lfd)), 0);
	assert_int_equal(send(cfd, req, len, 0), (ssize_t)len);
	if (wait_close)
		RUN_UNTIL(loop, srv->closed);
	else
		for (int i = 0; i < 20; i++)
			loop_run_once(loop, 5);
	size_t got = 0;
	ssize_t n;
	while (got < cap - 1 && (n = recv(cfd, reply + got, cap - 1 - got, MSG_DONTWAIT)) > 0)
		got += (size_t)n;
	reply[got] = '\0';
	close(cfd);
	close(lfd);
	return got;
}

static void test_server_bounds(void **state)
{
	struct loop loop;
	assert_int_equal(loop_init(&loop), 0);
	struct side srv;
	char reply[2048];

	static const char tls_hello[] = "\x16\x03\x01\x00\x10garbage\r\n\r\n";
	raw_exchange(&loop, &srv, tls_hello, sizeof(tls_hello) - 1, reply, sizeof(reply), true);
	assert_non_null(strstr(reply, "HTTP/1.1 400"));
	ws_conn_free(&srv.c);

	static const char get[] = "GET /status HTTP/1.1\r\nHost: x\r\n\r\n";
	raw_exchange(&loop, &srv, get, sizeof(get) - 1, reply, sizeof(reply), true);
	assert_non_null(strstr(reply, "HTTP/1.1 200 OK"));
	assert_non_null(strstr(reply, "page for /status"));
	ws_conn_free(&srv.c);

	/* A head that never ends: 431 once it passes the limit. */
	static char longhead[WS_HTTP_HEAD_MAX + 100];
	memset(longhead, 'a', sizeof(longhead));
	memcpy(longhead, "GET / HTTP/1.1\r\nX: ", 19);
	raw_exchange(&loop, &srv, longhead, sizeof(longhead), reply, sizeof(reply), true);
	assert_non_null(strstr(reply, "HTTP/1.1 431"));
	ws_conn_free(&srv.c);

	/* An upgrade followed by an unmasked frame (clients must mask): closed. */
	const char up[] = "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
			  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
			  "\x82\x02hi";
	raw_exchange(&loop, &srv, up, sizeof(up) - 1, reply, sizeof(reply), true);
	assert_non_null(strstr(reply, "HTTP/1.1 101"));
	assert_non_null(strstr(reply, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
	assert_non_null(strstr(srv.c.close_reason, "malformed frame"));
	ws_conn_free(&srv.c);
	loop_free(&loop);
}

static void test_slow_head_deadline(void **state)
{
	struct loop loop;
	assert_int_equal(loop_init(&loop), 0);
	loop_use_manual_clock(&loop, 1000 * NSEC_PER_SEC);
	struct side srv;
	char reply[256];
	raw_exchange(&loop, &srv, "GET / HTTP/1.1\r\n", 16, reply, sizeof(reply), false);
	assert_false(srv.closed);
	loop_set_time(&loop, (1000 + WS_HANDSHAKE_TIMEOUT_S - 1) * NSEC_PER_SEC);
	assert_false(srv.closed);
	loop_set_time(&loop, (1000 + WS_HANDSHAKE_TIMEOUT_S + 1) * NSEC_PER_SEC);
	assert_true(srv.closed);
	assert_non_null(strstr(srv.c.close_reason, "not done in time"));
	ws_conn_free(&srv.c);
	loop_free(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_server),
		cmocka_unit_test(test_server_bounds),
		cmocka_unit_test(test_slow_head_deadline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
