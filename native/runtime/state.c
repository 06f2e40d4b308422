#include "state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
validate_id (const char *id, err_t *err)
{
  const char *p;

  /* The same rule as runc: the id names a directory, so no separators and no dot names. */
  if (id == NULL || *id == '\0')
    return make_error (err, 0, "container id cannot be empty");
  if (strcmp (id, ".") == 0 || strcmp (id, "..") == 0 || strlen (id) > 1024)
    return make_error (err, 0, "invalid container id `%s`", id);
  for (p = id; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'
          || *p == '-' || *p == '.' || *p == '+'))
      return make_error (err, 0, "invalid container id `%s`", id);
  return 0;
}

int
state_root (struct global_opts *g, err_t *err)
{
  if (mkdir_p (g->root, 0700, err) < 0)
    return err_prefix (err, "state root");
  return 0;
}

char *
state_dir (struct global_opts *g, const char *id)
{
  char *dir = NULL;

  if (asprintf (&dir, "%s/%s", g->root, id) < 0)
    return NULL;
  return dir;
}

static json_t *
load_json (const char *path, err_t *err)
{
  json_error_t jerr;
  json_t *v = json_load_file (path, 0, &jerr);

  if (v == NULL)
    {
      if (access (path, F_OK) < 0)
        make_error (err, errno, "open `%s`", path);
      else
        make_error (err, 0, "parse `%s`: %s (line %d)", path, jerr.text, jerr.line);
    }
  return v;
}

int
container_load (struct global_opts *g, const char *id, struct container *c, err_t *err)
{
  cleanup_free char *state_path = NULL;
  cleanup_free char *config_path = NULL;
  struct stat st;
  int ret;

  memset (c, 0, sizeof (*c));
  ret = validate_id (id, err);
  if (ret < 0)
    return ret;
  c->id = strdup (id);
  c->dir = state_dir (g, id);
  if (c->id == NULL || c->dir == NULL)
    return make_error (err, ENOMEM, "load container");
  if (stat (c->dir, &st) < 0)
    return make_error (err, errno == ENOENT ? ENOENT : errno, "container `%s` does not exist", id);
  if (asprintf (&state_path, "%s/state.json", c->dir) < 0 || asprintf (&config_path, "%s/config.json", c->dir) < 0)
    return make_error (err, ENOMEM, "load container");
  c->state = load_json (state_path, err);
  if (c->state == NULL)
    return errno == ENOENT ? make_error (err, ENOENT, "container `%s` does not exist", id)
                           : err_prefix (err, "container `%s`", id);
  c->spec = load_json (config_path, err);
  if (c->spec == NULL)
    return err_prefix (err, "container `%s`", id);
  return 0;
}

void
container_free (struct container *c)
{
  free (c->id);
  free (c->dir);
  json_decref (c->state);
  json_decref (c->spec);
  memset (c, 0, sizeof (*c));
}

int
state_write (const char *dir, json_t *state, err_t *err)
{
  cleanup_free char *path = NULL;
  cleanup_free char *text = json_dumps (state, JSON_COMPACT);

  if (text == NULL || asprintf (&path, "%s/state.json", dir) < 0)
    return make_error (err, ENOMEM, "serialize state");
  /* Not synced, as runc and crun do not sync theirs: the state describes processes that a
   * power loss takes with it, and it lives under /run. The rename alone keeps readers from
   * seeing half a file; an fsync here made `create` wait behind the disk's other writes. */
  return write_file_atomic (path, text, strlen (text), 0600, false, err);
}

unsigned long long
process_start_time (pid_t pid)
{
  char path[64];
  cleanup_free char *text = NULL;
  char *p;
  int field;

  snprintf (path, sizeof (path), "/proc/%d/stat", (int) pid);
  if (read_file (path, &text, NULL, NULL) < 0)
    return 0;
  /* The command name may hold spaces and parentheses: fields resume after the last ')'. */
  p = strrchr (text, ')');
  if (p == NULL || p[1] == '\0')
    return 0;
  p += 2;
  if (*p == 'Z' || *p == 'X')
    return 0;
  /* p points at field 3 (state); starttime is field 22. */
  for (field = 3; field < 22 && p != NULL; field++)
    {
      p = strchr (p, ' ');
      if (p)
        p++;
    }
  return p ? strtoull (p, NULL, 10) : 0;
}

pid_t
container_pid (const struct container *c)
{
  return (pid_t) json_integer_value (json_object_get (c->state, "pid"));
}

const char *
container_status (const struct container *c)
{
  cleanup_free char *fifo = NULL;
  pid_t pid = container_pid (c);
  unsigned long long recorded = (unsigned long long) json_integer_value (json_object_get (c->state, "initStartTime"));

  if (pid <= 0 || process_start_time (pid) != recorded)
    return "stopped";
  if (asprintf (&fifo, "%s/exec.fifo", c->dir) >= 0 && access (fifo, F_OK) == 0)
    return "created";
  return "running";
}

json_t *
container_oci_state (const struct container *c)
{
  const char *status = container_status (c);
  json_t *annotations = json_object_get (c->state, "annotations");
  json_t *out = json_object ();

  json_object_set_new (out, "ociVersion", json_string (OCI_VERSION));
  json_object_set_new (out, "id", json_string (c->id));
  /* runtime-spec: pid is REQUIRED when status is created or running. runc reports 0 once the
   * container has stopped. */
  json_object_set_new (out, "pid", json_integer (strcmp (status, "stopped") == 0 ? 0 : container_pid (c)));
  json_object_set_new (out, "status", json_string (status));
  json_object_set (out, "bundle", json_object_get (c->state, "bundle"));
  json_object_set (out, "rootfs", json_object_get (c->state, "rootfs"));
  json_object_set (out, "created", json_object_get (c->state, "created"));
  json_object_set_new (out, "annotations", annotations ? json_incref (annotations) : json_object ());
  return out;
}
