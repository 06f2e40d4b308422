#include "cmd-common.h"

#include <getopt.h>

int
expect_args (int argc, char **argv, int want, const char *usage, err_t *err)
{
  if (argc - optind != want)
    return make_error (err, 0, "usage: berth-runtime %s %s", argv[0], usage);
  return 0;
}
