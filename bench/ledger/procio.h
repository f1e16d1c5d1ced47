/* SPDX-License-Identifier: Apache-2.0
 * Bytes a process has caused to be written to storage so far (its WAL and
 * checkpoint writes): /proc/<pid>/io, pid 0 for this process. */
#ifndef DC_BENCH_LEDGER_PROCIO_H
#define DC_BENCH_LEDGER_PROCIO_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static inline double bench_written_bytes(pid_t pid) {
  char path[64], line[128];
  if (pid) snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
  else snprintf(path, sizeof path, "/proc/self/io");
  FILE *f = fopen(path, "r");
  double v = 0;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "write_bytes:", 12) == 0) v = strtod(line + 12, NULL);
  if (f) fclose(f);
  return v;
}

#endif
