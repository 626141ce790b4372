/*
 * exec/seccomp_sup.c against a stand-in for rrouted (a forked process speaking the shim
 * protocol on a unix socket): a child under the filter connects a TCP socket to a
 * non-loopback address; the supervisor asks "rrouted", puts the data fd in place of the
 * child's socket (same number), parks the blocking connect until the socketpair is writable,
 * and answers getpeername from its table. Loopback and AF_UNIX stay the kernel's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/seccomp_filter.h"
#include "exec/seccomp_sup.h"
#include "stack/shim_proto.h"

static void send_rep(int c, const struct shim_rep *rep, int fd)
{
	if (shim_send_with_fd(sendmsg, c, rep, sizeof(*rep), fd, 0) < 0)
		_exit(20);
}

/* The stand-in: HELLO, CONNECT (a socketpair end back), STATUS (connected); exits 0 when the
 * app's "hi" arrived on its end of the pair. */
static void fake_rrouted(int lsock)
{
	int c = accept(lsock, NULL, NULL);
	if (c < 0)
		_exit(21);
	int mine = -1;
	for (;;) {
		struct shim_req req;
		ssize_t n = recv(c, &req, sizeof(req), 0);
		if (n != (ssize_t)sizeof(req))
			_exit(mine >= 0 ? 23 : 22);
		struct shim_rep rep;
		memset(&rep, 0, sizeof(rep));
		rep.sock_id = -1;
		if (req.op == SHIM_OP_HELLO) {
			rep.val = SHIM_PROTO_VERSION;
			send_rep(c, &rep, -1);
		} else if (req.op == SHIM_OP_CONNECT) {
			int sp[2];
			if (req.addr.family != AF_INET || req.addr.port != 80 ||
			    socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0)
				_exit(24);
			mine = sp[0];
			rep.sock_id = 7;
			rep.local.family = AF_INET;
			rep.local.port = 40000;
			memcpy(rep.local.addr, "\xc0\x00\x02\x01", 4);
			rep.peer = req.addr;
			send_rep(c, &rep, sp[1]);
			close(sp[1]);
		} else if (req.op == SHIM_OP_STATUS) {
			rep.sock_id = req.sock_id;
			rep.val = 1;
			send_rep(c, &rep, -1);
			char buf[3] = { 0 };
			struct pollfd p = { .fd = mine, .events = POLLIN };
			if (poll(&p, 1, 10000) != 1 || read(mine, buf, 2) != 2 || strcmp(buf, "hi") != 0)
				_exit(25);
			_exit(0);
		} else {
			rep.err = EOPNOTSUPP;
			send_rep(c, &rep, -1);
		}
	}
}

/* The program under the filter; its exit status says which step failed. */
static void child_program(int sp)
{
	int l = seccomp_filter_install();
	if (l < 0 || seccomp_listener_send(sp, l) < 0)
		_exit(30);
	close(l);
	close(sp);
	/* AF_UNIX: the kernel's, untouched */
	int u[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, u) < 0)
		_exit(31);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(80) };
	a.sin_addr.s_addr = htonl(0xc6336402);   /* 198.51.100.2: not loopback */
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		_exit(32);
	struct sockaddr_in peer;
	socklen_t len = sizeof(peer);
	if (getpeername(s, (struct sockaddr *)&peer, &len) < 0 || peer.sin_port != htons(80) ||
	    peer.sin_addr.s_addr != a.sin_addr.s_addr)
		_exit(33);
	len = sizeof(peer);
	if (getsockname(s, (struct sockaddr *)&peer, &len) < 0 || peer.sin_port != htons(40000))
		_exit(34);
	int type = 0;
	len = sizeof(type);
	if (getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_STREAM)
		_exit(35);
	if (write(s, "hi", 2) != 2)
		_exit(36);
	_exit(0);
}

static void test_connect_through_fake_router(void **state)
{
	char why[256];
	if (seccomp_sup_check(why, sizeof(why)) < 0)
		skip();
	char path[108];
	snprintf(path, sizeof(path), "/tmp/rr-test-sup-%d.sock", (int)getpid());
	unlink(path);
	int lsock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	memcpy(sun.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(lsock, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lsock, 4), 0);
	pid_t server = fork();
	assert_true(server >= 0);
	if (server == 0) {
		alarm(20);
		fake_rrouted(lsock);
	}
	close(lsock);
	int sp[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		alarm(20);
		close(sp[0]);
		child_program(sp[1]);
	}
	close(sp[1]);
	int l = seccomp_listener_recv(sp[0], child);
	close(sp[0]);
	assert_true(l >= 0);
	struct seccomp_sup *sup = seccomp_sup_new(l, path, "test", false);
	assert_non_null(sup);
	int status = -1;
	for (int i = 0; i < 200; i++) {
		struct pollfd p = { .fd = seccomp_sup_fd(sup), .events = POLLIN };
		if (poll(&p, 1, 100) > 0 && !seccomp_sup_run(sup))
			break;
		if (waitpid(child, &status, WNOHANG) == child)
			break;
	}
	seccomp_sup_free(sup);
	if (status == -1)
		assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	int sstatus;
	assert_int_equal(waitpid(server, &sstatus, 0), server);
	assert_true(WIFEXITED(sstatus));
	assert_int_equal(WEXITSTATUS(sstatus), 0);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_through_fake_router),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
