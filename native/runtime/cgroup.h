/* cgroups: the container's cgroup at linux.cgroupsPath (default /berth-runtime/<id>), its
 * resources, and the processes in it. Two backends behind one table: cgroup v1 (one directory
 * per mounted hierarchy; hybrid hosts use only v1, as runc does) and the v2 unified hierarchy. */
#ifndef BERTH_CGROUP_H
#define BERTH_CGROUP_H

#include <jansson.h>
#include <sys/types.h>

#include "error.h"

struct cgroup_ops
{
  const char *name; /* "v1" or "v2" */
  /* Creates the cgroup (every level) and moves pid into it. */
  int (*enter) (const char *path, pid_t pid, err_t *err);
  int (*apply) (const char *path, json_t *resources, json_t *devices, err_t *err);
  /* The pids in the cgroup; *pids is owned by the caller. */
  int (*pids) (const char *path, pid_t **pids, size_t *n, err_t *err);
  int (*destroy) (const char *path, err_t *err);
};

extern const struct cgroup_ops cgroup_v1_ops;
extern const struct cgroup_ops cgroup_v2_ops;

/* The backend of this host: v2 when /sys/fs/cgroup is cgroup2, else v1. */
const struct cgroup_ops *cgroup_host_ops (void);
const struct cgroup_ops *cgroup_ops_by_name (const char *name);
/* linux.cgroupsPath, made absolute; "/berth-runtime/<id>" when absent. */
char *cgroup_path_for (json_t *spec, const char *id);
/* SIGKILLs (or signals) every process of the cgroup. */
/* Removes a container's cgroup directory; a dying process leaves it a moment after it is
 * reaped, so EBUSY is retried for up to a second. A missing directory is fine. */
int cgroup_remove_dir (const char *dir, err_t *err);

int cgroup_signal_all (const struct cgroup_ops *ops, const char *path, int signo, err_t *err);

#endif
