/*
 * libFuzzer harness for the ELF section reader of exec/seccomp_filter.c (is this a static or
 * Go program?): the input is the whole file (a memfd). The answer is one of the three.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exec/seccomp_filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	if (fd < 0 && (fd = memfd_create("fuzz-elf-needs", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	const char *why = seccomp_elf_needs(fd);
	if (why && strcmp(why, "static") != 0 && strcmp(why, "Go") != 0)
		abort();
	return 0;
}
