/* Unit tests of the monitor's pure functions: the CRI log formatter, the exit record, the
 * JSON string and base64 encoders. Built and run by logging.test.ts; exits 1 on any failure. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "exit.h"
#include "io.h"
#include "logging.h"

static int failures;

#define TS "2024-05-01T12:34:56.000000001Z"

static void
expect_str (const char *what, const char *got, size_t got_len, const char *want)
{
  if (got_len != strlen (want) || memcmp (got, want, got_len) != 0)
    {
      failures++;
      printf ("FAIL %s\n  got:  \"%.*s\"\n  want: \"%s\"\n", what, (int) got_len, got, want);
    }
}

static void
expect_size (const char *what, size_t got, size_t want)
{
  if (got != want)
    {
      failures++;
      printf ("FAIL %s: got %zu, want %zu\n", what, got, want);
    }
}

/* Formats all of in, in as many rounds as out_cap forces, and compares the whole output. */
static void
check_format (const char *what, enum log_stream stream, const char *in, size_t max_line, size_t out_cap,
              const char *want)
{
  char out[4096], all[16384];
  size_t all_len = 0, len = strlen (in), rounds = 0;

  while (len > 0 && rounds++ < 1000)
    {
      size_t out_len = 0, n = cri_format (TS, stream, in, len, max_line, out, out_cap, &out_len);
      memcpy (all + all_len, out, out_len);
      all_len += out_len;
      in += n;
      len -= n;
    }
  expect_str (what, all, all_len, want);
}

int
main (void)
{
  char buf[1024];
  size_t out_len = 12345, n;
  int len;

  check_format ("one line", LOG_STDOUT, "hello\n", 0, 4096, TS " stdout F hello\n");
  check_format ("stderr", LOG_STDERR, "oops\n", 0, 4096, TS " stderr F oops\n");
  check_format ("two lines and a partial", LOG_STDOUT, "a\nb\nc", 0, 4096,
               TS " stdout F a\n" TS " stdout F b\n" TS " stdout P c\n");
  check_format ("empty line", LOG_STDOUT, "\n", 0, 4096, TS " stdout F \n");
  check_format ("cut at max", LOG_STDOUT, "abcdefghij\n", 4, 4096,
               TS " stdout P abcd\n" TS " stdout P efgh\n" TS " stdout F ij\n");
  check_format ("exactly max then newline", LOG_STDOUT, "abcd\nef", 4, 4096, TS " stdout F abcd\n" TS " stdout P ef\n");
  check_format ("max without newline", LOG_STDOUT, "abcd", 4, 4096, TS " stdout P abcd\n");
  check_format ("carriage return kept", LOG_STDOUT, "a\r\n", 0, 4096, TS " stdout F a\r\n");
  /* An output buffer with room for one piece at a time still formats everything. */
  check_format ("small buffer", LOG_STDOUT, "x\ny\nzzzz", 4, CRI_LINE_OVERHEAD + 4,
               TS " stdout F x\n" TS " stdout F y\n" TS " stdout P zzzz\n");

  n = cri_format (TS, LOG_STDOUT, "hello\n", 6, 0, buf, 10, &out_len);
  expect_size ("no room: consumed", n, 0);
  expect_size ("no room: written", out_len, 0);
  n = cri_format (TS, LOG_STDOUT, "", 0, 0, buf, sizeof (buf), &out_len);
  expect_size ("empty input", n + out_len, 0);

  {
    struct timespec t = { .tv_sec = 1714566896, .tv_nsec = 5 };
    char ts[MON_TIMESTAMP_LEN + 1];
    mon_format_timestamp (&t, ts);
    expect_str ("timestamp", ts, strlen (ts), "2024-05-01T12:34:56.000000005Z");
  }

  {
    struct exit_info info = { .pid = 42, .wait_status = 3 << 8, .exited_at = { 1714566896, 123456789 } };
    len = exit_format_json ("c\"1", &info, buf, sizeof (buf));
    expect_str ("exit 3", buf, len < 0 ? 0 : (size_t) len,
                "{\"id\":\"c\\\"1\",\"pid\":42,\"exit_code\":3,\"signal\":0,\"oom_killed\":false,"
                "\"exited_at\":\"2024-05-01T12:34:56.123456789Z\",\"log_bytes_dropped\":0}\n");
    info.wait_status = SIGKILL;
    info.oom_killed = true;
    info.log_bytes_dropped = 7;
    len = exit_format_json ("c", &info, buf, sizeof (buf));
    expect_str ("killed", buf, len < 0 ? 0 : (size_t) len,
                "{\"id\":\"c\",\"pid\":42,\"exit_code\":137,\"signal\":9,\"oom_killed\":true,"
                "\"exited_at\":\"2024-05-01T12:34:56.123456789Z\",\"log_bytes_dropped\":7}\n");
    expect_size ("exit record too small", (size_t) (exit_format_json ("c", &info, buf, 20) < 0), 1);
  }

  n = mon_json_string (buf, 0, sizeof (buf), "a\"b\\c\nd\x01", 8);
  expect_str ("json string", buf, n, "\"a\\\"b\\\\c\\nd\\u0001\"");
  expect_size ("json string too long", mon_json_string (buf, 0, 4, "abcdef", 6), 4);

  mon_base64 ((const unsigned char *) "", 0, buf);
  expect_str ("base64 empty", buf, strlen (buf), "");
  mon_base64 ((const unsigned char *) "f", 1, buf);
  expect_str ("base64 f", buf, strlen (buf), "Zg==");
  mon_base64 ((const unsigned char *) "fo", 2, buf);
  expect_str ("base64 fo", buf, strlen (buf), "Zm8=");
  mon_base64 ((const unsigned char *) "foobar", 6, buf);
  expect_str ("base64 foobar", buf, strlen (buf), "Zm9vYmFy");

  printf ("%s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
