/*
 * Reading one shim message and the fd passed with it: shared by the unit
 * tests (through testlib.h) and the fuzz harnesses, so it needs no cmocka.
 */
#ifndef RR_TESTS_SHIM_RECV_H
#define RR_TESTS_SHIM_RECV_H

#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/*
 * One shim message from ctl without blocking, into buf (len bytes). *fd gets
 * an fd passed with it, or -1. Returns what recvmsg returned; the caller
 * asserts on it, as each test checks replies differently.
 */
static inline ssize_t tl_shim_recv(int ctl, void *buf, size_t len, int *fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
			     .msg_controllen = sizeof(cm.b) };
	ssize_t n = recvmsg(ctl, &mh, MSG_DONTWAIT);
	*fd = -1;
	if (n < 0)
		return n;
	for (struct cmsghdr *ch = CMSG_FIRSTHDR(&mh); ch; ch = CMSG_NXTHDR(&mh, ch))
		if (ch->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(ch), sizeof(int));
	return n;
}

#endif
