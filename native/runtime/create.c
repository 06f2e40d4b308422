#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cmd-common.h"
#include "container.h"

enum
{
  OPT_BUNDLE = 'b',
  OPT_PID_FILE = 256,
  OPT_CONSOLE_SOCKET,
  OPT_NO_PIVOT,
  OPT_NO_NEW_KEYRING,
  OPT_PRESERVE_FDS,
  OPT_DETACH = 'd',
};

static const struct option create_options[] = {
  { "bundle", required_argument, NULL, OPT_BUNDLE },
  { "pid-file", required_argument, NULL, OPT_PID_FILE },
  { "console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET },
  { "no-pivot", no_argument, NULL, OPT_NO_PIVOT },
  { "no-new-keyring", no_argument, NULL, OPT_NO_NEW_KEYRING },
  { "preserve-fds", required_argument, NULL, OPT_PRESERVE_FDS },
  { "detach", no_argument, NULL, OPT_DETACH },
  { NULL, 0, NULL, 0 },
};

/* Shared by create and run: run also takes --detach. */
int
parse_create_options (int argc, char **argv, struct create_opts *o, bool *detach, err_t *err)
{
  int opt;

  memset (o, 0, sizeof (*o));
  while ((opt = getopt_long (argc, argv, detach ? "b:d" : "b:", create_options, NULL)) != -1)
    switch (opt)
      {
      case OPT_BUNDLE:
        o->bundle = optarg;
        break;
      case OPT_PID_FILE:
        o->pid_file = optarg;
        break;
      case OPT_CONSOLE_SOCKET:
        o->console_socket = optarg;
        break;
      case OPT_NO_PIVOT:
        o->no_pivot = true;
        break;
      case OPT_NO_NEW_KEYRING:
        /* No session keyring is created either way. */
        break;
      case OPT_PRESERVE_FDS:
        if (strcmp (optarg, "0") != 0)
          return make_error (err, ENOTSUP, "--preserve-fds is not supported");
        break;
      case OPT_DETACH:
        if (detach == NULL)
          return make_error (err, 0, "unknown option --detach");
        *detach = true;
        break;
      default:
        return make_error (err, 0, "%s: invalid option", argv[0]);
      }
  if (expect_args (argc, argv, 1, "[options] ID", err) < 0)
    return -1;
  o->id = argv[optind];
  return 0;
}

int
cmd_create (struct global_opts *g, int argc, char **argv, err_t *err)
{
  struct create_opts o;
  pid_t pid;
  int ret;

  ret = parse_create_options (argc, argv, &o, NULL, err);
  if (ret < 0)
    return ret;
  if (g->systemd_cgroup)
    return make_error (err, ENOTSUP, "--systemd-cgroup is not supported yet");
  return container_create (g, &o, &pid, err);
}
