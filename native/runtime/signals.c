#include "signals.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct
{
  const char *name;
  int signo;
} signal_names[] = {
  { "ABRT", SIGABRT }, { "ALRM", SIGALRM }, { "BUS", SIGBUS },       { "CHLD", SIGCHLD }, { "CONT", SIGCONT },
  { "FPE", SIGFPE },   { "HUP", SIGHUP },   { "ILL", SIGILL },       { "INT", SIGINT },   { "IO", SIGIO },
  { "IOT", SIGIOT },   { "KILL", SIGKILL }, { "PIPE", SIGPIPE },     { "POLL", SIGPOLL }, { "PROF", SIGPROF },
  { "PWR", SIGPWR },   { "QUIT", SIGQUIT }, { "SEGV", SIGSEGV },     { "STKFLT", SIGSTKFLT }, { "STOP", SIGSTOP },
  { "SYS", SIGSYS },   { "TERM", SIGTERM }, { "TRAP", SIGTRAP },     { "TSTP", SIGTSTP }, { "TTIN", SIGTTIN },
  { "TTOU", SIGTTOU }, { "URG", SIGURG },   { "USR1", SIGUSR1 },     { "USR2", SIGUSR2 }, { "VTALRM", SIGVTALRM },
  { "WINCH", SIGWINCH }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ },
};

int
parse_signal (const char *s, err_t *err)
{
  char *end;
  long n;
  size_t i;

  if (s == NULL || *s == '\0')
    return make_error (err, 0, "empty signal");
  n = strtol (s, &end, 10);
  if (*end == '\0')
    {
      if (n <= 0 || n > SIGRTMAX)
        return make_error (err, 0, "invalid signal `%s`", s);
      return (int) n;
    }
  if (strncasecmp (s, "SIG", 3) == 0)
    s += 3;
  for (i = 0; i < sizeof (signal_names) / sizeof (signal_names[0]); i++)
    if (strcasecmp (signal_names[i].name, s) == 0)
      return signal_names[i].signo;
  /* RTMIN+n / RTMAX-n */
  if (strncasecmp (s, "RTMIN", 5) == 0)
    {
      n = s[5] == '+' ? strtol (s + 6, &end, 10) : 0;
      if ((s[5] == '\0' || (s[5] == '+' && *end == '\0')) && SIGRTMIN + n <= SIGRTMAX)
        return SIGRTMIN + (int) n;
    }
  if (strncasecmp (s, "RTMAX", 5) == 0)
    {
      n = s[5] == '-' ? strtol (s + 6, &end, 10) : 0;
      if ((s[5] == '\0' || (s[5] == '-' && *end == '\0')) && SIGRTMAX - n >= SIGRTMIN)
        return SIGRTMAX - (int) n;
    }
  return make_error (err, 0, "unknown signal `%s`", s);
}
