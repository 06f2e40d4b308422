#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd-common.h"
#include "state.h"

int
cmd_state (struct global_opts *g, int argc, char **argv, err_t *err)
{
  cleanup_container struct container c = { 0 };
  json_t *out;
  int ret;

  while (getopt (argc, argv, "") != -1)
    return make_error (err, 0, "state: invalid option");
  ret = expect_args (argc, argv, 1, "ID", err);
  if (ret < 0)
    return ret;
  ret = container_load (g, argv[optind], &c, err);
  if (ret < 0)
    return ret;
  out = container_oci_state (&c);
  json_dumpf (out, stdout, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  fputc ('\n', stdout);
  json_decref (out);
  return 0;
}
