/* config.json "hooks" (runtime-spec config.md "POSIX-platform Hooks", runtime.md "Lifecycle"):
 * each hook is run with the container's state on its stdin, waited for (with its timeout),
 * and fails the step when it exits non-zero. Where each kind runs:
 *   prestart, createRuntime  create, in the runtime's namespaces, after the container's
 *                            namespaces and mounts exist and before pivot_root (container.c);
 *   createContainer          create, by the init in the container's namespaces, before
 *                            pivot_root, so its path resolves on the host (init.c);
 *   startContainer           start, by the init in the container, right before execve (init.c);
 *   poststart                start, in the runtime, once the process runs: failures warn;
 *   poststop                 delete, in the runtime: failures warn. */
#ifndef BERTH_HOOKS_H
#define BERTH_HOOKS_H

#include <jansson.h>
#include <sys/types.h>

#include "error.h"

/* The runtime-spec state a hook reads on stdin. */
json_t *hook_state (const char *id, const char *status, pid_t pid, const char *bundle, json_t *annotations);

/* Runs hooks.<kind> in order; the first failure stops and is returned. */
int hooks_run (json_t *spec, const char *kind, json_t *state, err_t *err);
/* The same for poststart and poststop: a failure is logged as a warning and the rest still run. */
void hooks_run_warn (json_t *spec, const char *kind, json_t *state);

#endif
