/* mount(2) and umount2(2) for the daemon (part of berth-addon.node), run on libuv's thread pool
 * like Node's own file system calls: mount(8) would cost a process and a parse of the mount
 * table for each container's rootfs, each pod's /dev/shm and each unmount.
 *
 *   mount(source, target, fstype, flags, data, callback(err))
 *   umount(target, flags, callback(err))
 *     flags are the kernel's (MS_* and MNT_*); err is null or an Error with the errno's name as
 *     its code. */
#include "addon.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mount.h>

struct mount_work
{
  napi_async_work work;
  napi_ref callback;
  char *source, *target, *fstype, *data;
  unsigned long flags;
  bool is_umount;
  int result; /* 0 or an errno */
};

static void
free_work (napi_env env, struct mount_work *w)
{
  if (w->callback != NULL)
    napi_delete_reference (env, w->callback);
  if (w->work != NULL)
    napi_delete_async_work (env, w->work);
  free (w->source);
  free (w->target);
  free (w->fstype);
  free (w->data);
  free (w);
}

static void
execute (napi_env env, void *data)
{
  struct mount_work *w = data;
  int ret;

  (void) env;
  if (w->is_umount)
    ret = umount2 (w->target, (int) w->flags);
  else
    ret = mount (w->source, w->target, w->fstype, w->flags, w->data);
  w->result = ret < 0 ? errno : 0;
}

static void
complete (napi_env env, napi_status status, void *data)
{
  struct mount_work *w = data;
  napi_value callback, undefined, err;

  (void) status;
  if (napi_get_reference_value (env, w->callback, &callback) == napi_ok && napi_get_undefined (env, &undefined) == napi_ok)
    {
      if (w->result == 0)
        napi_get_null (env, &err);
      else
        err = errno_error (env, w->result, w->is_umount ? "umount" : "mount", w->target,
                           w->is_umount ? "umount2" : "mount");
      if (err != NULL)
        napi_call_function (env, undefined, callback, 1, &err, NULL);
    }
  free_work (env, w);
}

/* An optional string argument: NULL for null or undefined. */
static bool
optional_string (napi_env env, napi_value value, char **out)
{
  napi_valuetype type;

  *out = NULL;
  if (napi_typeof (env, value, &type) != napi_ok)
    return false;
  if (type == napi_null || type == napi_undefined)
    return true;
  return (*out = string_of (env, value)) != NULL;
}

static napi_value
queue (napi_env env, struct mount_work *w, napi_value flags, napi_value callback)
{
  napi_value name;
  int64_t f;

  if (napi_get_value_int64 (env, flags, &f) != napi_ok || f < 0)
    {
      free_work (env, w);
      napi_throw_type_error (env, NULL, "flags: expected a non-negative number");
      return NULL;
    }
  w->flags = (unsigned long) f;
  if (napi_create_reference (env, callback, 1, &w->callback) != napi_ok
      || napi_create_string_utf8 (env, w->is_umount ? "berth umount" : "berth mount", NAPI_AUTO_LENGTH, &name) != napi_ok
      || napi_create_async_work (env, NULL, name, execute, complete, w, &w->work) != napi_ok
      || napi_queue_async_work (env, w->work) != napi_ok)
    {
      free_work (env, w);
      napi_throw_error (env, NULL, "cannot queue the mount");
      return NULL;
    }
  return NULL;
}

napi_value
mount_async (napi_env env, napi_callback_info cbinfo)
{
  size_t argc = 6;
  napi_value argv[6];
  struct mount_work *w;

  NAPI_CALL (env, napi_get_cb_info (env, cbinfo, &argc, argv, NULL, NULL));
  if (argc < 6)
    {
      napi_throw_type_error (env, NULL, "mount(source, target, fstype, flags, data, callback)");
      return NULL;
    }
  w = calloc (1, sizeof *w);
  if (w == NULL)
    {
      napi_throw_error (env, NULL, "out of memory");
      return NULL;
    }
  if (!optional_string (env, argv[0], &w->source) || (w->target = string_of (env, argv[1])) == NULL
      || !optional_string (env, argv[2], &w->fstype) || !optional_string (env, argv[4], &w->data))
    {
      free_work (env, w);
      return NULL;
    }
  return queue (env, w, argv[3], argv[5]);
}

napi_value
umount_async (napi_env env, napi_callback_info cbinfo)
{
  size_t argc = 3;
  napi_value argv[3];
  struct mount_work *w;

  NAPI_CALL (env, napi_get_cb_info (env, cbinfo, &argc, argv, NULL, NULL));
  if (argc < 3)
    {
      napi_throw_type_error (env, NULL, "umount(target, flags, callback)");
      return NULL;
    }
  w = calloc (1, sizeof *w);
  if (w == NULL)
    {
      napi_throw_error (env, NULL, "out of memory");
      return NULL;
    }
  w->is_umount = true;
  if ((w->target = string_of (env, argv[0])) == NULL)
    {
      free_work (env, w);
      return NULL;
    }
  return queue (env, w, argv[1], argv[2]);
}
