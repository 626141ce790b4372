#include "exec/capless.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#if UINTPTR_MAX == 0xffffffffffffffffu
typedef Elf64_Ehdr elf_ehdr;
typedef Elf64_Phdr elf_phdr;
#define ELF_OWN_CLASS ELFCLASS64
#else
typedef Elf32_Ehdr elf_ehdr;
typedef Elf32_Phdr elf_phdr;
#define ELF_OWN_CLASS ELFCLASS32
#endif

#define PHDRS_MAX 512   /* more program headers than any loader accepts */

bool capless_has_filecaps(const char *path)
{
	/* The size alone answers; ENODATA means none, anything else we cannot tell. */
	return getxattr(path, "security.capability", NULL, 0) > 0;
}

/* Exactly len bytes at off, or -errno (-ENOEXEC when the file is shorter). */
static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENOEXEC;
		got += (size_t)n;
	}
	return 0;
}

int capless_elf_interp(int fd, char *buf, size_t len)
{
	elf_ehdr eh;
	int err = read_at(fd, &eh, sizeof(eh), 0);
	if (err < 0)
		return err;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELF_OWN_CLASS ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) || eh.e_phentsize != sizeof(elf_phdr) ||
	    eh.e_phnum == 0 || eh.e_phnum > PHDRS_MAX)
		return -ENOEXEC;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		elf_phdr ph;
		err = read_at(fd, &ph, sizeof(ph), (uint64_t)eh.e_phoff + (uint64_t)i * sizeof(ph));
		if (err < 0)
			return err;
		if (ph.p_type != PT_INTERP)
			continue;
		/* The segment holds the path and its NUL; the kernel insists on both. */
		if (ph.p_filesz < 2)
			return -ENOEXEC;
		if (ph.p_filesz > len)
			return -ENAMETOOLONG;
		err = read_at(fd, buf, (size_t)ph.p_filesz, (uint64_t)ph.p_offset);
		if (err < 0)
			return err;
		if (buf[ph.p_filesz - 1] != '\0' || strlen(buf) != ph.p_filesz - 1)
			return -ENOEXEC;
		return 0;
	}
	return -ENOEXEC;
}

int capless_interp_for(const char *path, char *buf, size_t len)
{
	if (!capless_has_filecaps(path))
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int err = capless_elf_interp(fd, buf, len);
	close(fd);
	/* A relative interpreter would be looked up from our cwd, not the kernel's way. */
	return err == 0 && buf[0] == '/' ? 1 : 0;
}

static bool is_exec_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int capless_resolve(const char *file, char *buf, size_t len)
{
	size_t flen = strlen(file);
	if (flen == 0)
		return -ENOENT;
	if (strchr(file, '/')) {
		if (flen >= len)
			return -ENAMETOOLONG;
		memcpy(buf, file, flen + 1);
		return 0;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";   /* glibc's execvp default */
	for (const char *p = path;; ) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		/* An empty element is the current directory, as for execvp. */
		if (dlen + 1 + flen < len) {
			size_t o = 0;
			if (dlen) {
				memcpy(buf, p, dlen);
				o = dlen;
				buf[o++] = '/';
			}
			memcpy(buf + o, file, flen + 1);
			if (is_exec_file(buf))
				return 0;
		}
		if (*end == '\0')
			break;
		p = end + 1;
	}
	return -ENOENT;
}

size_t capless_argv_slots(char *const argv[])
{
	size_t n = 0;
	while (argv && argv[n])
		n++;
	/* interp, --argv0, name, path, argv[1..n-1], NULL */
	return (n ? n - 1 : 0) + 5;
}

void capless_build_argv(char **out, const char *interp, const char *path, char *const argv[])
{
	size_t o = 0;
	out[o++] = (char *)interp;
	out[o++] = (char *)"--argv0";
	out[o++] = (char *)(argv && argv[0] ? argv[0] : path);
	out[o++] = (char *)path;
	if (argv && argv[0])
		for (size_t i = 1; argv[i]; i++)
			out[o++] = argv[i];
	out[o] = NULL;
}
