#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd-common.h"
#include "state.h"

static int
compare_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
cmd_list (struct global_opts *g, int argc, char **argv, err_t *err)
{
  static const struct option opts[] = {
    { "format", required_argument, NULL, 'f' },
    { "quiet", no_argument, NULL, 'q' },
    { NULL, 0, NULL, 0 },
  };
  cleanup_dir DIR *d = NULL;
  const char *format = "table";
  bool quiet = false;
  struct dirent *e;
  char **names = NULL;
  size_t n = 0, i;
  json_t *all = json_array ();
  int opt;

  while ((opt = getopt_long (argc, argv, "f:q", opts, NULL)) != -1)
    switch (opt)
      {
      case 'f':
        format = optarg;
        break;
      case 'q':
        quiet = true;
        break;
      default:
        return make_error (err, 0, "list: invalid option");
      }
  if (strcmp (format, "table") != 0 && strcmp (format, "json") != 0)
    return make_error (err, 0, "list: unknown format `%s`", format);
  d = opendir (g->root);
  if (d == NULL && errno != ENOENT)
    return make_error (err, errno, "open `%s`", g->root);
  while (d && (e = readdir (d)))
    {
      char **grown;
      if (e->d_name[0] == '.' || validate_id (e->d_name, NULL) < 0)
        continue;
      grown = realloc (names, sizeof (char *) * (n + 1));
      if (grown == NULL)
        return make_error (err, ENOMEM, "list");
      names = grown;
      names[n++] = strdup (e->d_name);
    }
  if (n)
    qsort (names, n, sizeof (char *), compare_names);
  if (!quiet && strcmp (format, "table") == 0)
    printf ("%-20s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
  for (i = 0; i < n; i++)
    {
      cleanup_container struct container c = { 0 };
      err_t ignored = NULL;
      json_t *st;

      /* A container being created or deleted right now has no complete record: skip it. */
      if (container_load (g, names[i], &c, &ignored) < 0)
        {
          err_release (&ignored);
          continue;
        }
      st = container_oci_state (&c);
      if (quiet)
        printf ("%s\n", c.id);
      else if (strcmp (format, "table") == 0)
        printf ("%-20s %-8lld %-10s %-40s %s\n", c.id, (long long) json_integer_value (json_object_get (st, "pid")),
                json_string_value (json_object_get (st, "status")),
                json_string_value (json_object_get (st, "bundle")) ?: "",
                json_string_value (json_object_get (st, "created")) ?: "");
      json_array_append_new (all, st);
    }
  if (!quiet && strcmp (format, "json") == 0)
    {
      json_dumpf (all, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
      fputc ('\n', stdout);
    }
  json_decref (all);
  for (i = 0; i < n; i++)
    free (names[i]);
  free (names);
  return 0;
}
