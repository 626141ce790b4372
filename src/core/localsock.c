#include "core/localsock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

void localsock_default_dir(char *out, size_t len)
{
	snprintf(out, len, "/tmp/rrouted-%u", (unsigned)geteuid());
}

int localsock_ensure_private_dir(const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int e = errno;
		snprintf(err, errlen, "cannot create the socket directory %s: %s", dir, strerror(e));
		return -e;
	}
	struct stat st;
	if (lstat(dir, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "socket directory %s: %s", dir, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "socket directory %s is not a directory (a symlink or file "
			 "put there by someone else?); remove it or set control = PATH", dir);
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "socket directory %s belongs to uid %u, not to us (uid %u): "
			 "refusing to use it; remove it or set control = PATH", dir,
			 (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (st.st_mode & 077) {
		/* Ours, but open to others: close it rather than trust what may be in it. */
		if (chmod(dir, 0700) < 0) {
			int e = errno;
			snprintf(err, errlen, "socket directory %s is mode %03o and cannot be made "
				 "private: %s", dir, (unsigned)(st.st_mode & 0777), strerror(e));
			return -e;
		}
	}
	return 0;
}

bool localsock_peer_trusted(int fd, uid_t *peer_uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || len != sizeof(cred))
		return false;
	if (peer_uid)
		*peer_uid = cred.uid;
	return cred.uid == geteuid() || cred.uid == 0;
}
