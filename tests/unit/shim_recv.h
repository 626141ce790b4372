/*
 * Reading one shim message and the fd passed with it: shared by the unit
 * tests (through testlib.h) and the fuzz harnesses, so it needs no cmocka.
 */
#ifndef RR_TESTS_SHIM_RECV_H
#define RR_TESTS_SHIM_RECV_H

#include <sys/socket.h>
#include <sys/types.h>

#include "stack/shim_proto.h"

/*
 * One shim message from ctl without blocking, into buf (len bytes). *fd gets
 * an fd passed with it, or -1. Returns what recvmsg returned; the caller
 * asserts on it, as each test checks replies differently.
 */
static inline ssize_t tl_shim_recv(int ctl, void *buf, size_t len, int *fd)
{
	return shim_recv_with_fd(recvmsg, ctl, buf, len, MSG_DONTWAIT, fd, NULL);
}

#endif
