/*
 * The one event loop: epoll for file descriptors, a binary heap of timers,
 * and deferred hooks that run once after each round of dispatch (used to
 * flush batched sends). Nothing polls: the loop sleeps in epoll_wait until an
 * fd is ready or the earliest timer is due.
 *
 * Timers carry a slack; their expiry is rounded up onto a coarse grid chosen
 * from the slack, so thousands of peer timers armed at slightly different
 * moments fire in one wake-up instead of thousands.
 */
#ifndef RR_CORE_LOOP_H
#define RR_CORE_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NSEC_PER_SEC  1000000000ULL
#define NSEC_PER_MSEC 1000000ULL

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

struct loop_fd;
typedef void (*loop_fd_cb)(struct loop_fd *lfd, uint32_t events);

/* Embed in the owning object; the callback finds it with container_of. */
struct loop_fd {
	int fd;
	loop_fd_cb cb;
};

struct timer;
typedef void (*timer_cb)(struct timer *t);

struct timer {
	uint64_t expires;     /* rounded expiry, CLOCK_MONOTONIC ns */
	uint32_t heap_index;  /* TIMER_IDLE when not armed */
	timer_cb cb;
};
#define TIMER_IDLE UINT32_MAX

struct loop_hook;
typedef void (*loop_hook_cb)(struct loop_hook *h);
struct loop_hook {
	loop_hook_cb cb;
	struct loop_hook *next;
	bool queued;
};

struct loop {
	int epfd;
	bool stopping;
	uint64_t now;               /* refreshed once per wake-up */
	struct timer **heap;
	uint32_t heap_len, heap_cap;
	struct loop_hook *deferred;
	uint64_t wakeups;           /* for benchmarks: epoll_wait returns */
	bool manual_clock;          /* tests: time moves only by loop_set_time() */
	/* Opt-in wake-up policy (loop_set_wakeup_policy); both 0 by default. */
	uint64_t busy_poll_ns, hold_ns;
	bool last_had_events;       /* the previous round dispatched fd events */
};

int loop_init(struct loop *loop);
void loop_free(struct loop *loop);
/* Runs until loop_stop(); returns 0, or -errno if epoll fails. */
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);
/* One round: wait at most max_wait_ms (-1: until something happens). For tests. */
int loop_run_once(struct loop *loop, int max_wait_ms);

/*
 * Fewer sleeping wake-ups under traffic, at a latency or CPU price; both off
 * (0) by default. After a round that had fd events, busy_poll_ns polls epoll
 * without sleeping for up to that long before blocking (burns CPU to skip the
 * wake-up when the next packet comes soon); hold_ns sleeps that long before
 * looking again, so the packets of that time are handled in one batch
 * (interrupt moderation: adds up to hold_ns of latency). Timers keep their time.
 */
void loop_set_wakeup_policy(struct loop *loop, uint64_t busy_poll_ns, uint64_t hold_ns);

int loop_add_fd(struct loop *loop, struct loop_fd *lfd, uint32_t events);
int loop_mod_fd(struct loop *loop, struct loop_fd *lfd, uint32_t events);
void loop_del_fd(struct loop *loop, struct loop_fd *lfd);

/* Queue a hook to run once after the current round of events and timers. */
void loop_defer(struct loop *loop, struct loop_hook *hook);
/* Unqueues a hook whose owner is going away. */
void loop_cancel_deferred(struct loop *loop, struct loop_hook *hook);

uint64_t clock_now_ns(void);
/* Tests: switch to a manual clock, then move it forward and run what is due. */
void loop_use_manual_clock(struct loop *loop, uint64_t start);
void loop_set_time(struct loop *loop, uint64_t now);
static inline uint64_t loop_now(const struct loop *loop) { return loop->now; }

void timer_init(struct timer *t, timer_cb cb);
/* (Re)arm to fire at or after deadline, at most about slack later. */
void timer_arm(struct loop *loop, struct timer *t, uint64_t deadline, uint64_t slack);
/* Arm only if not armed already (WireGuard's "mod_timer_pending"-less helpers). */
void timer_arm_if_idle(struct loop *loop, struct timer *t, uint64_t deadline, uint64_t slack);
void timer_cancel(struct loop *loop, struct timer *t);
static inline bool timer_pending(const struct timer *t) { return t->heap_index != TIMER_IDLE; }
/* Nanoseconds until the next timer, or UINT64_MAX if none. */
uint64_t loop_next_timer_in(const struct loop *loop);

#endif
