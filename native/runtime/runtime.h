/* berth-runtime: an OCI runtime with runc's command line.
 *
 * main.c parses the global options and dispatches to one function per command (create.c,
 * start.c, ...). The work is done by the library files: state.c (the state store under
 * --root), spec.c (config.json), container.c (the parent side of create), init.c (the
 * container's init before execve), mounts.c, namespaces.c, process.c, signals.c, log.c. */
#ifndef BERTH_RUNTIME_H
#define BERTH_RUNTIME_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "utils.h"

#define OCI_VERSION "1.0.2"
#define DEFAULT_ROOT "/run/berth-runtime"

struct global_opts
{
  const char *root;
  const char *log;
  const char *log_format; /* "text" or "json" */
  bool systemd_cgroup;
  bool debug;
};

typedef int (*command_fn) (struct global_opts *g, int argc, char **argv, err_t *err);

struct command
{
  const char *name;
  command_fn run;
  const char *summary;
};

int cmd_create (struct global_opts *g, int argc, char **argv, err_t *err);
int cmd_start (struct global_opts *g, int argc, char **argv, err_t *err);
int cmd_run (struct global_opts *g, int argc, char **argv, err_t *err);
int cmd_state (struct global_opts *g, int argc, char **argv, err_t *err);
int cmd_kill (struct global_opts *g, int argc, char **argv, err_t *err);
int cmd_delete (struct global_opts *g, int argc, char **argv, err_t *err);
int cmd_list (struct global_opts *g, int argc, char **argv, err_t *err);
int cmd_ps (struct global_opts *g, int argc, char **argv, err_t *err);
int cmd_exec (struct global_opts *g, int argc, char **argv, err_t *err);
int cmd_features (struct global_opts *g, int argc, char **argv, err_t *err);

#endif
