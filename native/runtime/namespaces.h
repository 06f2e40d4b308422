/* linux.namespaces: which namespaces the container gets new (clone flags) and which it joins
 * by path (setns). */
#ifndef BERTH_NAMESPACES_H
#define BERTH_NAMESPACES_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

#define NS_MAX 8

struct ns_plan
{
  int clone_flags;      /* new namespaces created by clone() (all but cgroup) */
  bool new_cgroup;      /* unshared by the init once it sits in its cgroup */
  bool new_user;
  bool new_uts;
  bool new_mount;
  bool new_pid;
  int pid_join_fd;      /* joined by the parent before clone: setns(CLONE_NEWPID) affects children */
  int join_fd[NS_MAX];  /* joined by the init, user namespace first */
  int join_type[NS_MAX];
  const char *join_path[NS_MAX];
  int n_join;
};

struct ns_type
{
  const char *name;  /* runtime-spec name */
  int flag;          /* CLONE_NEW* */
  const char *proc;  /* /proc/<pid>/ns/<proc> */
};

extern const struct ns_type ns_types[];

/* The entry of ns_types with that runtime-spec name, or NULL. */
const struct ns_type *ns_lookup (const char *name);

int ns_plan_build (json_t *spec, struct ns_plan *plan, err_t *err);
void ns_plan_close (struct ns_plan *plan);
/* In the init: joins the namespaces given by path, the user namespace first (it decides what
 * the others may do). */
int ns_join (struct ns_plan *plan, err_t *err);

#endif
