#include "exec/hooks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/log.h"

static int append(struct hook_run *hr, const char *iface, const char *kind, char *const *cmds,
		  size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char **names = realloc(hr->names, (hr->n + 1) * sizeof(*names));
		if (!names)
			return -ENOMEM;
		hr->names = names;
		char **commands = realloc(hr->commands, (hr->n + 1) * sizeof(*commands));
		if (!commands)
			return -ENOMEM;
		hr->commands = commands;
		char *name = malloc(IFACE_NAME_MAX + 16);
		char *cmd = supervisor_expand_hook(cmds[i], iface);
		if (!name || !cmd) {
			free(name);
			free(cmd);
			return -ENOMEM;
		}
		snprintf(name, IFACE_NAME_MAX + 16, "%s %s", iface, kind);
		hr->names[hr->n] = name;
		hr->commands[hr->n] = cmd;
		hr->n++;
	}
	return 0;
}

static void run_next(struct hook_run *hr);

static void one_done(void *ctx, const char *name, int status)
{
	struct hook_run *hr = ctx;
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		hr->failed++;
		log_warn("%s: \"%s\" failed; continuing with the next hook", name,
			 hr->commands[hr->next - 1]);
	}
	run_next(hr);
}

static void run_next(struct hook_run *hr)
{
	if (hr->next < hr->n) {
		size_t i = hr->next++;
		/* one_done continues the chain when the command ends, or at once if it
		 * could not start (supervisor_run_once calls it then). */
		supervisor_run_once(hr->sup, hr->names[i], hr->commands[i], one_done, hr);
		return;
	}
	if (hr->done) {
		void (*done)(void *, unsigned) = hr->done;
		hr->done = NULL;
		done(hr->ctx, hr->failed);
	}
}

int hooks_run(struct hook_run *hr, struct supervisor *sup, const struct wg_iface_conf *ifaces,
	      size_t n_ifaces, bool up, void (*done)(void *ctx, unsigned failed), void *ctx)
{
	*hr = (struct hook_run){ .sup = sup, .done = done, .ctx = ctx };
	for (size_t i = 0; i < n_ifaces; i++) {
		const struct wg_iface_conf *c = &ifaces[i];
		int r = up ? append(hr, c->name, "PreUp", c->pre_up, c->n_pre_up) :
			     append(hr, c->name, "PreDown", c->pre_down, c->n_pre_down);
		if (r == 0)
			r = up ? append(hr, c->name, "PostUp", c->post_up, c->n_post_up) :
				 append(hr, c->name, "PostDown", c->post_down, c->n_post_down);
		if (r < 0) {
			hooks_free(hr);
			return r;
		}
	}
	run_next(hr);
	return 0;
}

void hooks_free(struct hook_run *hr)
{
	for (size_t i = 0; i < hr->n; i++) {
		free(hr->names[i]);
		free(hr->commands[i]);
	}
	free(hr->names);
	free(hr->commands);
	hr->names = hr->commands = NULL;
	hr->n = hr->next = 0;
}
