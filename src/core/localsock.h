/*
 * Trust for the local unix sockets (control and shim): both ends check who is
 * on the other side, and the default directory is private, so another local
 * user can neither squat the path nor sit between a program and rrouted.
 */
#ifndef RR_CORE_LOCALSOCK_H
#define RR_CORE_LOCALSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Where the sockets live when neither XDG_RUNTIME_DIR nor control = is set:
 * /tmp/rrouted-UID (a directory of ours, mode 0700). out gets the directory.
 */
void localsock_default_dir(char *out, size_t len);

/*
 * Makes sure dir exists as a directory owned by us and closed to others
 * (creating it 0700 if missing). 0, or -errno with a message in err that names
 * the directory and what is wrong with it (a stranger's directory is refused,
 * never used or changed).
 */
int localsock_ensure_private_dir(const char *dir, char *err, size_t errlen);

/*
 * Whether the process at the other end of the connected unix socket fd is us
 * (same effective uid) or root. *peer_uid (may be NULL) gets its uid.
 * false also when the credentials cannot be read.
 */
bool localsock_peer_trusted(int fd, uid_t *peer_uid);

#endif
