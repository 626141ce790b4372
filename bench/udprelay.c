/*
 * udprelay: the wake-up floor of a forwarding daemon, for bench/wggo_udp.sh.
 *
 * A trivial UDP relay with rrouted's event-loop shape and none of its work:
 * level-triggered epoll, one recvmmsg of up to 32 datagrams per readable
 * socket per wake-up, one sendmmsg of what it got, no crypto, no routing.
 * Datagrams arriving on socket A go out of socket B to a fixed address;
 * datagrams arriving on B go out of A to the last source A heard from.
 * Run in rrouted's place (same namespace, CPU and priority, same traffic),
 * its CPU time per packet is what any such daemon pays to be woken, receive
 * and send on this machine, so rrouted's cost minus this and the crypto floor
 * is rrouted's own work.
 *
 *   udprelay A_ADDR:PORT B_ADDR:PORT TO_ADDR:PORT     (IPv4)
 *
 * SIGUSR1 prints "relay_a_to_b N relay_b_to_a M" (datagrams sent) on stdout;
 * SIGTERM or SIGINT exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 32
#define DGRAM_MAX 65536
#define SOCKET_BUFFER_BYTES (4 << 20)   /* as rrouted's WireGuard sockets */

static volatile sig_atomic_t report_asked, stop_asked;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		report_asked = 1;
	else
		stop_asked = 1;
}

static bool parse_addr(const char *s, struct sockaddr_in *out)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return false;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535)
		return false;
	*out = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	return inet_pton(AF_INET, host, &out->sin_addr) == 1;
}

static int open_bound(const struct sockaddr_in *a)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int size = SOCKET_BUFFER_BYTES;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (bind(fd, (const struct sockaddr *)a, sizeof(*a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

struct side {
	int fd;
	unsigned long long sent;   /* datagrams sent out of the other side */
};

/* One recvmmsg on `from`, one sendmmsg of what came to `to` out of `out_fd`. */
static void relay_once(struct side *from, int out_fd, const struct sockaddr_in *to,
		       struct sockaddr_in *last_src)
{
	static uint8_t bufs[BATCH][DGRAM_MAX];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in src[BATCH];
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &src[i], .msg_namelen = sizeof(src[i]),
			.msg_iov = &iov[i], .msg_iovlen = 1,
		};
	}
	int n = recvmmsg(from->fd, msgs, BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	if (last_src)
		*last_src = src[n - 1];
	if (!to->sin_port)   /* B spoke before A: nobody to send to yet */
		return;
	for (int i = 0; i < n; i++) {
		iov[i].iov_len = msgs[i].msg_len;
		msgs[i].msg_hdr = (struct msghdr){
			.msg_name = (void *)to, .msg_namelen = sizeof(*to),
			.msg_iov = &iov[i], .msg_iovlen = 1,
		};
	}
	int done = 0;
	while (done < n) {
		int r = sendmmsg(out_fd, msgs + done, (unsigned)(n - done), MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;   /* a full buffer or an unreachable peer: dropped, as a router would */
		}
		done += r;
	}
	from->sent += (unsigned long long)done;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a_addr, b_addr, to_b, to_a = { 0 };
	if (argc != 4 || !parse_addr(argv[1], &a_addr) || !parse_addr(argv[2], &b_addr) ||
	    !parse_addr(argv[3], &to_b)) {
		fprintf(stderr, "usage: udprelay A_ADDR:PORT B_ADDR:PORT TO_ADDR:PORT (IPv4)\n");
		return 2;
	}
	struct side a = { .fd = open_bound(&a_addr) }, b = { .fd = open_bound(&b_addr) };
	if (a.fd < 0 || b.fd < 0) {
		fprintf(stderr, "udprelay: cannot bind %s or %s: %s\n", argv[1], argv[2],
			strerror(errno));
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGINT, &sa, NULL) < 0) {
		perror("udprelay: sigaction");
		return 1;
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ea = { .events = EPOLLIN, .data.ptr = &a };
	struct epoll_event eb = { .events = EPOLLIN, .data.ptr = &b };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, a.fd, &ea) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, b.fd, &eb) < 0) {
		perror("udprelay: epoll");
		return 1;
	}
	printf("udprelay ready\n");
	fflush(stdout);
	while (!stop_asked) {
		if (report_asked) {
			report_asked = 0;
			printf("relay_a_to_b %llu relay_b_to_a %llu\n", a.sent, b.sent);
			fflush(stdout);
		}
		struct epoll_event ev[2];
		/* A bounded wait so a report asked between the check and the wait is not lost. */
		int n = epoll_wait(ep, ev, 2, 200);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("udprelay: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == &a)
				relay_once(&a, b.fd, &to_b, &to_a);
			else
				relay_once(&b, a.fd, &to_a, NULL);
		}
	}
	return 0;
}
