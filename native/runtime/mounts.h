/* The container's filesystem: rootfs propagation, config.json mounts, devices, pivot_root,
 * masked and read-only paths. Runs in the init, inside the new mount namespace. */
#ifndef BERTH_MOUNTS_H
#define BERTH_MOUNTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct mount_option
{
  const char *name;
  bool clear;          /* the option clears the flag (rw, suid, dev, ...) */
  unsigned long flag;
  bool propagation;    /* MS_SHARED/MS_SLAVE/... set by a separate mount call */
};

extern const struct mount_option mount_options[];

/* A recursive mount attribute option (runtime-spec "rro", "rnosuid", ...), applied with
 * mount_setattr(2) and AT_RECURSIVE to the mount and everything mounted below it. */
struct recursive_option
{
  const char *name;
  bool clear;          /* the option clears the attribute (rrw, rsuid, ...) */
  uint64_t attr;
};

extern const struct recursive_option recursive_options[];

/* Recursive attributes to set and to clear on a mount tree. */
struct recursive_attrs
{
  uint64_t set;
  uint64_t clear;
};

/* Splits an options array into mount flags, propagation flags, recursive attributes and the
 * data string. */
int parse_mount_options (json_t *options, unsigned long *flags, unsigned long *propagation,
                         struct recursive_attrs *recursive, char **data, bool *recursive_bind, err_t *err);

/* Everything up to pivot_root: propagation, the rootfs bind, mounts, devices and /dev links.
 * *rootfs is the resolved rootfs path, for enter_rootfs. */
int setup_rootfs (json_t *spec, const char *bundle, bool new_user, char **rootfs, err_t *err);
/* pivot_root (or, with --no-pivot, MS_MOVE and chroot): on return the root is the container's.
 * The createContainer hooks run between the two (runtime-spec runtime.md "Lifecycle"). */
int enter_rootfs (const char *rootfs, bool no_pivot, err_t *err);
/* After pivot_root: maskedPaths, readonlyPaths, root.readonly, rootfsPropagation. */
int finish_rootfs (json_t *spec, err_t *err);

#endif
