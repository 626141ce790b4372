#include "exec/shim_locate.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Made by the Makefile from PREFIX/LIBDIR/PKGLIBDIR (install_paths.h, in the build tree). */
#include "install_paths.h"

const char *shim_configured_dir(void)
{
	return RR_PKGLIBDIR;
}

/* dir + "/" + rel + "/" SHIM_LIB_NAME into out; 0, or -1 if it does not fit. */
static int shim_path_in(char *out, size_t len, const char *dir, const char *rel)
{
	int n = snprintf(out, len, "%s%s%s/" SHIM_LIB_NAME, dir, *rel ? "/" : "", rel);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int readable(const char *path)
{
	return access(path, R_OK) == 0 ? 0 : -1;
}

int shim_locate(char *out, size_t len)
{
	const char *env = getenv("RRSHIM_LIB");
	if (env && *env) {
		if (snprintf(out, len, "%s", env) >= (int)len) {
			errno = ENAMETOOLONG;
			return -1;
		}
		return readable(out);
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			if (shim_path_in(out, len, exe, "") == 0 && readable(out) == 0)
				return 0;
			if (shim_path_in(out, len, exe, RR_PKGLIBDIR_FROM_BINDIR) == 0 &&
			    readable(out) == 0) {
				/* bin/../lib/rrouted/… as lib/rrouted/…: the path goes into
				 * LD_PRELOAD and PATH (rrctl-sudo), where people read it. */
				char clean[PATH_MAX];
				if (realpath(out, clean) && strlen(clean) < len)
					memcpy(out, clean, strlen(clean) + 1);
				return 0;
			}
		}
	}
	if (shim_path_in(out, len, RR_PKGLIBDIR, "") < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return readable(out);
}
