/* One request per connection, then close: the client slots both local servers share (ctl/oneshot.h). */
#include "ctl/oneshot.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static void client_free(struct oneshot_client *c)
{
	struct oneshot_server *s = c->srv;
	for (struct oneshot_client **pp = &s->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	s->n_clients--;
	timer_cancel(s->loop, &c->deadline);
	loop_del_fd(s->loop, &c->lfd);
	close(c->lfd.fd);
	strbuf_free(&c->out);
	free(c);
}

static void client_event(struct loop_fd *lfd, uint32_t events)
{
	struct oneshot_client *c = container_of(lfd, struct oneshot_client, lfd);
	if (!c->replying) {
		int r = c->srv->read_request(c);
		if (r == 0)
			return;
		if (r < 0 || loop_mod_fd(c->srv->loop, lfd, EPOLLOUT) < 0) {
			client_free(c);
			return;
		}
		c->replying = true;
		events = EPOLLOUT;
	}
	if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
		while (c->out_off < c->out.len) {
			ssize_t n = send(lfd->fd, c->out.data + c->out_off, c->out.len - c->out_off,
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (n <= 0)
				break;
			c->out_off += (size_t)n;
		}
		client_free(c);
	}
}

static void client_timed_out(struct timer *t)
{
	struct oneshot_client *c = container_of(t, struct oneshot_client, deadline);
	if (c->srv->timed_out)
		c->srv->timed_out(c);
	client_free(c);
}

int oneshot_add(struct oneshot_server *s, int fd)
{
	if (s->n_clients >= s->max_clients)
		return -EBUSY;
	struct oneshot_client *c = calloc(1, sizeof(*c) + s->request_max);
	if (!c)
		return -ENOMEM;
	c->srv = s;
	c->lfd.fd = fd;
	c->lfd.cb = client_event;
	strbuf_init(&c->out);
	int r = loop_add_fd(s->loop, &c->lfd, EPOLLIN);
	if (r < 0) {
		free(c);
		return r;
	}
	c->next = s->clients;
	s->clients = c;
	s->n_clients++;
	timer_init(&c->deadline, client_timed_out);
	timer_arm(s->loop, &c->deadline, loop_now(s->loop) + s->timeout_ns, NSEC_PER_SEC / 10);
	return 0;
}

void oneshot_drop_all(struct oneshot_server *s)
{
	while (s->clients)
		client_free(s->clients);
}
