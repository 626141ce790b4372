/*
 * The shim's error queue (src/shim/shim_errqueue.c, compiled into this test
 * with stand-ins for the rest of the shim): a local error (EMSGSIZE against
 * the path MTU, as Linux's ip_local_error queues it for tracepath) read back
 * with recvmsg(MSG_ERRQUEUE): SO_EE_ORIGIN_LOCAL, the MTU in ee_info, no
 * offender, no data, the destination as msg_name.
 */
/* First: cmocka's fail() macro would clash with the shim's fail(). */
#include "shim/shim_errqueue.c"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

/* ---- stand-ins for the rest of librrshim.so ---- */
struct shim_real shim_real;
void shim_resolve(void) {}
bool shim_enabled(void) { return false; }
void shim_log_once(const char *key, const char *fmt, ...) {}
void shim_log(const char *fmt, ...) {}
uint8_t shim_fd_dgram_flags(int fd) { return 0; }
bool shim_fd_get(int fd, struct shim_fd *out) { return false; }

static void errq_case(int domain, const char *dst_text, uint32_t mtu)
{
	struct shim_fd e;
	memset(&e, 0, sizeof(e));
	e.domain = domain;
	e.opts.recverr = 1;
	struct shim_addr dst;
	memset(&dst, 0, sizeof(dst));
	dst.family = strchr(dst_text, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(dst.family, dst_text, dst.addr), 1);
	dst.port = 44444;
	int fd = 7;
	shim_errq_local(fd, &e, &dst, EMSGSIZE, mtu);

	uint8_t data[64], ctl[256];
	struct sockaddr_in6 name;
	struct iovec iov = { data, sizeof(data) };
	struct msghdr msg = { .msg_name = &name, .msg_namelen = sizeof(name), .msg_iov = &iov,
			      .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	assert_int_equal(shim_errq_recvmsg(fd, &e, &msg, MSG_ERRQUEUE), 0);   /* no data */
	assert_true(msg.msg_flags & MSG_ERRQUEUE);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	assert_non_null(c);
	assert_int_equal(c->cmsg_level, domain == AF_INET ? IPPROTO_IP : IPPROTO_IPV6);
	assert_int_equal(c->cmsg_type, domain == AF_INET ? IP_RECVERR : IPV6_RECVERR);
	struct sock_extended_err ee;
	memcpy(&ee, CMSG_DATA(c), sizeof(ee));
	assert_int_equal(ee.ee_errno, EMSGSIZE);
	assert_int_equal(ee.ee_origin, SO_EE_ORIGIN_LOCAL);
	assert_int_equal(ee.ee_info, mtu);
	struct sockaddr_storage off;
	memcpy(&off, CMSG_DATA(c) + sizeof(ee), sizeof(struct sockaddr_in));
	assert_int_equal(off.ss_family, AF_UNSPEC);   /* SO_EE_OFFENDER: nobody */
	if (domain == AF_INET) {
		struct sockaddr_in in;
		memcpy(&in, &name, sizeof(in));
		assert_int_equal(msg.msg_namelen, sizeof(in));
		assert_int_equal(in.sin_family, AF_INET);
		assert_int_equal(ntohs(in.sin_port), 44444);
		assert_memory_equal(&in.sin_addr, dst.addr, 4);
	} else {
		assert_int_equal(msg.msg_namelen, sizeof(name));
		assert_int_equal(name.sin6_family, AF_INET6);
		assert_memory_equal(&name.sin6_addr, dst.addr, 16);
	}
	/* Read once: the queue is empty again. */
	assert_false(kept_any(fd));
}

static ssize_t no_data_recv(int fd, void *buf, size_t len, int flags)
{
	errno = EAGAIN;
	return -1;
}

static void test_local_error_v4(void **state)
{
	errq_case(AF_INET, "172.20.4.2", 1420);
}

static void test_local_error_v6(void **state)
{
	errq_case(AF_INET6, "fd42:4::2", 1280);
}

static void test_empty_queue_eagain(void **state)
{
	struct shim_fd e;
	memset(&e, 0, sizeof(e));
	e.domain = AF_INET;
	shim_real.recv = no_data_recv;
	uint8_t data[8];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	errno = 0;
	assert_int_equal(shim_errq_recvmsg(9, &e, &msg, MSG_ERRQUEUE), -1);
	assert_int_equal(errno, EAGAIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_error_v4),
		cmocka_unit_test(test_local_error_v6),
		cmocka_unit_test(test_empty_queue_eagain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
