/*
 * Root of the router's network: a program started through rrctl's sudo
 * (SHIM_ENV_ROOT=1, inside rrctl exec) sees uid and euid 0, so wg-quick's
 * "[[ $UID == 0 ]] || exec sudo ..." passes and the script runs unmodified.
 * Everything it then does to the network goes to the router (rtnetlink,
 * generic netlink), where uid 0 is what the kernel would ask for anyway;
 * the host still sees the real, unprivileged uid: files, signals and every
 * other system call keep their real permissions. Like a user namespace,
 * without asking the kernel for one.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/shim.h"

static bool router_root(void)
{
	if (!shim_enabled())
		return false;
	const char *v = getenv(SHIM_ENV_ROOT);
	return v && strcmp(v, "1") == 0;
}

/* The real ids by system call: no dlsym, and safe before the shim resolves anything. */
SHIM_EXPORT uid_t getuid(void)
{
	return router_root() ? 0 : (uid_t)syscall(SYS_getuid);
}

SHIM_EXPORT uid_t geteuid(void)
{
	return router_root() ? 0 : (uid_t)syscall(SYS_geteuid);
}
