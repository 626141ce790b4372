/* The private socket directory and the peer-credential check of the local sockets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/localsock.h"

static char base[64];

static int setup(void **state)
{
	snprintf(base, sizeof(base), "/tmp/rr-test-localsock.XXXXXX");
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_creates_private_dir(void **state)
{
	char dir[128], err[256];
	snprintf(dir, sizeof(dir), "%s/d", base);
	assert_int_equal(localsock_ensure_private_dir(dir, err, sizeof(err)), 0);
	struct stat st;
	assert_int_equal(lstat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	/* Again: it is there and fine. */
	assert_int_equal(localsock_ensure_private_dir(dir, err, sizeof(err)), 0);
}

static void test_closes_our_open_dir(void **state)
{
	char dir[128], err[256];
	snprintf(dir, sizeof(dir), "%s/open", base);
	assert_int_equal(mkdir(dir, 0777), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(localsock_ensure_private_dir(dir, err, sizeof(err)), 0);
	struct stat st;
	assert_int_equal(lstat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
}

static void test_refuses_symlink_and_file(void **state)
{
	char dir[128], link[128], file[128], err[256];
	snprintf(dir, sizeof(dir), "%s/real", base);
	snprintf(link, sizeof(link), "%s/link", base);
	snprintf(file, sizeof(file), "%s/file", base);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(symlink(dir, link), 0);
	assert_int_equal(localsock_ensure_private_dir(link, err, sizeof(err)), -ENOTDIR);
	assert_non_null(strstr(err, link));
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(localsock_ensure_private_dir(file, err, sizeof(err)), -ENOTDIR);
}

static void test_refuses_strangers_dir(void **state)
{
	if (geteuid() != 0) {
		skip();   /* needs root to give a directory to another user */
		return;
	}
	char dir[128], err[256];
	snprintf(dir, sizeof(dir), "%s/stranger", base);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chown(dir, 65533, 65533), 0);
	assert_int_equal(localsock_ensure_private_dir(dir, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "belongs to uid 65533"));
	struct stat st;
	assert_int_equal(lstat(dir, &st), 0);
	assert_int_equal(st.st_uid, 65533);   /* left as it was */
}

static void test_peer_trusted(void **state)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	uid_t uid = (uid_t)-1;
	assert_true(localsock_peer_trusted(sv[0], &uid));
	assert_int_equal(uid, geteuid());
	close(sv[0]);
	close(sv[1]);
	/* Not a socket: no credentials, not trusted. */
	assert_false(localsock_peer_trusted(-1, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_creates_private_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_closes_our_open_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_symlink_and_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_strangers_dir, setup, teardown),
		cmocka_unit_test(test_peer_trusted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
