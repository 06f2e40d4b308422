#include "addon.h"

#include <stdio.h>
#include <string.h>

napi_value
errno_error (napi_env env, int errnum, const char *what, const char *subject, const char *syscall)
{
  char message[1024];
  napi_value msg, code, error, value;
  const char *name = strerrorname_np (errnum);

  snprintf (message, sizeof message, "%s %s %s (%s)", what, subject, name ? name : "error", strerror (errnum));
  if (napi_create_string_utf8 (env, message, NAPI_AUTO_LENGTH, &msg) != napi_ok
      || napi_create_string_utf8 (env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code) != napi_ok
      || napi_create_error (env, code, msg, &error) != napi_ok)
    return NULL;
  if (napi_create_int32 (env, -errnum, &value) == napi_ok)
    napi_set_named_property (env, error, "errno", value);
  if (napi_create_string_utf8 (env, syscall, NAPI_AUTO_LENGTH, &value) == napi_ok)
    napi_set_named_property (env, error, "syscall", value);
  return error;
}

napi_value
throw_errno (napi_env env, int errnum, const char *what, const char *subject, const char *syscall)
{
  napi_value error = errno_error (env, errnum, what, subject, syscall);
  if (error != NULL)
    napi_throw (env, error);
  return NULL;
}

NAPI_MODULE_INIT ()
{
  napi_property_descriptor props[] = {
    { "spawn", NULL, spawn, NULL, NULL, NULL, napi_default, NULL },
    { "setExitHandler", NULL, set_exit_handler, NULL, NULL, NULL, napi_default, NULL },
    { "mount", NULL, mount_async, NULL, NULL, NULL, napi_default, NULL },
    { "umount", NULL, umount_async, NULL, NULL, NULL, napi_default, NULL },
    { "trimMemory", NULL, trim_memory, NULL, NULL, NULL, napi_default, NULL },
  };
  if (napi_define_properties (env, exports, sizeof props / sizeof props[0], props) != napi_ok)
    return NULL;
  return exports;
}
