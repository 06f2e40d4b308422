#include "utils.h"

#include <errno.h>

void
cleanup_freep (void *p)
{
  void **pp = p;
  free (*pp);
  *pp = NULL;
}

void
cleanup_closep (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
  *fd = -1;
}

void
cleanup_filep (FILE **f)
{
  if (*f != NULL)
    fclose (*f);
  *f = NULL;
}

void
cleanup_dirp (DIR **d)
{
  if (*d != NULL)
    closedir (*d);
  *d = NULL;
}
