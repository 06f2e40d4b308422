/* Reading the runtime-spec config.json (jansson). Accessors return NULL/defaults for absent
 * fields; type errors are reported with the JSON path of the field. */
#ifndef BERTH_SPEC_H
#define BERTH_SPEC_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

json_t *spec_load (const char *bundle, err_t *err);
/* Checks the fields every container needs: ociVersion, root.path, process.args. */
int spec_validate (json_t *spec, err_t *err);

/* Walks a dotted path ("linux.resources.memory"); NULL when any part is absent. */
json_t *spec_get (json_t *spec, const char *path);
const char *spec_string (json_t *obj, const char *key);
/* A JSON array of strings as a NULL-terminated vector (strings borrowed from obj). */
int spec_string_array (json_t *arr, const char *what, const char ***out, size_t *n, err_t *err);

#endif
