#include "core/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

uint64_t clock_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

int loop_init(struct loop *loop)
{
	*loop = (struct loop){ 0 };
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return -errno;
	loop->now = clock_now_ns();
	return 0;
}

void loop_free(struct loop *loop)
{
	if (loop->epfd >= 0)
		close(loop->epfd);
	for (uint32_t i = 0; i < loop->heap_len; i++)
		loop->heap[i]->heap_index = TIMER_IDLE;
	free(loop->heap);
	loop->heap = NULL;
	loop->heap_len = loop->heap_cap = 0;
	loop->epfd = -1;
}

void loop_stop(struct loop *loop) { loop->stopping = true; }

int loop_add_fd(struct loop *loop, struct loop_fd *lfd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = lfd };
	return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, lfd->fd, &ev) < 0 ? -errno : 0;
}

int loop_mod_fd(struct loop *loop, struct loop_fd *lfd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = lfd };
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, lfd->fd, &ev) < 0 ? -errno : 0;
}

void loop_del_fd(struct loop *loop, struct loop_fd *lfd)
{
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, lfd->fd, NULL);
}

void loop_defer(struct loop *loop, struct loop_hook *hook)
{
	if (hook->queued)
		return;
	hook->queued = true;
	hook->next = loop->deferred;
	loop->deferred = hook;
}

void loop_cancel_deferred(struct loop *loop, struct loop_hook *hook)
{
	if (!hook->queued)
		return;
	for (struct loop_hook **pp = &loop->deferred; *pp; pp = &(*pp)->next) {
		if (*pp == hook) {
			*pp = hook->next;
			break;
		}
	}
	hook->queued = false;
}

/* ---- timer heap, ordered by expires ---- */

static void heap_set(struct loop *loop, uint32_t i, struct timer *t)
{
	loop->heap[i] = t;
	t->heap_index = i;
}

static void heap_sift_up(struct loop *loop, uint32_t i)
{
	struct timer *t = loop->heap[i];
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (loop->heap[parent]->expires <= t->expires)
			break;
		heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_set(loop, i, t);
}

static void heap_sift_down(struct loop *loop, uint32_t i)
{
	struct timer *t = loop->heap[i];
	for (;;) {
		uint32_t child = 2 * i + 1;
		if (child >= loop->heap_len)
			break;
		if (child + 1 < loop->heap_len &&
		    loop->heap[child + 1]->expires < loop->heap[child]->expires)
			child++;
		if (t->expires <= loop->heap[child]->expires)
			break;
		heap_set(loop, i, loop->heap[child]);
		i = child;
	}
	heap_set(loop, i, t);
}

static void heap_remove(struct loop *loop, struct timer *t)
{
	uint32_t i = t->heap_index;
	struct timer *last = loop->heap[--loop->heap_len];
	t->heap_index = TIMER_IDLE;
	if (last == t)
		return;
	heap_set(loop, i, last);
	heap_sift_up(loop, i);
	heap_sift_down(loop, last->heap_index);
}

void timer_init(struct timer *t, timer_cb cb)
{
	t->expires = 0;
	t->heap_index = TIMER_IDLE;
	t->cb = cb;
}

/* The coarsest grid no wider than the slack: 1 ms .. 1 s, in powers of 4 ms. */
static uint64_t grid_for_slack(uint64_t slack)
{
	static const uint64_t grids[] = {
		1000 * NSEC_PER_MSEC, 250 * NSEC_PER_MSEC, 64 * NSEC_PER_MSEC,
		16 * NSEC_PER_MSEC, 4 * NSEC_PER_MSEC, 1 * NSEC_PER_MSEC,
	};
	for (unsigned i = 0; i < sizeof(grids) / sizeof(grids[0]); i++)
		if (grids[i] <= slack)
			return grids[i];
	return 1;
}

void timer_arm(struct loop *loop, struct timer *t, uint64_t deadline, uint64_t slack)
{
	uint64_t grid = grid_for_slack(slack);
	uint64_t expires = (deadline + grid - 1) / grid * grid;

	if (timer_pending(t)) {
		uint64_t old = t->expires;
		t->expires = expires;
		if (expires < old)
			heap_sift_up(loop, t->heap_index);
		else
			heap_sift_down(loop, t->heap_index);
		return;
	}
	if (loop->heap_len == loop->heap_cap) {
		uint32_t cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
		struct timer **heap = realloc(loop->heap, cap * sizeof(*heap));
		if (!heap) {
			/* Out of memory: nothing sane to do with a lost timer. */
			log_error("out of memory growing the timer heap to %u entries", cap);
			abort();
		}
		loop->heap = heap;
		loop->heap_cap = cap;
	}
	t->expires = expires;
	heap_set(loop, loop->heap_len++, t);
	heap_sift_up(loop, t->heap_index);
}

void timer_arm_if_idle(struct loop *loop, struct timer *t, uint64_t deadline, uint64_t slack)
{
	if (!timer_pending(t))
		timer_arm(loop, t, deadline, slack);
}

void timer_cancel(struct loop *loop, struct timer *t)
{
	if (timer_pending(t))
		heap_remove(loop, t);
}

uint64_t loop_next_timer_in(const struct loop *loop)
{
	if (loop->heap_len == 0)
		return UINT64_MAX;
	uint64_t exp = loop->heap[0]->expires;
	return exp > loop->now ? exp - loop->now : 0;
}

static void run_timers(struct loop *loop)
{
	while (loop->heap_len > 0 && loop->heap[0]->expires <= loop->now) {
		struct timer *t = loop->heap[0];
		heap_remove(loop, t);
		t->cb(t);
	}
}

static void run_deferred(struct loop *loop)
{
	while (loop->deferred) {
		struct loop_hook *h = loop->deferred;
		loop->deferred = h->next;
		h->queued = false;
		h->cb(h);
	}
}

void loop_set_wakeup_policy(struct loop *loop, uint64_t busy_poll_ns, uint64_t hold_ns)
{
	loop->busy_poll_ns = busy_poll_ns;
	loop->hold_ns = hold_ns;
}

/* Sleeps up to ns, but not past the next timer (its callback must not be late). */
static void hold_wakeup(struct loop *loop, uint64_t ns)
{
	uint64_t next = loop_next_timer_in(loop);
	if (next < ns)
		ns = next;
	if (ns == 0)
		return;
	struct timespec ts = { .tv_sec = (time_t)(ns / NSEC_PER_SEC),
			       .tv_nsec = (long)(ns % NSEC_PER_SEC) };
	nanosleep(&ts, NULL);   /* EINTR: a signal cuts the hold short, which is fine */
}

/* Polls epoll without sleeping until events come or ns pass; returns what epoll_wait did. */
static int busy_poll(struct loop *loop, struct epoll_event *events, int max, uint64_t ns)
{
	uint64_t next = loop_next_timer_in(loop);
	if (next < ns)
		ns = next;
	uint64_t end = loop->now + ns;
	for (;;) {
		int n = epoll_wait(loop->epfd, events, max, 0);
		if (n != 0 || clock_now_ns() >= end)
			return n;
	}
}

int loop_run_once(struct loop *loop, int max_wait_ms)
{
	struct epoll_event events[64];
	int timeout = max_wait_ms;
	if (!loop->manual_clock)
		loop->now = clock_now_ns();
	bool under_traffic = loop->last_had_events && !loop->manual_clock && !loop->deferred &&
			     max_wait_ms != 0;
	if (under_traffic && loop->hold_ns) {
		hold_wakeup(loop, loop->hold_ns);
		loop->now = clock_now_ns();
	}
	int n = 0;
	if (under_traffic && loop->busy_poll_ns) {
		n = busy_poll(loop, events, 64, loop->busy_poll_ns);
		if (!loop->manual_clock)
			loop->now = clock_now_ns();
	}
	uint64_t next = loop->manual_clock ? UINT64_MAX : loop_next_timer_in(loop);
	if (loop->deferred) {
		timeout = 0;
	} else if (next != UINT64_MAX) {
		uint64_t ms = (next + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC;
		if (ms > 24 * 3600 * 1000ULL)
			ms = 24 * 3600 * 1000ULL;
		if (timeout < 0 || (uint64_t)timeout > ms)
			timeout = (int)ms;
	}
	if (n == 0)
		n = epoll_wait(loop->epfd, events, 64, timeout);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return -errno;
	}
	loop->wakeups++;
	loop->last_had_events = n > 0;
	if (!loop->manual_clock)
		loop->now = clock_now_ns();
	for (int i = 0; i < n; i++) {
		struct loop_fd *lfd = events[i].data.ptr;
		lfd->cb(lfd, events[i].events);
	}
	run_timers(loop);
	run_deferred(loop);
	return n;
}

int loop_run(struct loop *loop)
{
	while (!loop->stopping) {
		int r = loop_run_once(loop, -1);
		if (r < 0)
			return r;
	}
	return 0;
}

void loop_use_manual_clock(struct loop *loop, uint64_t start)
{
	loop->manual_clock = true;
	loop->now = start;
}

void loop_set_time(struct loop *loop, uint64_t now)
{
	loop->now = now;
	run_timers(loop);
	run_deferred(loop);
}
