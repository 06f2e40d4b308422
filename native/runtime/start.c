#include <getopt.h>

#include "cmd-common.h"
#include "container.h"

int
cmd_start (struct global_opts *g, int argc, char **argv, err_t *err)
{
  int ret;

  while (getopt (argc, argv, "") != -1)
    return make_error (err, 0, "start: invalid option");
  ret = expect_args (argc, argv, 1, "ID", err);
  if (ret < 0)
    return ret;
  return container_start (g, argv[optind], err);
}
