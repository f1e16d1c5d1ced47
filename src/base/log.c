/* SPDX-License-Identifier: Apache-2.0
 * key=value logging through a swappable sink. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base.h"

enum dc_log_level dc_log_min_level = DC_LOG_INFO;
static struct dc_log_sink log_sink;
static char log_name[32] = "deepcloud";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void dc_log_set_sink(const struct dc_log_sink *sink) {
  if (sink)
    log_sink = *sink;
  else
    memset(&log_sink, 0, sizeof log_sink);
}

void dc_log_set_name(const char *name) {
  snprintf(log_name, sizeof log_name, "%s", name);
}

int dc_log_parse_level(const char *s, enum dc_log_level *out) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  for (size_t i = 0; i < DC_ARRAY_LEN(names); i++) {
    if (strcmp(s, names[i]) == 0) {
      *out = (enum dc_log_level)i;
      return DC_OK;
    }
  }
  return DC_EINVAL;
}

void dc_log_impl(enum dc_log_level lvl, const char *mod, const char *fmt,
                 ...) {
  static const char *lvls[] = {"debug", "info", "warn", "error"};
  char msg[1024];
  char line[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);

  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(line, sizeof line,
           "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ lvl=%s proc=%s mod=%s %s",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
           tm.tm_sec, ts.tv_nsec / 1000000, lvls[lvl], log_name, mod, msg);

  pthread_mutex_lock(&log_lock);
  if (log_sink.write) {
    log_sink.write(log_sink.data, lvl, line);
  } else {
    fputs(line, stderr);
    fputc('\n', stderr);
  }
  pthread_mutex_unlock(&log_lock);
}
