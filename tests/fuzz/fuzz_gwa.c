/* SPDX-License-Identifier: Apache-2.0
 * Fuzzes the GWA VM trace reader: any file must be read or refused with a
 * message and nothing returned; whatever is read must have sane columns
 * and replay through the right-sizing evaluation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "sim/recommend/simrecommend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char dir[64], path[96], err[512] = "";
  snprintf(dir, sizeof dir, "/tmp/fuzz_gwa.%d", (int)getpid());
  snprintf(path, sizeof path, "%s/1.csv", dir);
  mkdir(dir, 0700);
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  if (size && fwrite(data, 1, size, f) != size) abort();
  fclose(f);
  struct gwa_trace t;
  int rc = gwa_read_dir(dir, &t, err, sizeof err);
  unlink(path);
  rmdir(dir);
  if (rc) {
    if (!err[0]) abort();
    return 0;
  }
  if (t.nvms != 1 || !t.vms[0].n) abort();
  for (size_t i = 0; i < t.vms[0].n; i++)
    if (!isfinite(t.vms[0].t_s[i]) || t.vms[0].mem_used_mb[i] < 0 ||
        t.vms[0].cpu_used_mhz[i] < 0 || (i && t.vms[0].t_s[i] < t.vms[0].t_s[i - 1]))
      abort();
  struct rs_options o;
  rs_options_default(&o);
  struct rs_result r;
  if (rs_evaluate(&t, &o, &r) || r.samples != t.vms[0].n) abort();
  gwa_free(&t);
  return 0;
}
