/* berth-addon.node: the system calls the daemon makes itself rather than through a program
 * (Node-API, so one build serves every Node version): spawn.c starts processes, mount.c mounts,
 * memory.c returns free malloc memory. */
#ifndef BERTH_ADDON_H
#define BERTH_ADDON_H

#define NAPI_VERSION 8
#include <node_api.h>

/* Returns NULL from the calling function with a JavaScript exception pending. */
#define NAPI_CALL(env, call)                                                                 \
  do                                                                                         \
    {                                                                                        \
      if ((call) != napi_ok)                                                                 \
        {                                                                                    \
          const napi_extended_error_info *info_ = NULL;                                      \
          bool pending_;                                                                     \
          napi_get_last_error_info ((env), &info_);                                          \
          napi_is_exception_pending ((env), &pending_);                                      \
          if (!pending_)                                                                     \
            napi_throw_error ((env), NULL,                                                   \
                              info_ && info_->error_message ? info_->error_message : #call); \
          return NULL;                                                                       \
        }                                                                                    \
    }                                                                                        \
  while (0)

/* An Error like Node's own system errors: message "<what> <subject> <ENAME> (<text>)", code
 * "ENAME", errno -errnum, syscall. */
napi_value errno_error (napi_env env, int errnum, const char *what, const char *subject, const char *syscall);
/* Throws errno_error (...) and returns NULL. */
napi_value throw_errno (napi_env env, int errnum, const char *what, const char *subject, const char *syscall);

/* A JavaScript string as a malloc'd C string, or NULL with an exception pending. */
char *string_of (napi_env env, napi_value value);

napi_value spawn (napi_env env, napi_callback_info cbinfo);
napi_value set_exit_handler (napi_env env, napi_callback_info cbinfo);
napi_value mount_async (napi_env env, napi_callback_info cbinfo);
napi_value umount_async (napi_env env, napi_callback_info cbinfo);
napi_value trim_memory (napi_env env, napi_callback_info cbinfo);

#endif
