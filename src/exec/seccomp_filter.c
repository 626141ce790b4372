#include "exec/seccomp_filter.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "exec/capless.h"

#if defined(__x86_64__)
#define RR_AUDIT_ARCH AUDIT_ARCH_X86_64
#define RR_X32_BIT 0x40000000u   /* __X32_SYSCALL_BIT: same arch value, other ABI */
#elif defined(__aarch64__)
#define RR_AUDIT_ARCH AUDIT_ARCH_AARCH64
#define RR_X32_BIT 0u
#else
#error "seccomp_filter.c: add this machine's AUDIT_ARCH"
#endif

#if UINTPTR_MAX == 0xffffffffffffffffu
typedef Elf64_Ehdr elf_ehdr;
typedef Elf64_Shdr elf_shdr;
#define ELF_OWN_CLASS ELFCLASS64
#else
typedef Elf32_Ehdr elf_ehdr;
typedef Elf32_Shdr elf_shdr;
#define ELF_OWN_CLASS ELFCLASS32
#endif

static const long trapped[] = {
	SYS_bind, SYS_connect, SYS_listen, SYS_accept, SYS_accept4, SYS_getsockname,
	SYS_getpeername, SYS_setsockopt, SYS_getsockopt, SYS_sendto, SYS_sendmsg, SYS_sendmmsg,
};
#define N_TRAPPED (sizeof(trapped) / sizeof(trapped[0]))

int seccomp_mode_parse(const char *s, enum rr_exec_mode *out)
{
	if (!s || !*s || strcmp(s, "auto") == 0)
		*out = RR_EXEC_AUTO;
	else if (strcmp(s, "shim") == 0)
		*out = RR_EXEC_SHIM;
	else if (strcmp(s, "seccomp") == 0)
		*out = RR_EXEC_SECCOMP;
	else
		return -1;
	return 0;
}

static bool read_exact(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

#define SHDRS_MAX 4096

/* Does the ELF at fd have a section named .go.buildinfo or .note.go.buildid? */
static bool elf_has_go_section(int fd, const elf_ehdr *eh)
{
	if (eh->e_shentsize != sizeof(elf_shdr) || eh->e_shnum == 0 || eh->e_shnum > SHDRS_MAX ||
	    eh->e_shstrndx >= eh->e_shnum)
		return false;
	elf_shdr names;
	if (!read_exact(fd, &names, sizeof(names),
			(uint64_t)eh->e_shoff + (uint64_t)eh->e_shstrndx * sizeof(elf_shdr)))
		return false;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		elf_shdr sh;
		if (!read_exact(fd, &sh, sizeof(sh), (uint64_t)eh->e_shoff + (uint64_t)i * sizeof(sh)))
			return false;
		if (sh.sh_name >= names.sh_size)
			continue;
		char name[24];
		size_t want = sizeof(name);
		if (names.sh_size - sh.sh_name < want)
			want = (size_t)(names.sh_size - sh.sh_name);
		memset(name, 0, sizeof(name));
		if (!read_exact(fd, name, want, (uint64_t)names.sh_offset + sh.sh_name))
			continue;
		name[sizeof(name) - 1] = '\0';
		if (strcmp(name, ".go.buildinfo") == 0 || strcmp(name, ".note.go.buildid") == 0)
			return true;
	}
	return false;
}

const char *seccomp_elf_needs(int fd)
{
	elf_ehdr eh;
	if (!read_exact(fd, &eh, sizeof(eh), 0) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELF_OWN_CLASS || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN))
		return NULL;
	if (elf_has_go_section(fd, &eh))
		return "Go";
	char interp[256];
	int r = capless_elf_interp(fd, interp, sizeof(interp));
	return r == -ENOEXEC ? "static" : NULL;
}

const char *seccomp_path_needs(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	const char *why = seccomp_elf_needs(fd);
	close(fd);
	return why;
}

bool seccomp_filter_traps(long nr)
{
	for (size_t i = 0; i < N_TRAPPED; i++)
		if (trapped[i] == nr)
			return true;
	return false;
}

size_t seccomp_filter_build(struct sock_filter *out, size_t cap)
{
	/*
	 * 0 ld arch; 1 jeq ARCH ? 2 : deny; 2 ld nr; 3 jge X32 ? deny : 4;
	 * 4..4+N-1 jeq trapped[i] ? notify : next; allow; notify; deny.
	 */
	const size_t n = 4 + N_TRAPPED + 3;
	if (cap < n || n != SECCOMP_FILTER_LEN)
		return 0;
	const size_t allow = 4 + N_TRAPPED, notify = allow + 1, deny = allow + 2;
	size_t k = 0;
	out[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						offsetof(struct seccomp_data, arch));
	out[k] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RR_AUDIT_ARCH, 0,
					      (uint8_t)(deny - k - 1));
	k++;
	out[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						offsetof(struct seccomp_data, nr));
	if (RR_X32_BIT)
		out[k] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, RR_X32_BIT,
						      (uint8_t)(deny - k - 1), 0);
	else
		out[k] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0);
	k++;
	for (size_t i = 0; i < N_TRAPPED; i++, k++)
		out[k] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
						      (uint32_t)trapped[i], (uint8_t)(notify - k - 1), 0);
	out[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	out[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
	out[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
	return k;
}

int seccomp_filter_install(void)
{
	struct sock_filter f[SECCOMP_FILTER_LEN];
	size_t n = seccomp_filter_build(f, SECCOMP_FILTER_LEN);
	if (!n)
		return -EINVAL;
	struct sock_fprog prog = { .len = (unsigned short)n, .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			  &prog);
	if (fd < 0)
		return -errno;
	/* The listener is the supervisor's; the program must not inherit it across exec. */
	if (fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0) {
		int err = errno;
		close((int)fd);
		return -err;
	}
	return (int)fd;
}

int seccomp_listener_send(int sock, int fd)
{
	/* sendmsg is trapped by now (by this very filter): the number goes by write, the file by
	 * the parent's pidfd_getfd. Wait for the parent's byte before closing it. */
	int32_t num = fd;
	char ack;
	if (write(sock, &num, sizeof(num)) != (ssize_t)sizeof(num))
		return -errno;
	ssize_t n;
	do
		n = read(sock, &ack, 1);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : -EPIPE;
}

int seccomp_listener_recv(int sock, pid_t child)
{
	int32_t num = -1;
	ssize_t n;
	do
		n = read(sock, &num, sizeof(num));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(num) || num < 0)
		return -1;
	int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	int fd = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, num, 0);
	int err = errno;
	if (pidfd >= 0)
		close(pidfd);
	char ack = 'k';
	if (fd >= 0 && write(sock, &ack, 1) != 1) {
		close(fd);
		fd = -1;
	}
	errno = err;
	return fd;
}
