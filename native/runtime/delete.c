#include <getopt.h>

#include "cmd-common.h"
#include "container.h"

int
cmd_delete (struct global_opts *g, int argc, char **argv, err_t *err)
{
  static const struct option opts[] = { { "force", no_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
  bool force = false;
  int opt, ret;

  while ((opt = getopt_long (argc, argv, "f", opts, NULL)) != -1)
    {
      if (opt != 'f')
        return make_error (err, 0, "delete: invalid option");
      force = true;
    }
  ret = expect_args (argc, argv, 1, "[--force] ID", err);
  if (ret < 0)
    return ret;
  return container_delete (g, argv[optind], force, err);
}
