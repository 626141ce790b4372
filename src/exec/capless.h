/*
 * Running a binary that carries file capabilities (ping, mtr-packet: the
 * security.capability xattr) without them, through its ELF interpreter.
 *
 * Why: where the capability bounding set is empty (every PaaS container,
 * `setpriv --bounding-set=-all`), the kernel refuses to execve such a binary
 * (EPERM). Where it would run it, it runs it in secure-execution mode
 * (AT_SECURE), and the dynamic loader then ignores LD_PRELOAD: the program
 * would talk to the host's network, not the router's. Inside the router none
 * of these programs needs a capability, so they are run as
 * `INTERP --argv0 ARGV0 PATH ARGS...`: the interpreter (ld.so) carries no
 * file capability, maps the program itself and honours LD_PRELOAD.
 *
 * Everything here is async-signal-safe (no malloc, only system calls): the
 * shim calls it between vfork() and execve().
 */
#ifndef RR_EXEC_CAPLESS_H
#define RR_EXEC_CAPLESS_H

#include <stdbool.h>
#include <stddef.h>

/* Does the file at path carry file capabilities? (false when unreadable) */
bool capless_has_filecaps(const char *path);

/*
 * The ELF interpreter (PT_INTERP) of the executable open at fd, of the
 * machine's own ELF class, into buf (NUL-terminated). 0, -ENOEXEC if fd is
 * not such an ELF file or has no interpreter (static), -ENAMETOOLONG, or
 * -errno of a read.
 */
int capless_elf_interp(int fd, char *buf, size_t len);

/*
 * Should path run through its interpreter? 1 and buf = the interpreter if
 * path carries file capabilities and has an absolute interpreter path,
 * 0 if it should be exec'ed as it is.
 */
int capless_interp_for(const char *path, char *buf, size_t len);

/*
 * Where execvp would find file: file itself if it holds a '/', else the
 * first executable regular file along PATH (or /bin:/usr/bin). 0 and buf,
 * or -ENOENT / -ENAMETOOLONG.
 */
int capless_resolve(const char *file, char *buf, size_t len);

/* How many pointers capless_build_argv writes for argv (its NULL included). */
size_t capless_argv_slots(char *const argv[]);

/* out = { interp, "--argv0", argv[0] (or path), path, argv[1]..., NULL }. */
void capless_build_argv(char **out, const char *interp, const char *path, char *const argv[]);

#endif
