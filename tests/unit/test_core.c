/* Event loop timers and hooks, packet buffers, the index table, text buffers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/pbuf.h"
#include "core/strbuf.h"
#include "crypto/crypto.h"
#include "wg/index.h"

#define T0 (500 * NSEC_PER_SEC)

struct probe {
	struct timer t;
	int fired;
	uint64_t fired_at;
	int order;
};
static int fire_counter;
static struct loop *probe_loop;

static void probe_cb(struct timer *t)
{
	struct probe *p = container_of(t, struct probe, t);
	p->fired++;
	p->fired_at = loop_now(probe_loop);
	p->order = ++fire_counter;
}

static void setup_loop(struct loop *loop)
{
	assert_int_equal(loop_init(loop), 0);
	loop_use_manual_clock(loop, T0);
	probe_loop = loop;
	fire_counter = 0;
}

static void test_timers_fire_in_order_and_not_early(void **state)
{
	struct loop loop;
	setup_loop(&loop);
	struct probe p[5];
	uint64_t deadlines[5] = { 30, 10, 50, 20, 40 };
	for (int i = 0; i < 5; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		timer_init(&p[i].t, probe_cb);
		timer_arm(&loop, &p[i].t, T0 + deadlines[i] * NSEC_PER_MSEC, 0);
	}
	loop_set_time(&loop, T0 + 25 * NSEC_PER_MSEC);
	assert_int_equal(p[1].fired + p[3].fired, 2);
	assert_int_equal(p[0].fired + p[2].fired + p[4].fired, 0);
	assert_true(p[1].order < p[3].order);
	loop_set_time(&loop, T0 + 60 * NSEC_PER_MSEC);
	assert_true(p[0].order < p[4].order && p[4].order < p[2].order);
	for (int i = 0; i < 5; i++)
		assert_int_equal(p[i].fired, 1);
	assert_int_equal(loop.heap_len, 0);
	loop_free(&loop);
}

static void test_timer_cancel_and_rearm(void **state)
{
	struct loop loop;
	setup_loop(&loop);
	struct probe a = { 0 }, b = { 0 }, c = { 0 };
	timer_init(&a.t, probe_cb);
	timer_init(&b.t, probe_cb);
	timer_init(&c.t, probe_cb);
	timer_arm(&loop, &a.t, T0 + 10 * NSEC_PER_MSEC, 0);
	timer_arm(&loop, &b.t, T0 + 20 * NSEC_PER_MSEC, 0);
	timer_arm(&loop, &c.t, T0 + 30 * NSEC_PER_MSEC, 0);
	timer_cancel(&loop, &b.t);
	assert_false(timer_pending(&b.t));
	timer_cancel(&loop, &b.t);   /* twice is harmless */
	timer_arm(&loop, &a.t, T0 + 40 * NSEC_PER_MSEC, 0);  /* later */
	timer_arm(&loop, &c.t, T0 + 5 * NSEC_PER_MSEC, 0);   /* earlier */
	timer_arm_if_idle(&loop, &c.t, T0 + 100 * NSEC_PER_MSEC, 0);  /* no effect */
	loop_set_time(&loop, T0 + 35 * NSEC_PER_MSEC);
	assert_int_equal(c.fired, 1);
	assert_int_equal(a.fired, 0);
	assert_int_equal(b.fired, 0);
	loop_set_time(&loop, T0 + 45 * NSEC_PER_MSEC);
	assert_int_equal(a.fired, 1);
	assert_int_equal(b.fired, 0);
	loop_free(&loop);
}

/* Timers with slack land on a shared grid: many nearby deadlines, one expiry instant. */
static void test_slack_coalesces(void **state)
{
	struct loop loop;
	setup_loop(&loop);
	enum { N = 200 };
	struct probe *p = calloc(N, sizeof(*p));
	assert_non_null(p);
	for (int i = 0; i < N; i++) {
		timer_init(&p[i].t, probe_cb);
		/* deadlines spread over 200 ms, slack 250 ms */
		timer_arm(&loop, &p[i].t, T0 + NSEC_PER_SEC + (uint64_t)i * NSEC_PER_MSEC,
			  250 * NSEC_PER_MSEC);
	}
	uint64_t first = p[0].t.expires;
	int distinct = 1;
	for (int i = 1; i < N; i++) {
		assert_true(p[i].t.expires >= T0 + NSEC_PER_SEC + (uint64_t)i * NSEC_PER_MSEC);
		assert_true(p[i].t.expires - (T0 + NSEC_PER_SEC + (uint64_t)i * NSEC_PER_MSEC) <=
			    250 * NSEC_PER_MSEC);
		if (p[i].t.expires != first && (i == 0 || p[i].t.expires != p[i - 1].t.expires))
			distinct++;
	}
	assert_true(distinct <= 2);   /* at most one grid boundary inside 200 ms */
	/* No slack: exact to the nanosecond grid of 1. */
	struct probe exact = { 0 };
	timer_init(&exact.t, probe_cb);
	timer_arm(&loop, &exact.t, T0 + 123456789, 0);
	assert_int_equal(exact.t.expires, T0 + 123456789);
	loop_free(&loop);   /* before the timers it still holds go away */
	free(p);
}

static void test_many_timers_heap_consistent(void **state)
{
	struct loop loop;
	setup_loop(&loop);
	enum { N = 5000 };
	struct probe *p = calloc(N, sizeof(*p));
	assert_non_null(p);
	srand(7);
	for (int i = 0; i < N; i++) {
		timer_init(&p[i].t, probe_cb);
		timer_arm(&loop, &p[i].t, T0 + (uint64_t)(rand() % 100000) * NSEC_PER_MSEC, 0);
	}
	for (int i = 0; i < N; i += 3)
		timer_cancel(&loop, &p[i].t);
	for (int i = 1; i < N; i += 7)
		timer_arm(&loop, &p[i].t, T0 + (uint64_t)(rand() % 100000) * NSEC_PER_MSEC, 0);
	uint64_t last = 0;
	int fired = 0;
	for (uint64_t t = 0; t <= 100000; t += 997) {
		loop_set_time(&loop, T0 + t * NSEC_PER_MSEC);
		for (int i = 0; i < N; i++)
			if (p[i].fired && p[i].fired_at >= last)
				assert_true(p[i].t.expires <= loop_now(&loop));
		last = loop_now(&loop);
	}
	loop_set_time(&loop, T0 + 200000 * NSEC_PER_MSEC);
	for (int i = 0; i < N; i++) {
		if (i % 3 == 0 && !(i % 7 == 1))
			assert_int_equal(p[i].fired, 0);
		else
			assert_int_equal(p[i].fired, 1);
		fired += p[i].fired;
	}
	assert_true(fired > N / 2);
	assert_int_equal(loop.heap_len, 0);
	free(p);
	loop_free(&loop);
}

static int hook_runs;
static void hook_cb(struct loop_hook *h) { hook_runs++; }

static void test_deferred_hooks_run_once(void **state)
{
	struct loop loop;
	setup_loop(&loop);
	struct loop_hook h = { .cb = hook_cb }, g = { .cb = hook_cb };
	hook_runs = 0;
	loop_defer(&loop, &h);
	loop_defer(&loop, &h);      /* queued once */
	loop_defer(&loop, &g);
	loop_cancel_deferred(&loop, &g);
	loop_set_time(&loop, T0 + 1);
	assert_int_equal(hook_runs, 1);
	loop_set_time(&loop, T0 + 2);
	assert_int_equal(hook_runs, 1);
	loop_free(&loop);
}

struct fd_probe {
	struct loop_fd lfd;
	int events;
};
static void fd_cb(struct loop_fd *lfd, uint32_t events)
{
	struct fd_probe *p = container_of(lfd, struct fd_probe, lfd);
	char buf[16];
	p->events++;
	assert_true(read(lfd->fd, buf, sizeof(buf)) > 0);
}

/* A loop watching the read end of a pipe with a probe: what the fd tests drive. */
struct pipe_loop {
	struct loop loop;
	int fds[2];                  /* the test writes to fds[1] */
	struct fd_probe p;
};

static void pipe_loop_init(struct pipe_loop *t)
{
	assert_int_equal(loop_init(&t->loop), 0);
	assert_int_equal(pipe(t->fds), 0);
	t->p = (struct fd_probe){ .lfd = { .fd = t->fds[0], .cb = fd_cb } };
	assert_int_equal(loop_add_fd(&t->loop, &t->p.lfd, EPOLLIN), 0);
}

static void pipe_loop_free(struct pipe_loop *t)
{
	loop_del_fd(&t->loop, &t->p.lfd);
	close(t->fds[0]);
	close(t->fds[1]);
	loop_free(&t->loop);
}

static void test_fd_events_and_idle_sleep(void **state)
{
	struct pipe_loop pl;
	pipe_loop_init(&pl);
	/* Nothing ready: the loop sleeps the whole timeout and reports nothing. */
	uint64_t before = clock_now_ns();
	assert_int_equal(loop_run_once(&pl.loop, 30), 0);
	assert_true(clock_now_ns() - before >= 25 * NSEC_PER_MSEC);
	assert_int_equal(write(pl.fds[1], "x", 1), 1);
	assert_int_equal(loop_run_once(&pl.loop, 1000), 1);
	assert_int_equal(pl.p.events, 1);
	pipe_loop_free(&pl);
}

static int policy_timer_fired;
static void policy_timer_cb(struct timer *t) { policy_timer_fired++; }

/*
 * The opt-in wake-up policies change when the loop sleeps, never what it
 * dispatches: every event still arrives once, a due timer still fires, and
 * the hold does sleep after a round with events (only lower bounds of time
 * are checked: a sleep never ends early).
 */
static void test_wakeup_policy_busy_poll_and_hold(void **state)
{
	struct pipe_loop pl;
	pipe_loop_init(&pl);

	loop_set_wakeup_policy(&pl.loop, 2 * NSEC_PER_MSEC, 0);   /* busy poll 2 ms */
	assert_int_equal(write(pl.fds[1], "x", 1), 1);
	assert_int_equal(loop_run_once(&pl.loop, 1000), 1);
	assert_int_equal(pl.p.events, 1);
	/* Data written before the round: the busy poll finds it without sleeping. */
	assert_int_equal(write(pl.fds[1], "y", 1), 1);
	assert_int_equal(loop_run_once(&pl.loop, 1000), 1);
	assert_int_equal(pl.p.events, 2);
	/* Nothing comes: the poll gives up and the loop sleeps its timeout as usual. */
	uint64_t before = clock_now_ns();
	assert_int_equal(loop_run_once(&pl.loop, 20), 0);
	assert_true(clock_now_ns() - before >= 15 * NSEC_PER_MSEC);

	loop_set_wakeup_policy(&pl.loop, 0, 10 * NSEC_PER_MSEC);   /* hold 10 ms */
	assert_int_equal(write(pl.fds[1], "z", 1), 1);
	assert_int_equal(loop_run_once(&pl.loop, 1000), 1);   /* after a quiet round: no hold */
	assert_int_equal(write(pl.fds[1], "w", 1), 1);
	before = clock_now_ns();
	assert_int_equal(loop_run_once(&pl.loop, 1000), 1);   /* after a busy one: held, then read */
	assert_true(clock_now_ns() - before >= 10 * NSEC_PER_MSEC);
	assert_int_equal(pl.p.events, 4);

	/* A timer due during the hold is not starved: the next round runs it. */
	struct timer t;
	timer_init(&t, policy_timer_cb);
	assert_int_equal(write(pl.fds[1], "v", 1), 1);
	assert_int_equal(loop_run_once(&pl.loop, 1000), 1);
	timer_arm(&pl.loop, &t, loop_now(&pl.loop) + NSEC_PER_MSEC, 0);
	while (!policy_timer_fired)
		assert_true(loop_run_once(&pl.loop, 1000) >= 0);
	assert_int_equal(policy_timer_fired, 1);
	assert_int_equal(pl.p.events, 5);

	pipe_loop_free(&pl);
}

static void test_pbuf_room_and_queue(void **state)
{
	struct pbuf *b = pbuf_alloc();
	assert_non_null(b);
	assert_int_equal(pbuf_headroom(b), PBUF_HEADROOM);
	assert_int_equal(b->len, 0);
	assert_non_null(pbuf_put(b, PBUF_MTU_MAX));
	assert_non_null(pbuf_put(b, PBUF_TAILROOM));
	assert_null(pbuf_put(b, 1));                 /* no room left at the end */
	assert_non_null(pbuf_push(b, PBUF_HEADROOM));
	assert_null(pbuf_push(b, 1));                /* none at the front either */
	assert_int_equal(b->len, PBUF_SIZE);
	assert_non_null(pbuf_pull(b, 10));
	assert_null(pbuf_pull(b, PBUF_SIZE));
	pbuf_trim(b, 5);
	assert_int_equal(b->len, 5);

	struct pbuf_queue q;
	pbuf_queue_init(&q);
	struct pbuf *c = pbuf_alloc(), *d = pbuf_alloc();
	assert_non_null(c);
	assert_non_null(d);
	pbuf_queue_push(&q, b);
	pbuf_queue_push(&q, c);
	pbuf_queue_push(&q, d);
	assert_int_equal(q.len, 3);
	assert_ptr_equal(pbuf_queue_pop(&q), b);
	assert_ptr_equal(pbuf_queue_pop(&q), c);
	pbuf_free(b);
	pbuf_free(c);
	struct pbuf_stats st;
	pbuf_pool_stats(&st);
	uint64_t in_use = st.allocated;
	pbuf_queue_purge(&q);
	pbuf_pool_stats(&st);
	assert_int_equal(st.allocated, in_use - 1);
	assert_null(pbuf_queue_pop(&q));
	pbuf_pool_trim();
	pbuf_pool_stats(&st);
	assert_int_equal(st.cached, 0);
}

static void test_index_table(void **state)
{
	enum { N = 3000 };
	struct index_entry *e = calloc(N, sizeof(*e));
	struct wg_peer *fake = (struct wg_peer *)0x1;
	assert_non_null(e);
	uint64_t base = index_table_count();
	for (int i = 0; i < N; i++)
		index_table_insert(&e[i], i % 2 ? INDEX_KEYPAIR : INDEX_HANDSHAKE, fake);
	assert_int_equal(index_table_count(), base + N);
	for (int i = 0; i < N; i++) {
		assert_ptr_equal(index_table_lookup(e[i].index, INDEX_HANDSHAKE | INDEX_KEYPAIR), &e[i]);
		assert_null(index_table_lookup(e[i].index, i % 2 ? INDEX_HANDSHAKE : INDEX_KEYPAIR));
		for (int j = 0; j < i && j < 50; j++)
			assert_true(e[i].index != e[j].index);
	}
	/* A handshake's index passes to its session. */
	struct index_entry kp = { .type = INDEX_KEYPAIR, .peer = fake };
	uint32_t idx = e[0].index;
	index_table_replace(&e[0], &kp);
	assert_ptr_equal(index_table_lookup(idx, INDEX_KEYPAIR), &kp);
	assert_false(e[0].hashed);
	index_table_remove(&kp);
	assert_null(index_table_lookup(idx, INDEX_HANDSHAKE | INDEX_KEYPAIR));
	for (int i = 1; i < N; i++)
		index_table_remove(&e[i]);
	index_table_remove(&e[1]);   /* twice is harmless */
	assert_int_equal(index_table_count(), base);
	free(e);
}

static void test_strbuf_json(void **state)
{
	struct strbuf sb;
	strbuf_init(&sb);
	strbuf_json_string(&sb, "a\"b\\c\n\x01z");
	assert_string_equal(sb.data, "\"a\\\"b\\\\c\\u000a\\u0001z\"");
	strbuf_reset(&sb);
	for (int i = 0; i < 1000; i++)
		strbuf_printf(&sb, "%04d,", i);
	assert_int_equal(sb.len, 5000);
	assert_memory_equal(sb.data + 4995, "0999,", 5);
	assert_false(sb.oom);
	strbuf_free(&sb);
}

/*
 * Logging never blocks the loop (issue 13): stderr a full pipe that nobody
 * reads (a blocking one, as a shell gives) loses lines instead of hanging the
 * process; once it drains, the next line says how many were lost.
 */
static void test_log_never_blocks(void **state)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	/* fill the pipe, then make it blocking again */
	assert_int_equal(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	char junk[4096];
	memset(junk, 'x', sizeof(junk));
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	while (write(p[1], junk, 1) > 0)
		;
	assert_int_equal(fcntl(p[1], F_SETFL, 0), 0);
	assert_true(dup2(p[1], STDERR_FILENO) >= 0);
	alarm(10);   /* a log call that blocks fails the test instead of hanging it */
	enum log_level old = log_get_level();
	log_set_level(LOG_INFO);
	unsigned long before = log_lines_lost();
	for (int i = 0; i < 100; i++)
		log_info("line %d that nobody reads", i);
	alarm(0);
	assert_int_equal(log_lines_lost() - before, 100);
	/* drain: the next line goes out after the report of the lost ones */
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	while (read(p[0], junk, sizeof(junk)) > 0)
		;
	log_info("back");
	char got[512] = "";
	ssize_t n = read(p[0], got, sizeof(got) - 1);
	dup2(saved, STDERR_FILENO);
	close(saved);
	log_set_level(old);
	assert_true(n > 0);
	got[n] = '\0';
	assert_non_null(strstr(got, "log line(s) lost"));
	assert_non_null(strstr(got, "back\n"));
	assert_int_equal(log_lines_lost(), 0);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	assert_int_equal(crypto_init(), 0);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_fire_in_order_and_not_early),
		cmocka_unit_test(test_timer_cancel_and_rearm),
		cmocka_unit_test(test_slack_coalesces),
		cmocka_unit_test(test_many_timers_heap_consistent),
		cmocka_unit_test(test_deferred_hooks_run_once),
		cmocka_unit_test(test_fd_events_and_idle_sleep),
		cmocka_unit_test(test_wakeup_policy_busy_poll_and_hold),
		cmocka_unit_test(test_pbuf_room_and_queue),
		cmocka_unit_test(test_index_table),
		cmocka_unit_test(test_strbuf_json),
		cmocka_unit_test(test_log_never_blocks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
