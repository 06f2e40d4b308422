#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd-common.h"
#include "container.h"

int parse_create_options (int argc, char **argv, struct create_opts *o, bool *detach, err_t *err);

/* run = create + start; in the foreground it waits for the init, deletes the container and
 * exits with the init's status (128+signal when killed, like a shell). */
int
cmd_run (struct global_opts *g, int argc, char **argv, err_t *err)
{
  struct create_opts o;
  bool detach = false;
  pid_t pid;
  int ret, status;

  ret = parse_create_options (argc, argv, &o, &detach, err);
  if (ret < 0)
    return ret;
  if (g->systemd_cgroup)
    return make_error (err, ENOTSUP, "--systemd-cgroup is not supported yet");
  ret = container_create (g, &o, &pid, err);
  if (ret < 0)
    return ret;
  ret = container_start (g, o.id, err);
  if (ret < 0)
    {
      err_t ignored = NULL;
      container_delete (g, o.id, true, &ignored);
      err_release (&ignored);
      return ret;
    }
  if (detach)
    return 0;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return make_error (err, errno, "wait for the container");
  ret = container_delete (g, o.id, true, err);
  if (ret < 0)
    return ret;
  exit (WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status));
}
