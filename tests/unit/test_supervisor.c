/* Supervised programs and one-shot hooks, with real children and the real loop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "exec/supervisor.h"

static int done_calls, done_status;
static char done_name[80];

static void on_done(void *ctx, const char *name, int status)
{
	done_calls++;
	done_status = status;
	snprintf(done_name, sizeof(done_name), "%s", name);
	(*(int *)ctx)++;
}

/* Runs the loop until cond() or the deadline (bounded). */
static void run_until(struct loop *loop, int (*cond)(void *), void *arg, int max_ms)
{
	uint64_t end = clock_now_ns() + (uint64_t)max_ms * NSEC_PER_MSEC;
	while (!cond(arg) && clock_now_ns() < end)
		loop_run_once(loop, 50);
}

static int counter_positive(void *arg) { return *(int *)arg > 0; }

static void test_one_shot_reports_status(void **state)
{
	struct loop loop;
	struct supervisor sup;
	int ended = 0;
	assert_int_equal(loop_init(&loop), 0);
	assert_int_equal(supervisor_init(&sup, &loop, NULL, NULL), 0);
	done_calls = 0;
	assert_int_equal(supervisor_run_once(&sup, "hook", "exit 3", on_done, &ended), 0);
	assert_int_equal(supervisor_running(&sup), 1);
	run_until(&loop, counter_positive, &ended, 5000);
	assert_int_equal(done_calls, 1);
	assert_true(WIFEXITED(done_status));
	assert_int_equal(WEXITSTATUS(done_status), 3);
	assert_string_equal(done_name, "hook");
	assert_int_equal(supervisor_running(&sup), 0);
	assert_null(sup.list);
	supervisor_free(&sup);
	loop_free(&loop);
}

static void test_children_get_the_shim_environment(void **state)
{
	struct loop loop;
	struct supervisor sup;
	int ended = 0;
	char out[] = "/tmp/rr-sup-env.XXXXXX";
	int fd = mkstemp(out);
	assert_true(fd >= 0);
	close(fd);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "echo \"$LD_PRELOAD|$RRSHIM_SOCKET\" > %s", out);
	assert_int_equal(loop_init(&loop), 0);
	/* A library path that does not exist would break the shell; use an empty preload target. */
	assert_int_equal(supervisor_init(&sup, &loop, "", "/tmp/x-shim.sock"), 0);
	setenv("LD_PRELOAD", "", 1);
	assert_int_equal(supervisor_run_once(&sup, "env", cmd, on_done, &ended), 0);
	run_until(&loop, counter_positive, &ended, 5000);
	unsetenv("LD_PRELOAD");
	FILE *f = fopen(out, "r");
	assert_non_null(f);
	char line[256] = "";
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	unlink(out);
	assert_string_equal(line, "|/tmp/x-shim.sock\n");
	supervisor_free(&sup);
	loop_free(&loop);
}

static int starts_at_least_two(void *arg)
{
	struct supervisor *sup = arg;
	return sup->list && sup->list->starts >= 2;
}

static void test_program_restarts_with_backoff_and_stops(void **state)
{
	struct loop loop;
	struct supervisor sup;
	assert_int_equal(loop_init(&loop), 0);
	assert_int_equal(supervisor_init(&sup, &loop, NULL, NULL), 0);
	uint64_t t0 = clock_now_ns();
	assert_int_equal(supervisor_add_program(&sup, "flaky", "exit 1"), 0);
	run_until(&loop, starts_at_least_two, &sup, 5000);
	assert_int_equal(sup.list->starts, 2);
	/* The first restart waits the minimum backoff. */
	assert_true(clock_now_ns() - t0 >= SUPERVISOR_BACKOFF_MIN_S * NSEC_PER_SEC);
	assert_int_equal(sup.list->backoff_s, SUPERVISOR_BACKOFF_MIN_S);
	supervisor_stop_all(&sup);
	supervisor_free(&sup);
	loop_free(&loop);
}

static int none_running(void *arg) { return supervisor_running(arg) == 0; }

static void test_stop_all_terminates(void **state)
{
	struct loop loop;
	struct supervisor sup;
	assert_int_equal(loop_init(&loop), 0);
	assert_int_equal(supervisor_init(&sup, &loop, NULL, NULL), 0);
	assert_int_equal(supervisor_add_program(&sup, "sleeper", "exec sleep 30"), 0);
	assert_int_equal(supervisor_running(&sup), 1);
	pid_t pid = sup.list->pid;
	supervisor_stop_all(&sup);
	run_until(&loop, none_running, &sup, 5000);
	assert_int_equal(supervisor_running(&sup), 0);
	assert_int_equal(kill(pid, 0), -1);   /* gone and reaped */
	assert_int_equal(sup.list->starts, 1);  /* no restart while stopping */
	supervisor_free(&sup);
	loop_free(&loop);
}

/* A reload stops one program; another of the same name can start at once; a signal-killed
 * program is reported as such through the guard. */
static void test_stop_program(void **state)
{
	struct loop loop;
	struct supervisor sup;
	assert_int_equal(loop_init(&loop), 0);
	assert_int_equal(supervisor_init(&sup, &loop, NULL, NULL), 0);
	assert_int_equal(supervisor_add_program(&sup, "a", "exec sleep 30"), 0);
	assert_int_equal(supervisor_add_program(&sup, "b", "exec sleep 30"), 0);
	assert_int_equal(supervisor_stop_program(&sup, "nope"), -ENOENT);
	assert_int_equal(supervisor_stop_program(&sup, "a"), 0);
	assert_int_equal(supervisor_stop_program(&sup, "a"), -ENOENT);   /* already going */
	assert_int_equal(supervisor_add_program(&sup, "a", "exec sleep 31"), 0);
	assert_int_equal(supervisor_running(&sup), 3);
	uint64_t end = clock_now_ns() + 5 * NSEC_PER_SEC;
	while (supervisor_running(&sup) > 2 && clock_now_ns() < end)
		loop_run_once(&loop, 50);
	assert_int_equal(supervisor_running(&sup), 2);
	/* The old "a" entry is freed; the new one and "b" remain, neither restarted. */
	size_t n = 0;
	for (struct supervised *s = sup.list; s; s = s->next, n++)
		assert_int_equal(s->starts, 1);
	assert_int_equal(n, 2);
	supervisor_free(&sup);
	loop_free(&loop);
}

static int read_pids(const char *path, pid_t *pids, int max)
{
	FILE *f = fopen(path, "r");
	int n = 0, v;
	if (!f)
		return 0;
	while (n < max && fscanf(f, "%d", &v) == 1)
		pids[n++] = v;
	fclose(f);
	return n;
}

/*
 * No orphans: a "daemon" process supervises a shell that starts two
 * background sleeps (grandchildren of the guard); SIGKILL to the daemon must
 * take them all down, though nothing runs in the daemon any more.
 */
static void test_no_orphans_after_sigkill(void **state)
{
	char out[] = "/tmp/rr-sup-orphans.XXXXXX";
	int fd = mkstemp(out);
	assert_true(fd >= 0);
	close(fd);
	pid_t daemon = fork();
	assert_true(daemon >= 0);
	if (daemon == 0) {
		struct loop loop;
		struct supervisor sup;
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "sleep 60 & echo $! >> %s; sleep 60 & echo $! >> %s; wait",
			 out, out);
		if (loop_init(&loop) < 0 || supervisor_init(&sup, &loop, NULL, NULL) < 0 ||
		    supervisor_add_program(&sup, "bg", cmd) < 0)
			_exit(1);
		for (;;)
			loop_run_once(&loop, 1000);
	}
	pid_t pids[2];
	uint64_t end = clock_now_ns() + 5 * NSEC_PER_SEC;
	while (read_pids(out, pids, 2) < 2 && clock_now_ns() < end)
		usleep(10000);
	assert_int_equal(read_pids(out, pids, 2), 2);
	assert_int_equal(kill(pids[0], 0), 0);
	assert_int_equal(kill(daemon, SIGKILL), 0);
	assert_int_equal(waitpid(daemon, NULL, 0), daemon);
	end = clock_now_ns() + 5 * NSEC_PER_SEC;
	while ((kill(pids[0], 0) == 0 || kill(pids[1], 0) == 0) && clock_now_ns() < end)
		usleep(10000);
	int alive0 = kill(pids[0], 0) == 0, alive1 = kill(pids[1], 0) == 0;
	if (alive0)
		kill(pids[0], SIGKILL);
	if (alive1)
		kill(pids[1], SIGKILL);
	unlink(out);
	assert_false(alive0);
	assert_false(alive1);
}

static void test_hook_expansion(void **state)
{
	char *s = supervisor_expand_hook("ip addr add 172.20.1.1/32 peer 172.20.2.2/32 dev %i; echo %i%%i",
					 "wg0");
	assert_string_equal(s, "ip addr add 172.20.1.1/32 peer 172.20.2.2/32 dev wg0; echo wg0%wg0");
	free(s);
	s = supervisor_expand_hook("no substitution %", "x");
	assert_string_equal(s, "no substitution %");
	free(s);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_shot_reports_status),
		cmocka_unit_test(test_children_get_the_shim_environment),
		cmocka_unit_test(test_program_restarts_with_backoff_and_stops),
		cmocka_unit_test(test_stop_all_terminates),
		cmocka_unit_test(test_stop_program),
		cmocka_unit_test(test_no_orphans_after_sigkill),
		cmocka_unit_test(test_hook_expansion),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
