/* SPDX-License-Identifier: Apache-2.0
 * Limits and usage through cgroups: finds a usable v2 hierarchy or the v1
 * memory/pids/cpu/cpuacct hierarchies, creates this sandbox's parent cgroup
 * under the process's own (possibly nested) cgroup, and one cgroup per task
 * that is removed after the task. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/sandbox_int.h"

static const struct {
  const char *name;
  unsigned bit;
} v1_ctrls[] = {{"memory", CG_MEMORY},
                {"pids", CG_PIDS},
                {"cpu", CG_CPU},
                {"cpuacct", CG_CPUACCT}};

static int write_str(const char *dir, const char *file, const char *s) {
  char path[PATH_MAX];
  if (dc_path_join(path, sizeof path, dir, file) != 0) return ENAMETOOLONG;
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = write(fd, s, strlen(s));
  int e = n < 0 ? errno : 0;
  close(fd);
  return e;
}

static int read_small(const char *dir, const char *file, char *buf,
                      size_t size) {
  char path[PATH_MAX];
  if (dc_path_join(path, sizeof path, dir, file) != 0) return ENAMETOOLONG;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = read(fd, buf, size - 1);
  int e = n < 0 ? errno : 0;
  close(fd);
  buf[n < 0 ? 0 : n] = '\0';
  return e;
}

static bool read_u64(const char *dir, const char *file, uint64_t *v) {
  char buf[64];
  if (read_small(dir, file, buf, sizeof buf) != 0) return false;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(buf, &end, 10);
  if (errno || end == buf) return false;
  *v = x;
  return true;
}

/* "key value" lines (cpu.stat, memory.events, memory.oom_control). */
static bool read_key(const char *dir, const char *file, const char *key,
                     uint64_t *v) {
  char buf[2048];
  if (read_small(dir, file, buf, sizeof buf) != 0) return false;
  size_t kl = strlen(key);
  for (char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
    if (strncmp(l, key, kl) == 0 && l[kl] == ' ') {
      *v = strtoull(l + kl + 1, NULL, 10);
      return true;
    }
  }
  return false;
}

/* Our own cgroup path for a v1 controller, or the v2 path (ctrl NULL). */
static char *own_cgroup(const char *ctrl) {
  FILE *f = fopen("/proc/self/cgroup", "re");
  if (!f) return NULL;
  char *line = NULL, *res = NULL;
  size_t cap = 0;
  while (!res && getline(&line, &cap, f) > 0) {
    line[strcspn(line, "\n")] = '\0';
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c2 = '\0';
    const char *list = c1 + 1, *path = c2 + 1;
    if (!ctrl) {
      if (strcmp(line, "0") == 0 && *list == '\0') res = dc_strdup(path);
      continue;
    }
    char *save = NULL, *tmp = dc_strdup(list);
    for (char *t = tmp ? strtok_r(tmp, ",", &save) : NULL; t;
         t = strtok_r(NULL, ",", &save))
      if (strcmp(t, ctrl) == 0) res = dc_strdup(path);
    dc_free(tmp);
  }
  free(line);
  fclose(f);
  return res;
}

/* Mount point (and mount root) of the cgroup2 fs (ctrl NULL) or of the v1
 * hierarchy serving ctrl. */
static bool find_mount(const char *ctrl, char *mnt, char *root, size_t size) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return false;
  char *line = NULL;
  size_t cap = 0;
  bool found = false;
  while (!found && getline(&line, &cap, f) > 0) {
    char r[PATH_MAX], m[PATH_MAX], fstype[32], super[512];
    char *dash = strstr(line, " - ");
    if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2 ||
        sscanf(dash + 3, "%31s %*s %511s", fstype, super) != 2)
      continue;
    if (strchr(m, '\\')) continue; /* escaped names: not a cgroup mount */
    if (!ctrl) {
      found = strcmp(fstype, "cgroup2") == 0;
    } else if (strcmp(fstype, "cgroup") == 0) {
      char *save = NULL;
      for (char *t = strtok_r(super, ",", &save); t && !found;
           t = strtok_r(NULL, ",", &save))
        found = strcmp(t, ctrl) == 0;
    }
    if (found) {
      snprintf(mnt, size, "%s", m);
      snprintf(root, size, "%s", r);
    }
  }
  free(line);
  fclose(f);
  return found;
}

/* mnt + own path relative to the mount's root. */
static int join_own(char *out, size_t size, const char *mnt, const char *root,
                    const char *own) {
  size_t rl = strlen(root);
  if (strcmp(root, "/") != 0 && strncmp(own, root, rl) == 0 &&
      (own[rl] == '/' || own[rl] == '\0'))
    own += rl;
  int n = snprintf(out, size, "%s%s%s", mnt, *own == '/' ? "" : "/", own);
  if (n < 0 || (size_t)n >= size) return DC_ETOOBIG;
  size_t l = strlen(out);
  while (l > 1 && out[l - 1] == '/') out[--l] = '\0';
  return 0;
}

static int make_parent(char *out, size_t size, const char *base) {
  static unsigned counter;
  int n = snprintf(out, size, "%s/dcsb-%d-%u", base, (int)getpid(), counter++);
  if (n < 0 || (size_t)n >= size) return ENAMETOOLONG;
  return mkdir(out, 0755) == 0 ? 0 : errno;
}

static bool has_word(const char *list, const char *w) {
  size_t wl = strlen(w);
  for (const char *p = list; (p = strstr(p, w)) != NULL; p += wl)
    if ((p == list || p[-1] == ' ') &&
        (p[wl] == ' ' || p[wl] == '\n' || p[wl] == '\0'))
      return true;
  return false;
}

static int probe_v2(struct cgroups *cg) {
  char mnt[PATH_MAX], root[PATH_MAX], base[PATH_MAX], dir[PATH_MAX];
  char *own = own_cgroup(NULL);
  if (!own || !find_mount(NULL, mnt, root, sizeof mnt)) {
    dc_free(own);
    return DC_EUNSUPPORTED;
  }
  int rc = join_own(base, sizeof base, mnt, root, own);
  dc_free(own);
  if (rc) return rc;
  /* Our own cgroup first; if it holds processes (v2 forbids controllers
   * there unless it is the root), a sibling under our parent. */
  for (int attempt = 0; attempt < 2; attempt++) {
    if (attempt == 1) {
      if (strcmp(base, mnt) == 0) break;
      *strrchr(base, '/') = '\0';
    }
    char ctl[512];
    if (read_small(base, "cgroup.controllers", ctl, sizeof ctl) != 0 ||
        !has_word(ctl, "memory") || !has_word(ctl, "pids") ||
        !has_word(ctl, "cpu"))
      continue;
    char sub[512];
    if (read_small(base, "cgroup.subtree_control", sub, sizeof sub) != 0)
      continue;
    if ((!has_word(sub, "memory") || !has_word(sub, "pids") ||
         !has_word(sub, "cpu")) &&
        write_str(base, "cgroup.subtree_control", "+memory +pids +cpu") != 0)
      continue;
    if (make_parent(dir, sizeof dir, base) != 0) continue;
    int e = write_str(dir, "cgroup.subtree_control", "+memory +pids +cpu");
    if (e) {
      DC_WARN(SB_MOD, "cgroup=v2 dir=%s subtree_control errno=%d", dir, e);
      rmdir(dir);
      continue;
    }
    cg->h[0].dir = dc_strdup(dir);
    if (!cg->h[0].dir) {
      rmdir(dir);
      return DC_ENOMEM;
    }
    cg->h[0].ctrls = CG_MEMORY | CG_PIDS | CG_CPU | CG_CPUACCT;
    cg->nh = 1;
    return 0;
  }
  return DC_EUNSUPPORTED;
}

static int probe_v1(struct cgroups *cg) {
  char mnt[PATH_MAX], root[PATH_MAX], base[PATH_MAX], dir[PATH_MAX];
  char mnts[CG_MAXH][PATH_MAX];
  for (size_t i = 0; i < DC_ARRAY_LEN(v1_ctrls); i++) {
    if (!find_mount(v1_ctrls[i].name, mnt, root, sizeof mnt))
      return DC_EUNSUPPORTED;
    int j;
    for (j = 0; j < cg->nh; j++)
      if (strcmp(mnts[j], mnt) == 0) break;
    if (j < cg->nh) { /* co-mounted, e.g. cpu,cpuacct */
      cg->h[j].ctrls |= v1_ctrls[i].bit;
      continue;
    }
    char *own = own_cgroup(v1_ctrls[i].name);
    if (!own) return DC_EUNSUPPORTED;
    int rc = join_own(base, sizeof base, mnt, root, own);
    dc_free(own);
    if (rc) return rc;
    int e = make_parent(dir, sizeof dir, base);
    if (e) {
      DC_WARN(SB_MOD, "cgroup=v1 ctrl=%s base=%s mkdir errno=%d",
              v1_ctrls[i].name, base, e);
      return DC_EUNSUPPORTED;
    }
    snprintf(mnts[cg->nh], PATH_MAX, "%s", mnt);
    cg->h[cg->nh].dir = dc_strdup(dir);
    cg->h[cg->nh].ctrls = v1_ctrls[i].bit;
    if (!cg->h[cg->nh++].dir) {
      rmdir(dir);
      return DC_ENOMEM;
    }
  }
  return 0;
}

/* A previous agent that crashed left its parent cgroups: remove the ones
 * that are empty now (task cgroups first). */
static void cleanup_stale(const char *list_path) {
  FILE *f = fopen(list_path, "re");
  if (!f) return;
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    line[strcspn(line, "\n")] = '\0';
    if (strstr(line, "/dcsb-") == NULL) continue; /* only ours */
    DIR *d = opendir(line);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
      char sub[PATH_MAX];
      if (de->d_name[0] == 't' && de->d_type == DT_DIR &&
          dc_path_join(sub, sizeof sub, line, de->d_name) == 0)
        rmdir(sub);
    }
    if (d) closedir(d);
    if (rmdir(line) == 0) DC_INFO(SB_MOD, "cgroup=stale removed=%s", line);
  }
  free(line);
  fclose(f);
}

int cg_probe(struct cgroups *cg, int version, const char *state_dir) {
  memset(cg, 0, sizeof *cg);
  char path[PATH_MAX];
  if (dc_path_join(path, sizeof path, state_dir, "cgroups") != 0)
    return DC_EINVAL;
  cleanup_stale(path);
  int rc = version == 2 ? probe_v2(cg) : probe_v1(cg);
  if (rc) {
    cg_close(cg);
    return rc;
  }
  cg->version = version;
  cg->list_path = dc_strdup(path);
  struct dc_buf b = {0};
  for (int i = 0; i < cg->nh; i++) dc_buf_printf(&b, "%s\n", cg->h[i].dir);
  if (!cg->list_path || dc_write_file_atomic(path, b.data, b.len, 0600) != 0)
    DC_WARN(SB_MOD, "cgroup=list path=%s write failed", path);
  dc_buf_free(&b);
  return 0;
}

void cg_close(struct cgroups *cg) {
  for (int i = 0; i < cg->nh; i++) {
    if (cg->h[i].dir && rmdir(cg->h[i].dir) != 0)
      DC_WARN(SB_MOD, "cgroup=rmdir dir=%s errno=%d", cg->h[i].dir, errno);
    DC_FREE(cg->h[i].dir);
  }
  if (cg->list_path) unlink(cg->list_path);
  DC_FREE(cg->list_path);
  memset(cg, 0, sizeof *cg);
}

static int set_limits(int version, unsigned ctrls, const char *dir,
                      const struct dc_sandbox_limits *lim) {
  char v[64];
  int e = 0;
  uint32_t pids = lim->pids_max ? lim->pids_max : DC_SANDBOX_PIDS_DEFAULT;
  /* +1: the reaper is PID 1 of the task and sits in its cgroup. */
  snprintf(v, sizeof v, "%" PRIu32, pids + 1);
  if (ctrls & CG_PIDS) e = write_str(dir, "pids.max", v);
  if (!e && (ctrls & CG_MEMORY) && lim->memory_bytes) {
    snprintf(v, sizeof v, "%" PRIu64, lim->memory_bytes);
    if (version == 2) {
      e = write_str(dir, "memory.max", v);
      int s = write_str(dir, "memory.swap.max", "0");
      if (!e && s && s != ENOENT) e = s;
    } else {
      e = write_str(dir, "memory.limit_in_bytes", v);
      int s = write_str(dir, "memory.memsw.limit_in_bytes", v);
      if (s == ENOENT) s = write_str(dir, "memory.swappiness", "0");
      if (!e && s && s != ENOENT) e = s;
    }
  }
  if (!e && (ctrls & CG_CPU) && lim->cpu_millis) {
    uint64_t quota = (uint64_t)DC_MAX(lim->cpu_millis, 10u) * 100;
    if (version == 2) {
      snprintf(v, sizeof v, "%" PRIu64 " 100000", quota);
      e = write_str(dir, "cpu.max", v);
    } else {
      e = write_str(dir, "cpu.cfs_period_us", "100000");
      snprintf(v, sizeof v, "%" PRIu64, quota);
      if (!e) e = write_str(dir, "cpu.cfs_quota_us", v);
    }
  }
  return e;
}

void cg_task_init(struct cg_task *t) {
  memset(t, 0, sizeof *t);
  for (int i = 0; i < CG_MAXH; i++) t->procs_fd[i] = -1;
  t->dir_fd = -1;
}

int cg_task_create(const struct cgroups *cg, struct cg_task *t, uint64_t seq,
                   const struct dc_sandbox_limits *lim) {
  cg_task_init(t);
  unsigned need =
      CG_MEMORY | CG_PIDS | CG_CPUACCT | (lim->cpu_millis ? CG_CPU : 0);
  for (int i = 0; i < cg->nh; i++) {
    if (!(cg->h[i].ctrls & need)) continue;
    char dir[PATH_MAX], name[32];
    snprintf(name, sizeof name, "t%" PRIu64, seq);
    int e =
        dc_path_join(dir, sizeof dir, cg->h[i].dir, name) ? ENAMETOOLONG : 0;
    if (!e && mkdir(dir, 0755) != 0) e = errno;
    if (e) {
      DC_WARN(SB_MOD, "cgroup=create dir=%s errno=%d", dir, e);
      cg_task_remove(t);
      return DC_ESYS;
    }
    t->dir[i] = dc_strdup(dir);
    if (!t->dir[i]) {
      rmdir(dir);
      cg_task_remove(t);
      return DC_ENOMEM;
    }
    e = set_limits(cg->version, cg->h[i].ctrls, dir, lim);
    char procs[PATH_MAX];
    if (!e && dc_path_join(procs, sizeof procs, dir, "cgroup.procs") == 0) {
      t->procs_fd[i] = open(procs, O_WRONLY | O_CLOEXEC);
      if (t->procs_fd[i] < 0) e = errno;
    }
    if (!e && cg->version == 2) {
      t->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (t->dir_fd < 0) e = errno;
    }
    if (e) {
      DC_WARN(SB_MOD, "cgroup=limits dir=%s errno=%d", dir, e);
      cg_task_remove(t);
      return DC_ESYS;
    }
  }
  t->n = cg->nh;
  return 0;
}

void cg_task_close_fds(struct cg_task *t) {
  for (int i = 0; i < CG_MAXH; i++)
    if (t->procs_fd[i] >= 0) {
      close(t->procs_fd[i]);
      t->procs_fd[i] = -1;
    }
  if (t->dir_fd >= 0) close(t->dir_fd);
  t->dir_fd = -1;
}

unsigned cg_task_usage(const struct cgroups *cg, const struct cg_task *t,
                       struct dc_sandbox_usage *u, bool *oom) {
  unsigned got = 0;
  for (int i = 0; i < cg->nh; i++) {
    const char *d = t->dir[i];
    unsigned c = cg->h[i].ctrls;
    if (!d) continue;
    uint64_t a, b;
    if (cg->version == 2) {
      if (read_key(d, "cpu.stat", "user_usec", &a) &&
          read_key(d, "cpu.stat", "system_usec", &b)) {
        u->cpu_user_us = a, u->cpu_sys_us = b, got |= 1;
      }
      if (read_u64(d, "memory.peak", &a)) /* Linux >= 5.19 */
        u->peak_memory_bytes = a, got |= 2;
      if (read_key(d, "memory.events", "oom_kill", &a) && a > 0) *oom = true;
      continue;
    }
    if ((c & CG_CPUACCT) && read_u64(d, "cpuacct.usage_user", &a) &&
        read_u64(d, "cpuacct.usage_sys", &b)) {
      u->cpu_user_us = a / 1000, u->cpu_sys_us = b / 1000, got |= 1;
    }
    if (c & CG_MEMORY) {
      if (read_u64(d, "memory.max_usage_in_bytes", &a))
        u->peak_memory_bytes = a, got |= 2;
      if (read_key(d, "memory.oom_control", "oom_kill", &a) && a > 0)
        *oom = true;
    }
  }
  return got;
}

void cg_task_remove(struct cg_task *t) {
  cg_task_close_fds(t);
  for (int i = 0; i < CG_MAXH; i++) {
    if (!t->dir[i]) continue;
    /* The last process was reaped, but the kernel may still be releasing
     * it from the cgroup for a moment. */
    int e = 0;
    for (int tries = 0; rmdir(t->dir[i]) != 0; tries++) {
      e = errno;
      if (e != EBUSY || tries >= 100) break;
      usleep(1000);
      e = 0;
    }
    if (e && e != ENOENT)
      DC_WARN(SB_MOD, "cgroup=rmdir dir=%s errno=%d", t->dir[i], e);
    DC_FREE(t->dir[i]);
  }
  t->n = 0;
}
