/* The two halves of create: the parent (container.c) prepares the state directory, clones the
 * init into its new namespaces, writes the id maps, and waits for the init to report READY or
 * an error over the sync socket; the init (init.c) sets up the container and blocks on
 * exec.fifo until start. */
#ifndef BERTH_CONTAINER_H
#define BERTH_CONTAINER_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "namespaces.h"
#include "runtime.h"

enum sync_msg
{
  SYNC_GO = 0x42455201,    /* parent -> init: maps written, go on */
  SYNC_READY = 0x42455202, /* init -> parent: set up, about to wait on exec.fifo */
  SYNC_ERROR = 0x42455203, /* init -> parent: followed by an error (err_write_fd) */
  SYNC_HOOKS = 0x42455205,      /* init -> parent: mounts done, run prestart/createRuntime */
  SYNC_HOOKS_DONE = 0x42455206, /* parent -> init: followed by int len and the state JSON */
  SYNC_PID = 0x42455204,   /* exec: the joining child -> parent, followed by the process's pid */
};

struct create_opts
{
  const char *id;
  const char *bundle;
  const char *pid_file;
  const char *console_socket;
  bool no_pivot;
};

struct init_ctx
{
  json_t *spec;
  const char *bundle;
  int fifo_fd; /* exec.fifo as O_PATH, opened by the parent: in a user namespace the init may
                * not reach the state directory; reopened for writing through /proc/self/fd */
  int sync_fd;
  int console_fd;
  bool no_pivot;
  struct ns_plan *ns;
};

/* Creates the container; on success the init waits on exec.fifo and *pid is its pid. */
int container_create (struct global_opts *g, const struct create_opts *o, pid_t *pid, err_t *err);
/* Unblocks a created container's init (the read side of exec.fifo). */
int container_start (struct global_opts *g, const char *id, err_t *err);
/* Removes the state of a stopped container (and with force kills it first). */
int container_delete (struct global_opts *g, const char *id, bool force, err_t *err);

struct exec_opts
{
  bool detach;
  const char *pid_file;
  const char *console_socket;
};

struct container;

/* Runs `process` (a runtime-spec process object) in the running or created container: in the
 * namespaces and cgroup of its init, with the container's seccomp filter. Without detach it
 * waits and sets *status to the exit code (128+signal when killed); with detach it returns once
 * the process runs. */
int container_exec (const struct container *c, json_t *process, const struct exec_opts *o, int *status, err_t *err);

/* The init: never returns on success (it execs); on failure it reports to the parent and the
 * caller exits. */
int container_init (struct init_ctx *ctx, err_t *err);

#endif
