/*
 * libFuzzer harness for the ELF reader of exec/capless.c: the input is the
 * whole file (a memfd). A found interpreter must be a NUL-terminated string
 * inside the buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exec/capless.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	if (fd < 0 && (fd = memfd_create("fuzz-elf", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	char buf[256];
	memset(buf, 0x55, sizeof(buf));
	if (capless_elf_interp(fd, buf, sizeof(buf)) == 0 && !memchr(buf, '\0', sizeof(buf)))
		abort();
	return 0;
}
