/*
 * Where librrshim.so is, for rrouted (its [exec] programs and hooks) and for
 * rrctl exec. The same binaries run from the build tree, from an installed
 * tree (make install, also under a DESTDIR or moved elsewhere as a whole) and
 * from the configured install location, so the places are tried in order:
 *   1. $RRSHIM_LIB, when set (the user's word wins);
 *   2. next to the running program (build/rrouted, build/librrshim.so);
 *   3. the package library directory relative to the program's directory
 *      (bin/../lib/rrouted/librrshim.so: works wherever the tree is copied);
 *   4. the package library directory fixed at build time (PKGLIBDIR).
 * rrctl's sudo directory (rrctl-sudo/) sits next to the library found.
 */
#ifndef RR_EXEC_SHIM_LOCATE_H
#define RR_EXEC_SHIM_LOCATE_H

#include <stddef.h>

#define SHIM_LIB_NAME "librrshim.so"

/*
 * 0 with the readable library's path in out, or -1 with errno and, in out,
 * the last path tried (or what failed), for an error message.
 */
int shim_locate(char *out, size_t len);

/* The package library directory this build was configured with (make PKGLIBDIR=). */
const char *shim_configured_dir(void);

#endif
