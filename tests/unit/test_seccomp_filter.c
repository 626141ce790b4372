/*
 * exec/seccomp_filter.c: which executables need the seccomp path (crafted ELF files: static,
 * dynamic, Go), the BPF filter (run here by a small interpreter of the instructions it uses),
 * and the real thing: a child with the filter installed whose bind() reaches the listener.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/seccomp_filter.h"

/* ---- crafted ELF files ---- */

struct tiny_elf {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	Elf64_Shdr sh[3];       /* null, .shstrtab, one named section */
	char strtab[64];
	char interp[32];
};

/* A 64-bit ELF with an interpreter or not, and a section called name (NULL: none). */
static int tiny_elf(bool dynamic, const char *name)
{
	struct tiny_elf t;
	memset(&t, 0, sizeof(t));
	memcpy(t.eh.e_ident, ELFMAG, SELFMAG);
	t.eh.e_ident[EI_CLASS] = ELFCLASS64;
	t.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	t.eh.e_type = ET_EXEC;
	t.eh.e_phoff = offsetof(struct tiny_elf, ph);
	t.eh.e_phentsize = sizeof(Elf64_Phdr);
	t.eh.e_phnum = 2;
	t.ph[0].p_type = PT_LOAD;
	t.ph[1].p_type = dynamic ? PT_INTERP : PT_NOTE;
	t.ph[1].p_offset = offsetof(struct tiny_elf, interp);
	strcpy(t.interp, "/lib64/ld-linux-x86-64.so.2");
	t.ph[1].p_filesz = strlen(t.interp) + 1;
	t.eh.e_shoff = offsetof(struct tiny_elf, sh);
	t.eh.e_shentsize = sizeof(Elf64_Shdr);
	t.eh.e_shnum = 3;
	t.eh.e_shstrndx = 1;
	memcpy(t.strtab, "\0.shstrtab\0", 11);
	if (name)
		strcpy(t.strtab + 11, name);
	t.sh[1].sh_name = 1;
	t.sh[1].sh_offset = offsetof(struct tiny_elf, strtab);
	t.sh[1].sh_size = sizeof(t.strtab);
	t.sh[2].sh_name = 11;
	int fd = memfd_create("elf", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, &t, sizeof(t)), (ssize_t)sizeof(t));
	return fd;
}

static void test_elf_needs(void **state)
{
	int fd = tiny_elf(true, ".text");
	assert_null(seccomp_elf_needs(fd));
	close(fd);
	fd = tiny_elf(false, ".text");
	assert_string_equal(seccomp_elf_needs(fd), "static");
	close(fd);
	fd = tiny_elf(true, ".go.buildinfo");
	assert_string_equal(seccomp_elf_needs(fd), "Go");
	close(fd);
	fd = tiny_elf(true, ".note.go.buildid");
	assert_string_equal(seccomp_elf_needs(fd), "Go");
	close(fd);
	/* a script, an empty file, garbage section headers: the shim's business, no crash */
	fd = memfd_create("sh", MFD_CLOEXEC);
	assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
	assert_null(seccomp_elf_needs(fd));
	close(fd);
	struct tiny_elf t;
	fd = tiny_elf(false, ".go.buildinfo");
	assert_int_equal(pread(fd, &t, sizeof(t), 0), (ssize_t)sizeof(t));
	t.eh.e_shstrndx = 7;   /* beyond e_shnum */
	t.sh[2].sh_name = 60000;
	assert_int_equal(pwrite(fd, &t, sizeof(t), 0), (ssize_t)sizeof(t));
	assert_string_equal(seccomp_elf_needs(fd), "static");
	close(fd);
	assert_null(seccomp_path_needs("/nonexistent/program"));
}

static void test_mode_parse(void **state)
{
	enum rr_exec_mode m;
	assert_int_equal(seccomp_mode_parse(NULL, &m), 0);
	assert_int_equal(m, RR_EXEC_AUTO);
	assert_int_equal(seccomp_mode_parse("seccomp", &m), 0);
	assert_int_equal(m, RR_EXEC_SECCOMP);
	assert_int_equal(seccomp_mode_parse("shim", &m), 0);
	assert_int_equal(m, RR_EXEC_SHIM);
	assert_int_equal(seccomp_mode_parse("ptrace", &m), -1);
}

/* ---- the filter, interpreted ---- */

static uint32_t run_filter(const struct sock_filter *f, size_t n, const struct seccomp_data *d)
{
	uint32_t acc = 0;
	for (size_t pc = 0; pc < n; pc++) {
		const struct sock_filter *i = &f[pc];
		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			assert_true(i->k + 4 <= sizeof(*d));
			memcpy(&acc, (const uint8_t *)d + i->k, 4);
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += acc == i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += acc >= i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JA:
			pc += i->k;
			break;
		case BPF_RET | BPF_K:
			return i->k;
		default:
			fail_msg("unexpected BPF instruction %#x", i->code);
		}
	}
	fail_msg("the filter ran off its end");
	return 0;
}

static void test_filter_program(void **state)
{
	struct sock_filter f[SECCOMP_FILTER_LEN];
	assert_int_equal(seccomp_filter_build(f, SECCOMP_FILTER_LEN - 1), 0);
	size_t n = seccomp_filter_build(f, SECCOMP_FILTER_LEN);
	assert_int_equal(n, SECCOMP_FILTER_LEN);
	struct seccomp_data d = { .arch = AUDIT_ARCH_X86_64 };
	for (long nr = 0; nr < 500; nr++) {
		d.nr = (int)nr;
		uint32_t want = seccomp_filter_traps(nr) ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_ALLOW;
		assert_int_equal(run_filter(f, n, &d), want);
	}
	assert_true(seccomp_filter_traps(SYS_connect));
	assert_true(seccomp_filter_traps(SYS_accept4));
	assert_false(seccomp_filter_traps(SYS_read));
	assert_false(seccomp_filter_traps(SYS_socket));
	/* another ABI: x32 numbers and i386 (socketcall) never reach the host unchecked */
	d.nr = 0x40000000 | SYS_connect;
	assert_int_equal(run_filter(f, n, &d), SECCOMP_RET_ERRNO | ENOSYS);
	d.arch = AUDIT_ARCH_I386;
	d.nr = 102;   /* socketcall */
	assert_int_equal(run_filter(f, n, &d), SECCOMP_RET_ERRNO | ENOSYS);
}

/* ---- installed for real in a child ---- */

static void test_filter_installed(void **state)
{
	int sp[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sp[0]);
		int l = seccomp_filter_install();
		if (l < 0 || seccomp_listener_send(sp[1], l) < 0)
			_exit(10);
		close(l);
		/* trapped: the supervisor answers EADDRNOTAVAIL */
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(1) };
		a.sin_addr.s_addr = htonl(0xc0000201);
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 || errno != EADDRNOTAVAIL)
			_exit(11);
		/* not trapped: an AF_UNIX pair works untouched */
		int p[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) < 0 || write(p[0], "x", 1) != 1)
			_exit(12);
		_exit(0);
	}
	close(sp[1]);
	int l = seccomp_listener_recv(sp[0], pid);
	close(sp[0]);
	assert_true(l >= 0);
	struct seccomp_notif_sizes sz;
	assert_int_equal(syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz), 0);
	struct seccomp_notif *n = calloc(1, sz.seccomp_notif > sizeof(*n) ? sz.seccomp_notif
								  : sizeof(*n));
	struct seccomp_notif_resp *r = calloc(1, sz.seccomp_notif_resp > sizeof(*r)
						  ? sz.seccomp_notif_resp : sizeof(*r));
	assert_non_null(n);
	assert_non_null(r);
	struct pollfd p = { .fd = l, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 10000), 1);
	assert_int_equal(ioctl(l, SECCOMP_IOCTL_NOTIF_RECV, n), 0);
	assert_int_equal(n->pid, pid);
	assert_int_equal(n->data.nr, SYS_bind);
	assert_int_equal(ioctl(l, SECCOMP_IOCTL_NOTIF_ID_VALID, &n->id), 0);
	r->id = n->id;
	r->error = -EADDRNOTAVAIL;
	assert_int_equal(ioctl(l, SECCOMP_IOCTL_NOTIF_SEND, r), 0);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* the notification is gone with its caller: ID_VALID says so */
	assert_int_equal(ioctl(l, SECCOMP_IOCTL_NOTIF_ID_VALID, &n->id), -1);
	free(n);
	free(r);
	close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_needs),
		cmocka_unit_test(test_mode_parse),
		cmocka_unit_test(test_filter_program),
		cmocka_unit_test(test_filter_installed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
