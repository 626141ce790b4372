/* Supervised programs and one-shot hooks, with real children and the real loop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

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
		cmocka_unit_test(test_hook_expansion),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
