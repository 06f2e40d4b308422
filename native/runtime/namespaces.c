#include "namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "utils.h"

const struct ns_type ns_types[] = {
  { "pid", CLONE_NEWPID, "pid" },       { "network", CLONE_NEWNET, "net" },   { "mount", CLONE_NEWNS, "mnt" },
  { "ipc", CLONE_NEWIPC, "ipc" },       { "uts", CLONE_NEWUTS, "uts" },       { "user", CLONE_NEWUSER, "user" },
  { "cgroup", CLONE_NEWCGROUP, "cgroup" }, { NULL, 0, NULL },
};

const struct ns_type *
ns_lookup (const char *name)
{
  const struct ns_type *t;

  for (t = ns_types; t->name; t++)
    if (strcmp (t->name, name) == 0)
      return t;
  return NULL;
}

int
ns_plan_build (json_t *spec, struct ns_plan *plan, err_t *err)
{
  json_t *list = json_object_get (json_object_get (spec, "linux"), "namespaces");
  int seen = 0;
  size_t i;

  memset (plan, 0, sizeof (*plan));
  plan->pid_join_fd = -1;
  if (list != NULL && !json_is_array (list))
    return make_error (err, 0, "linux.namespaces must be an array");
  for (i = 0; list && i < json_array_size (list); i++)
    {
      json_t *ns = json_array_get (list, i);
      const char *type = json_string_value (json_object_get (ns, "type"));
      const char *path = json_string_value (json_object_get (ns, "path"));
      const struct ns_type *t = type ? ns_lookup (type) : NULL;

      if (t == NULL)
        return make_error (err, 0, "linux.namespaces[%zu]: unknown namespace type `%s`", i, type ? type : "");
      /* runtime-spec: "Duplicated namespaces with same type are not allowed". */
      if (seen & t->flag)
        return make_error (err, 0, "linux.namespaces: duplicate namespace `%s`", type);
      seen |= t->flag;

      if (path != NULL && *path != '\0')
        {
          int fd = open (path, O_RDONLY | O_CLOEXEC);
          if (fd < 0)
            return make_error (err, errno, "open namespace `%s` at `%s`", type, path);
          if (t->flag == CLONE_NEWPID)
            {
              plan->pid_join_fd = fd;
              continue;
            }
          if (plan->n_join >= NS_MAX)
            {
              close (fd);
              return make_error (err, 0, "too many namespaces to join");
            }
          /* The user namespace goes first. */
          if (t->flag == CLONE_NEWUSER && plan->n_join > 0)
            {
              memmove (&plan->join_fd[1], &plan->join_fd[0], sizeof (int) * plan->n_join);
              memmove (&plan->join_type[1], &plan->join_type[0], sizeof (int) * plan->n_join);
              memmove (&plan->join_path[1], &plan->join_path[0], sizeof (char *) * plan->n_join);
              plan->join_fd[0] = fd;
              plan->join_type[0] = t->flag;
              plan->join_path[0] = path;
            }
          else
            {
              plan->join_fd[plan->n_join] = fd;
              plan->join_type[plan->n_join] = t->flag;
              plan->join_path[plan->n_join] = path;
            }
          plan->n_join++;
          continue;
        }
      if (t->flag == CLONE_NEWCGROUP)
        plan->new_cgroup = true;
      else
        plan->clone_flags |= t->flag;
      if (t->flag == CLONE_NEWUSER)
        plan->new_user = true;
      if (t->flag == CLONE_NEWUTS)
        plan->new_uts = true;
      if (t->flag == CLONE_NEWNS)
        plan->new_mount = true;
      if (t->flag == CLONE_NEWPID)
        plan->new_pid = true;
    }
  /* The rootfs is set up with mounts: a container always gets its own mount namespace
   * (runc refuses a spec without one). */
  if (!(seen & CLONE_NEWNS))
    return make_error (err, 0, "linux.namespaces: a mount namespace is required");
  return 0;
}

void
ns_plan_close (struct ns_plan *plan)
{
  int i;

  if (plan->pid_join_fd >= 0)
    close (plan->pid_join_fd);
  plan->pid_join_fd = -1;
  for (i = 0; i < plan->n_join; i++)
    if (plan->join_fd[i] >= 0)
      close (plan->join_fd[i]);
  plan->n_join = 0;
}

int
ns_join (struct ns_plan *plan, err_t *err)
{
  int i;

  for (i = 0; i < plan->n_join; i++)
    if (setns (plan->join_fd[i], plan->join_type[i]) < 0)
      return make_error (err, errno, "join namespace `%s`", plan->join_path[i]);
  return 0;
}
