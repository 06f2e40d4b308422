#include "spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utils.h"

json_t *
spec_load (const char *bundle, err_t *err)
{
  cleanup_free char *path = NULL;
  json_error_t jerr;
  json_t *spec;

  if (asprintf (&path, "%s/config.json", bundle) < 0)
    {
      make_error (err, ENOMEM, "config.json");
      return NULL;
    }
  spec = json_load_file (path, 0, &jerr);
  if (spec == NULL)
    {
      if (jerr.line < 0 || strstr (jerr.text, "unable to open") != NULL)
        make_error (err, ENOENT, "open `%s`", path);
      else
        make_error (err, 0, "parse `%s`: %s (line %d, column %d)", path, jerr.text, jerr.line, jerr.column);
      return NULL;
    }
  if (!json_is_object (spec))
    {
      json_decref (spec);
      make_error (err, 0, "`%s` is not a JSON object", path);
      return NULL;
    }
  return spec;
}

json_t *
spec_get (json_t *spec, const char *path)
{
  cleanup_free char *copy = strdup (path);
  char *save = NULL, *part;
  json_t *cur = spec;

  if (copy == NULL)
    return NULL;
  for (part = strtok_r (copy, ".", &save); part && cur; part = strtok_r (NULL, ".", &save))
    cur = json_is_object (cur) ? json_object_get (cur, part) : NULL;
  return json_is_null (cur) ? NULL : cur;
}

const char *
spec_string (json_t *obj, const char *key)
{
  json_t *v = json_is_object (obj) ? json_object_get (obj, key) : NULL;
  return json_is_string (v) ? json_string_value (v) : NULL;
}

int
spec_string_array (json_t *arr, const char *what, const char ***out, size_t *n, err_t *err)
{
  const char **v;
  size_t i, len;

  *out = NULL;
  if (n)
    *n = 0;
  if (arr == NULL || json_is_null (arr))
    len = 0;
  else if (!json_is_array (arr))
    return make_error (err, 0, "%s: expected an array of strings", what);
  else
    len = json_array_size (arr);
  v = calloc (len + 1, sizeof (char *));
  if (v == NULL)
    return make_error (err, ENOMEM, "%s", what);
  for (i = 0; i < len; i++)
    {
      json_t *s = json_array_get (arr, i);
      if (!json_is_string (s))
        {
          free (v);
          return make_error (err, 0, "%s[%zu]: expected a string", what, i);
        }
      v[i] = json_string_value (s);
    }
  *out = v;
  if (n)
    *n = len;
  return 0;
}

int
spec_validate (json_t *spec, err_t *err)
{
  json_t *args = spec_get (spec, "process.args");

  if (spec_string (spec, "ociVersion") == NULL)
    return make_error (err, 0, "config.json: ociVersion is required");
  if (spec_string (json_object_get (spec, "root"), "path") == NULL)
    return make_error (err, 0, "config.json: root.path is required");
  if (json_object_get (spec, "process") == NULL)
    return make_error (err, 0, "config.json: process is required to create a container");
  if (!json_is_array (args) || json_array_size (args) == 0)
    return make_error (err, 0, "config.json: process.args must not be empty");
  if (spec_string (spec_get (spec, "process"), "cwd") == NULL)
    return make_error (err, 0, "config.json: process.cwd is required");
  if (spec_string (spec_get (spec, "process"), "cwd")[0] != '/')
    return make_error (err, 0, "config.json: process.cwd must be an absolute path");
  return 0;
}
