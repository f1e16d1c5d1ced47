/* SPDX-License-Identifier: Apache-2.0
 * What the machine has (discovered once) and what it uses (sampled for
 * every heartbeat), read from /proc and statvfs. */
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "provider/provider_int.h"

static void disk(const char *path, uint64_t *total, uint64_t *avail) {
  struct statvfs v;
  if (statvfs(path, &v) != 0) {
    *total = *avail = 0;
    return;
  }
  *total = (uint64_t)v.f_blocks * v.f_frsize;
  *avail = (uint64_t)v.f_bavail * v.f_frsize;
}

int provider_discover(struct dc_provider *p) {
  struct dc_node_info *n = &p->node;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  n->cpu_millis = p->cfg.cpu_millis ? p->cfg.cpu_millis
                                    : (uint32_t)(cpus > 0 ? cpus : 1) * 1000;
  struct sysinfo si;
  uint64_t mem = sysinfo(&si) == 0 ? (uint64_t)si.totalram * si.mem_unit : 0;
  n->memory_mb = p->cfg.memory_mb ? p->cfg.memory_mb : mem >> 20;
  uint64_t dt, da;
  disk(p->cfg.data_dir, &dt, &da);
  n->disk_mb = p->cfg.disk_mb ? p->cfg.disk_mb : da >> 20;
  n->gpu = p->cfg.gpu;
  n->price_cpu_hour = p->cfg.price_cpu_hour;
  n->price_mem_gb_hour = p->cfg.price_mem_gb_hour;
  n->lat = p->cfg.lat;
  n->lon = p->cfg.lon;
  char host[256] = "provider";
  gethostname(host, sizeof host - 1);
  n->name = dc_strdup(p->cfg.name && *p->cfg.name ? p->cfg.name : host);
  n->addr = dc_strdup("");
  n->classes = dc_strdup(p->cfg.classes ? p->cfg.classes : "compute");
  n->labels_json = dc_strdup(p->cfg.labels_json ? p->cfg.labels_json : "{}");
  n->sandbox = dc_strdup(dc_sandbox_mechanism(&p->sb));
  n->role = p->cfg.role;
  memcpy(n->node_id, p->id.pk, DC_PK_BYTES);
  if (!n->name || !n->addr || !n->classes || !n->labels_json || !n->sandbox)
    return DC_ENOMEM;
  return DC_OK;
}

static void cpu_sample(struct dc_provider *p, uint32_t *used_millis) {
  FILE *f = fopen("/proc/stat", "r");
  *used_millis = 0;
  if (!f) return;
  unsigned long long v[10] = {0};
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
                 &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
                 &v[9]);
  fclose(f);
  if (n < 4) return;
  uint64_t total = 0;
  for (int i = 0; i < n; i++) total += v[i];
  uint64_t idle = v[3] + (n > 4 ? v[4] : 0);
  uint64_t busy = total - idle;
  if (p->cpu_total && total > p->cpu_total) {
    double frac = (double)(busy - p->cpu_busy) / (double)(total - p->cpu_total);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    *used_millis = (uint32_t)(frac * (double)(cpus > 0 ? cpus : 1) * 1000.0);
  }
  p->cpu_busy = busy;
  p->cpu_total = total;
}

static void net_sample(uint64_t *rx, uint64_t *tx) {
  *rx = *tx = 0;
  FILE *f = fopen("/proc/net/dev", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (!colon) continue;
    unsigned long long r, t, skip;
    if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu", &r,
               &skip, &skip, &skip, &skip, &skip, &skip, &skip, &t) == 9) {
      *rx += r;
      *tx += t;
    }
  }
  fclose(f);
}

void provider_sample(struct dc_provider *p, struct dc_msg_heartbeat *hb) {
  cpu_sample(p, &hb->cpu_millis_used);
  struct sysinfo si;
  if (sysinfo(&si) == 0) {
    hb->mem_total_bytes = (uint64_t)si.totalram * si.mem_unit;
    hb->mem_used_bytes =
        hb->mem_total_bytes - ((uint64_t)si.freeram + si.bufferram) * si.mem_unit;
  }
  uint64_t avail;
  disk(p->cfg.data_dir, &hb->disk_total_bytes, &avail);
  hb->disk_used_bytes = hb->disk_total_bytes - avail;
  net_sample(&hb->net_rx_bytes, &hb->net_tx_bytes);
}
