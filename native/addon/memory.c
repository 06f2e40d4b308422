/* Gives the daemon's free malloc memory back to the kernel (part of berth-addon.node).
 *
 *   trimMemory() -> undefined
 *     malloc_trim(0): glibc keeps memory freed in each thread's arena (zlib's buffers of an image
 *     pull, freed on the thread pool) for reuse, resident; the trim returns its whole free pages
 *     to the kernel. Called after bursts of work, never on a hot path (it walks every arena). */
#include "addon.h"

#include <malloc.h>

napi_value
trim_memory (napi_env env, napi_callback_info cbinfo)
{
  (void) env;
  (void) cbinfo;
  malloc_trim (0);
  return NULL;
}
