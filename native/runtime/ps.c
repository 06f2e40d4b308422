#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "cmd-common.h"
#include "state.h"

/* ps ID: the processes of the container's cgroup. --format json prints the pids as a JSON
 * array (what CRI runtimes read); table runs ps(1) and keeps the container's lines, as runc. */
int
cmd_ps (struct global_opts *g, int argc, char **argv, err_t *err)
{
  static const struct option opts[] = { { "format", required_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
  cleanup_container struct container c = { 0 };
  cleanup_free pid_t *pids = NULL;
  const char *format = "table";
  size_t n = 0, i;
  int opt, ret;

  while ((opt = getopt_long (argc, argv, "+f:", opts, NULL)) != -1)
    {
      if (opt != 'f')
        return make_error (err, 0, "ps: invalid option");
      format = optarg;
    }
  if (strcmp (format, "table") != 0 && strcmp (format, "json") != 0)
    return make_error (err, 0, "ps: unknown format `%s`", format);
  if (argc - optind < 1)
    return make_error (err, 0, "usage: berth-runtime ps [--format table|json] ID [ps options]");
  ret = container_load (g, argv[optind], &c, err);
  if (ret < 0)
    return ret;
  ret = cgroup_ops_by_name (json_string_value (json_object_get (c.state, "cgroupDriver")))
            ->pids (json_string_value (json_object_get (c.state, "cgroupPath")), &pids, &n, err);
  if (ret < 0)
    return ret;
  if (strcmp (format, "json") == 0)
    {
      json_t *arr = json_array ();
      for (i = 0; i < n; i++)
        json_array_append_new (arr, json_integer (pids[i]));
      json_dumpf (arr, stdout, JSON_COMPACT);
      fputc ('\n', stdout);
      json_decref (arr);
      return 0;
    }
  {
    cleanup_free char *cmd = NULL;
    FILE *p;
    char line[4096];
    bool header = true;
    size_t used = 0;
    int k;

    /* Extra arguments after the id are ps options (runc passes them through; default -ef). */
    cmd = malloc (4096);
    if (cmd == NULL)
      return make_error (err, ENOMEM, "ps");
    used = (size_t) snprintf (cmd, 4096, "ps");
    if (argc - optind == 1)
      used += (size_t) snprintf (cmd + used, 4096 - used, " -ef");
    for (k = optind + 1; k < argc && used < 4000; k++)
      {
        if (strspn (argv[k], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-=,") != strlen (argv[k]))
          return make_error (err, 0, "ps: unsupported ps option `%s`", argv[k]);
        used += (size_t) snprintf (cmd + used, 4096 - used, " %s", argv[k]);
      }
    p = popen (cmd, "re");
    if (p == NULL)
      return make_error (err, errno, "run ps");
    while (fgets (line, sizeof (line), p))
      {
        char *f;
        long pid;
        if (header)
          {
            /* The PID column is the second of -ef; found by its header for other options. */
            fputs (line, stdout);
            header = false;
            continue;
          }
        f = line;
        while (*f == ' ')
          f++;
        f += strcspn (f, " ");
        pid = strtol (f, NULL, 10);
        for (i = 0; i < n; i++)
          if (pids[i] == pid)
            fputs (line, stdout);
      }
    pclose (p);
  }
  return 0;
}
