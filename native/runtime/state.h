/* The state store: one directory per container under --root, holding
 *   state.json  the record written atomically by create (id, init pid and start time, bundle,
 *               annotations, creation time, cgroup paths),
 *   config.json the spec as create read it, so that delete needs no bundle,
 *   exec.fifo   present from create until start: the init blocks opening it for writing.
 * The status is derived, never stored (runtime-spec "State"): stopped when the init is gone
 * (or is another process with the same pid), created while exec.fifo exists, running after. */
#ifndef BERTH_STATE_H
#define BERTH_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "runtime.h"

struct container
{
  char *id;
  char *dir;    /* <root>/<id> */
  json_t *state; /* state.json */
  json_t *spec;  /* config.json */
};

int validate_id (const char *id, err_t *err);
int state_root (struct global_opts *g, err_t *err);
char *state_dir (struct global_opts *g, const char *id);

/* Loads a container's record; fails with ENOENT and "container `id` does not exist". */
int container_load (struct global_opts *g, const char *id, struct container *c, err_t *err);
void container_free (struct container *c);
#define cleanup_container __attribute__ ((cleanup (container_free)))

int state_write (const char *dir, json_t *state, err_t *err);

/* "created", "running" or "stopped". */
const char *container_status (const struct container *c);
pid_t container_pid (const struct container *c);

/* The start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), 0 when
 * it is gone or a zombie. Used to tell the init from a later process that reuses its pid. */
unsigned long long process_start_time (pid_t pid);

/* The OCI state JSON (runtime-spec "State"). */
json_t *container_oci_state (const struct container *c);

#endif
