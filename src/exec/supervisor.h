/*
 * Programs rrouted runs inside its own network: the [exec] programs, kept
 * running (restarted with backoff when they exit), and the wg-quick
 * PreUp/PostUp/PreDown/PostDown hooks, run once each, in order.
 *
 * Children get the socket shim (LD_PRELOAD and $RRSHIM_SOCKET), an empty
 * signal mask and their own process group; their exit is seen through a
 * pidfd on the event loop, so nothing blocks and nothing polls.
 */
#ifndef RR_EXEC_SUPERVISOR_H
#define RR_EXEC_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/loop.h"

#define SUPERVISOR_BACKOFF_MIN_S 1
#define SUPERVISOR_BACKOFF_MAX_S 60
/* A program that ran this long counts as healthy: its next restart starts the backoff over. */
#define SUPERVISOR_STABLE_S 60
/* How long a program a reload stops may take to exit before it is killed. */
#define SUPERVISOR_STOP_GRACE_S 5

struct supervisor;
struct supervised;

/* Called when a one-shot command ends: status as from waitpid, or -1 if it could not start. */
typedef void (*supervised_done_cb)(void *ctx, const char *name, int status);

struct supervised {
	struct supervisor *sup;
	struct supervised *next;
	char name[80];
	char *command;
	bool restart;               /* [exec] program (true) or one-shot hook (false) */
	bool retired;               /* removed by a reload: freed once it has exited */
	pid_t pid;                  /* 0 when not running */
	struct loop_fd pidfd;
	struct timer restart_timer;
	unsigned backoff_s;
	uint64_t started_at;
	unsigned starts;
	supervised_done_cb done;
	void *done_ctx;
};

struct supervisor {
	struct loop *loop;
	void (*on_child_exit)(void *ctx);   /* after any child ended (restart or not) */
	void *on_child_exit_ctx;
	char *shim_lib;             /* path of librrshim.so, NULL: run without the shim */
	char *shim_socket;
	struct supervised *list;
	bool stopping;
};

int supervisor_init(struct supervisor *sup, struct loop *loop, const char *shim_lib,
		    const char *shim_socket);
/* Kills what still runs (SIGKILL) and frees everything. */
void supervisor_free(struct supervisor *sup);

/* Starts an [exec] program now and keeps it running. 0 or -errno. */
int supervisor_add_program(struct supervisor *sup, const char *name, const char *command);
/* Starts a one-shot command; done (may be NULL) is called when it ends. 0 or -errno. */
int supervisor_run_once(struct supervisor *sup, const char *name, const char *command,
			supervised_done_cb done, void *ctx);
/*
 * Stops the [exec] program NAME for good (a reload removed or changed it):
 * SIGTERM to its process group, SIGKILL after SUPERVISOR_STOP_GRACE_S, and
 * the entry goes once it has exited; a program of the same name may be added
 * meanwhile. 0, or -ENOENT if no such program runs.
 */
int supervisor_stop_program(struct supervisor *sup, const char *name);
/* SIGTERM to every child, no more restarts. */
void supervisor_stop_all(struct supervisor *sup);
/* Children still running. */
unsigned supervisor_running(const struct supervisor *sup);

/* "%i" in command replaced by iface (wg-quick's hook syntax); NULL when out of memory. */
char *supervisor_expand_hook(const char *command, const char *iface);

#endif
