/* exec/capless.c: PT_INTERP from ELF files (real and crafted), PATH lookup, argv. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exec/capless.h"

/* A memfd holding len bytes of buf. */
static int memfile(const void *buf, size_t len)
{
	int fd = memfd_create("elf", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	return fd;
}

/* A minimal 64-bit ELF: header, two program headers (LOAD, INTERP), the interpreter path. */
struct tiny_elf {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	char interp[32];
};

static void tiny_elf_init(struct tiny_elf *t, const char *interp)
{
	memset(t, 0, sizeof(*t));
	memcpy(t->eh.e_ident, ELFMAG, SELFMAG);
	t->eh.e_ident[EI_CLASS] = ELFCLASS64;
	t->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	t->eh.e_type = ET_DYN;
	t->eh.e_phoff = offsetof(struct tiny_elf, ph);
	t->eh.e_phentsize = sizeof(Elf64_Phdr);
	t->eh.e_phnum = 2;
	t->ph[0].p_type = PT_LOAD;
	t->ph[1].p_type = PT_INTERP;
	t->ph[1].p_offset = offsetof(struct tiny_elf, interp);
	t->ph[1].p_filesz = strlen(interp) + 1;
	memcpy(t->interp, interp, strlen(interp) + 1);
}

static void test_interp_of_crafted_elf(void **state)
{
	struct tiny_elf t;
	char buf[64];
	tiny_elf_init(&t, "/lib/ld-test.so.2");
	int fd = memfile(&t, sizeof(t));
	assert_int_equal(capless_elf_interp(fd, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/lib/ld-test.so.2");
	/* Too small a buffer is an error, not a truncated path. */
	assert_int_equal(capless_elf_interp(fd, buf, 8), -ENAMETOOLONG);
	close(fd);
}

static void test_interp_refuses_bad_files(void **state)
{
	struct tiny_elf t;
	char buf[64];
	int fd;

	/* No PT_INTERP (a static binary). */
	tiny_elf_init(&t, "/x");
	t.ph[1].p_type = PT_NOTE;
	fd = memfile(&t, sizeof(t));
	assert_int_equal(capless_elf_interp(fd, buf, sizeof(buf)), -ENOEXEC);
	close(fd);

	/* The path without its NUL. */
	tiny_elf_init(&t, "/lib/ld.so");
	t.ph[1].p_filesz = strlen("/lib/ld.so");
	fd = memfile(&t, sizeof(t));
	assert_int_equal(capless_elf_interp(fd, buf, sizeof(buf)), -ENOEXEC);
	close(fd);

	/* A NUL inside the segment. */
	tiny_elf_init(&t, "/lib/ld.so");
	t.ph[1].p_filesz = 20;
	fd = memfile(&t, sizeof(t));
	assert_int_equal(capless_elf_interp(fd, buf, sizeof(buf)), -ENOEXEC);
	close(fd);

	/* The segment past the end of the file. */
	tiny_elf_init(&t, "/lib/ld.so");
	t.ph[1].p_offset = 1u << 20;
	fd = memfile(&t, sizeof(t));
	assert_int_equal(capless_elf_interp(fd, buf, sizeof(buf)), -ENOEXEC);
	close(fd);

	/* Program headers past the end, and an absurd count. */
	tiny_elf_init(&t, "/lib/ld.so");
	t.eh.e_phoff = 1u << 30;
	fd = memfile(&t, sizeof(t));
	assert_int_equal(capless_elf_interp(fd, buf, sizeof(buf)), -ENOEXEC);
	close(fd);
	tiny_elf_init(&t, "/lib/ld.so");
	t.eh.e_phnum = 60000;
	fd = memfile(&t, sizeof(t));
	assert_int_equal(capless_elf_interp(fd, buf, sizeof(buf)), -ENOEXEC);
	close(fd);

	/* Not ELF at all; a script; an empty file; the wrong class. */
	fd = memfile("#!/bin/sh\necho hi\n", 18);
	assert_int_equal(capless_elf_interp(fd, buf, sizeof(buf)), -ENOEXEC);
	close(fd);
	fd = memfile("", 0);
	assert_int_equal(capless_elf_interp(fd, buf, sizeof(buf)), -ENOEXEC);
	close(fd);
	tiny_elf_init(&t, "/lib/ld.so");
	t.eh.e_ident[EI_CLASS] = ELFCLASS32;
	fd = memfile(&t, sizeof(t));
	assert_int_equal(capless_elf_interp(fd, buf, sizeof(buf)), -ENOEXEC);
	close(fd);
}

/* The test binary itself is dynamically linked: its interpreter is an absolute path. */
static void test_interp_of_real_binary(void **state)
{
	char buf[256];
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(capless_elf_interp(fd, buf, sizeof(buf)), 0);
	assert_int_equal(buf[0], '/');
	assert_non_null(strstr(buf, "ld"));
	close(fd);
	/* It carries no file capabilities, so it is exec'ed as it is. */
	assert_int_equal(capless_interp_for("/proc/self/exe", buf, sizeof(buf)), 0);
}

static void test_resolve_along_path(void **state)
{
	char buf[256];
	char *old = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	setenv("PATH", "/nonexistent:/bin:/usr/bin", 1);
	assert_int_equal(capless_resolve("sh", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/bin/sh");
	assert_int_equal(capless_resolve("no-such-program-here", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(capless_resolve("", buf, sizeof(buf)), -ENOENT);
	/* With a slash: taken as it is, no search. */
	assert_int_equal(capless_resolve("./x/y", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "./x/y");
	assert_int_equal(capless_resolve("/bin/sh", buf, 4), -ENAMETOOLONG);
	/* A directory on PATH named like the program is skipped. */
	setenv("PATH", "/:/usr/bin", 1);
	assert_int_equal(capless_resolve("bin", buf, sizeof(buf)), -ENOENT);
	if (old) {
		setenv("PATH", old, 1);
		free(old);
	}
}

static void test_build_argv(void **state)
{
	char *argv[] = { "ping", "-c", "3", "host", NULL };
	char *out[capless_argv_slots(argv)];
	assert_int_equal(capless_argv_slots(argv), 8);
	capless_build_argv(out, "/lib/ld.so", "/usr/bin/ping", argv);
	const char *want[] = { "/lib/ld.so", "--argv0", "ping", "/usr/bin/ping", "-c", "3", "host" };
	for (size_t i = 0; i < 7; i++)
		assert_string_equal(out[i], want[i]);
	assert_null(out[7]);

	/* An empty argv: the path stands in for argv[0]. */
	char *none[] = { NULL };
	char *out2[capless_argv_slots(none)];
	assert_int_equal(capless_argv_slots(none), 5);
	capless_build_argv(out2, "/lib/ld.so", "/usr/bin/ping", none);
	assert_string_equal(out2[2], "/usr/bin/ping");
	assert_string_equal(out2[3], "/usr/bin/ping");
	assert_null(out2[4]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interp_of_crafted_elf),
		cmocka_unit_test(test_interp_refuses_bad_files),
		cmocka_unit_test(test_interp_of_real_binary),
		cmocka_unit_test(test_resolve_along_path),
		cmocka_unit_test(test_build_argv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
