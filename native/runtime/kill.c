#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>

#include "cgroup.h"
#include "cmd-common.h"
#include "signals.h"
#include "state.h"

int
cmd_kill (struct global_opts *g, int argc, char **argv, err_t *err)
{
  static const struct option opts[] = { { "all", no_argument, NULL, 'a' }, { NULL, 0, NULL, 0 } };
  cleanup_container struct container c = { 0 };
  bool all = false;
  int opt, signo = SIGTERM, ret;

  while ((opt = getopt_long (argc, argv, "a", opts, NULL)) != -1)
    {
      if (opt != 'a')
        return make_error (err, 0, "kill: invalid option");
      all = true;
    }
  if (argc - optind != 1 && argc - optind != 2)
    return make_error (err, 0, "usage: berth-runtime kill [--all] ID [SIGNAL]");
  if (argc - optind == 2)
    {
      signo = parse_signal (argv[optind + 1], err);
      if (signo < 0)
        return signo;
    }
  ret = container_load (g, argv[optind], &c, err);
  if (ret < 0)
    return ret;
  /* runtime-spec "kill": an error when the container is neither created nor running. */
  if (strcmp (container_status (&c), "stopped") == 0 && !all)
    return make_error (err, ESRCH, "container `%s` is not running", c.id);
  if (all)
    return cgroup_signal_all (cgroup_ops_by_name (json_string_value (json_object_get (c.state, "cgroupDriver"))),
                              json_string_value (json_object_get (c.state, "cgroupPath")), signo, err);
  if (kill (container_pid (&c), signo) < 0)
    return make_error (err, errno, "kill %d", (int) container_pid (&c));
  return 0;
}
