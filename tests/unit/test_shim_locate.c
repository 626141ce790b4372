/* Where rrouted and rrctl look for librrshim.so (exec/shim_locate.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/shim_locate.h"

/* $RRSHIM_LIB wins when the file is there, and is reported when it is not. */
static void test_env_override(void **state)
{
	char tmp[] = "/tmp/rr-test-shim.XXXXXX", out[PATH_MAX];
	int fd = mkstemp(tmp);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(setenv("RRSHIM_LIB", tmp, 1), 0);
	assert_int_equal(shim_locate(out, sizeof(out)), 0);
	assert_string_equal(out, tmp);
	assert_int_equal(unlink(tmp), 0);
	assert_int_equal(shim_locate(out, sizeof(out)), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(out, tmp);
	unsetenv("RRSHIM_LIB");
}

/* Without it, a failure names the configured directory, the last place tried. */
static void test_configured_dir_last(void **state)
{
	char out[PATH_MAX], want[PATH_MAX];
	unsetenv("RRSHIM_LIB");
	snprintf(want, sizeof(want), "%s/" SHIM_LIB_NAME, shim_configured_dir());
	if (access(want, R_OK) == 0)
		skip();   /* installed on this machine: found, nothing to say about failure */
	assert_int_equal(shim_locate(out, sizeof(out)), -1);
	assert_string_equal(out, want);
	assert_true(shim_configured_dir()[0] == '/');
}

/* A buffer too small is an error, never a truncated path. */
static void test_too_small(void **state)
{
	char out[8];
	assert_int_equal(setenv("RRSHIM_LIB", "/a/long/path/librrshim.so", 1), 0);
	assert_int_equal(shim_locate(out, sizeof(out)), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	unsetenv("RRSHIM_LIB");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_override),
		cmocka_unit_test(test_configured_dir_last),
		cmocka_unit_test(test_too_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
