/* berth-runtime: global options, then one command from the table. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "runtime.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

static const struct command commands[] = {
  { "create", cmd_create, "create a container (its init waits for start)" },
  { "start", cmd_start, "start a created container" },
  { "run", cmd_run, "create and start a container" },
  { "state", cmd_state, "print the OCI state of a container" },
  { "kill", cmd_kill, "send a signal to the container's init" },
  { "delete", cmd_delete, "delete a stopped container (--force: any)" },
  { "list", cmd_list, "list containers" },
  { "exec", cmd_exec, "run a new process in a container" },
  { "ps", cmd_ps, "list the processes of a container" },
  { "features", cmd_features, "print the features this runtime supports (JSON)" },
  { NULL, NULL, NULL },
};

static void
usage (FILE *out)
{
  const struct command *c;

  fprintf (out, "usage: berth-runtime [--root DIR] [--log FILE] [--log-format text|json] COMMAND [ARGS...]\n\ncommands:\n");
  for (c = commands; c->name; c++)
    fprintf (out, "  %-10s %s\n", c->name, c->summary);
}

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "root", required_argument, NULL, 'r' },   { "log", required_argument, NULL, 'l' },
    { "log-format", required_argument, NULL, 'f' }, { "systemd-cgroup", no_argument, NULL, 's' },
    { "debug", no_argument, NULL, 'd' },        { "rootless", required_argument, NULL, 'R' },
    { "version", no_argument, NULL, 'v' },      { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct global_opts g = { .root = DEFAULT_ROOT, .log_format = "text" };
  cleanup_err err_t err = NULL;
  const struct command *c;
  int opt;

  while ((opt = getopt_long (argc, argv, "+vh", opts, NULL)) != -1)
    switch (opt)
      {
      case 'r':
        g.root = optarg;
        break;
      case 'l':
        g.log = optarg;
        break;
      case 'f':
        g.log_format = optarg;
        break;
      case 's':
        g.systemd_cgroup = true;
        break;
      case 'd':
        g.debug = true;
        break;
      case 'R':
        if (strcmp (optarg, "false") != 0 && strcmp (optarg, "auto") != 0)
          {
            fprintf (stderr, "berth-runtime: --rootless=%s is not supported\n", optarg);
            return 1;
          }
        break;
      case 'v':
        printf ("berth-runtime version %s\nspec: %s\n", BERTH_VERSION, OCI_VERSION);
        return 0;
      case 'h':
        usage (stdout);
        return 0;
      default:
        usage (stderr);
        return 2;
      }
  if (log_open (g.log, g.log_format, &err) < 0)
    {
      err_print (&err, "berth-runtime");
      return 1;
    }
  if (optind >= argc)
    {
      usage (stderr);
      return 2;
    }
  for (c = commands; c->name; c++)
    if (strcmp (c->name, argv[optind]) == 0)
      break;
  if (c->name == NULL)
    {
      log_msg ("error", "unknown command `%s`", argv[optind]);
      return 2;
    }
  /* Each command parses its own options from argv[0] = its name. */
  argc -= optind;
  argv += optind;
  optind = 0;
  if (c->run (&g, argc, argv, &err) < 0)
    {
      log_error (&err);
      return 1;
    }
  return 0;
}
