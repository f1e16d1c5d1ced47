/* SPDX-License-Identifier: Apache-2.0
 * The task's view of the filesystem: a read-only copy of the host's
 * top-level directories on a tmpfs root, hidden paths covered by empty
 * read-only mounts, and private /work, /tmp, /proc, /dev, /dev/shm and /run.
 * view_init (parent, at sandbox init) precomputes every path; view_enter
 * (cloned child) only calls mount(2) and friends with them. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sandbox_int.h"

/* <linux/mount.h> clashes with <sys/mount.h> on glibc 2.36. */
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#define MOUNT_ATTR_NOSUID 0x00000002
#define MOUNT_ATTR_NODEV 0x00000004
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
struct sb_mount_attr {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};

/* Host top-level names the view never takes from the host. */
static const char *const reserved[] = {"proc", "dev", "tmp",
                                       "work", "run", "lost+found"};
/* Device nodes of /dev: made with mknod (we are root in the initial user
 * namespace), cheaper than a bind mount each. */
static const struct {
  const char *path;
  unsigned major, minor;
} devnodes[] = {{"/dev/null", 1, 3},    {"/dev/zero", 1, 5},
                {"/dev/full", 1, 7},    {"/dev/random", 1, 8},
                {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};

static bool is_reserved(const char *name) {
  for (size_t i = 0; i < DC_ARRAY_LEN(reserved); i++)
    if (strcmp(name, reserved[i]) == 0) return true;
  return false;
}

static char *cat(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *s = dc_malloc(la + lb + 1);
  if (s) {
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
  }
  return s;
}

static int cmp_entry(const void *a, const void *b) {
  return strcmp(((const struct view_entry *)a)->name,
                ((const struct view_entry *)b)->name);
}

static int scan_root(struct view *v) {
  DIR *d = opendir("/");
  if (!d) return DC_ESYS;
  struct dirent *de;
  int rc = 0;
  size_t cap = 0;
  while (rc == 0 && (de = readdir(d)) != NULL) {
    const char *n = de->d_name;
    if (n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2]))) continue;
    if (is_reserved(n)) continue;
    char src[PATH_MAX], target[PATH_MAX];
    struct stat st;
    snprintf(src, sizeof src, "/%s", n);
    if (lstat(src, &st) != 0) continue;
    ssize_t tl = 0;
    if (S_ISLNK(st.st_mode)) {
      tl = readlink(src, target, sizeof target - 1);
      if (tl <= 0) continue;
      target[tl] = '\0';
    } else if (!S_ISDIR(st.st_mode)) {
      continue; /* top-level files are not part of the system view */
    }
    if (v->ntop == cap) {
      cap = cap ? 2 * cap : 32;
      struct view_entry *t = dc_realloc(v->top, cap * sizeof *t);
      if (!t) {
        rc = DC_ENOMEM;
        break;
      }
      v->top = t;
    }
    struct view_entry *e = &v->top[v->ntop];
    memset(e, 0, sizeof *e);
    v->ntop++;
    e->name = dc_strdup(n);
    e->src = dc_strdup(src);
    e->dst = cat(v->root, src);
    if (tl > 0) e->target = dc_strdup(target);
    if (!e->name || !e->src || !e->dst || (tl > 0 && !e->target))
      rc = DC_ENOMEM;
  }
  closedir(d);
  if (rc == 0 && v->ntop) qsort(v->top, v->ntop, sizeof *v->top, cmp_entry);
  return rc;
}

static int add_hidden(struct view *v, const char *path) {
  char canon[PATH_MAX];
  struct stat st;
  if (!path || path[0] != '/') return DC_EINVAL;
  if (!realpath(path, canon) || stat(canon, &st) != 0) {
    DC_WARN(SB_MOD, "hidden=%s errno=%d", path, errno);
    return DC_ENOTFOUND;
  }
  if (strcmp(canon, "/") == 0) return DC_EINVAL;
  struct view_hidden *h = dc_realloc(v->hidden, (v->nhidden + 1) * sizeof *h);
  if (!h) return DC_ENOMEM;
  v->hidden = h;
  h[v->nhidden].dst = cat(v->root, canon);
  h[v->nhidden].is_dir = S_ISDIR(st.st_mode);
  if (!h[v->nhidden].dst) return DC_ENOMEM;
  v->nhidden++;
  return 0;
}

int view_init(struct view *v, const char *state_dir, const char *const *hidden,
              unsigned flags) {
  memset(v, 0, sizeof *v);
  v->no_setattr = flags & DC_SANDBOX_F_NO_MOUNT_SETATTR;
  int rc = DC_ENOMEM;
  v->root = cat(state_dir, "/root");
  v->empty_file = cat(state_dir, "/empty");
  if (!v->root || !v->empty_file) goto fail;
  rc = DC_ESYS;
  if (mkdir(v->root, 0700) != 0 && errno != EEXIST) goto fail;
  int fd = open(v->empty_file, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
  if (fd < 0) goto fail;
  close(fd);
  if ((rc = scan_root(v)) != 0) goto fail;
  /* The sandbox's own files are hidden too. */
  if ((rc = add_hidden(v, state_dir)) != 0) goto fail;
  for (size_t i = 0; hidden && hidden[i]; i++)
    if ((rc = add_hidden(v, hidden[i])) != 0) goto fail;
  rc = DC_ENOMEM;
  /* /run holds the host's daemons' unix sockets (a read-only mount does not
   * stop connect()), so it is replaced by an empty tmpfs, except for the
   * file /etc/resolv.conf may point to. */
  char canon[PATH_MAX];
  if (realpath("/etc/resolv.conf", canon) && strncmp(canon, "/run/", 5) == 0) {
    v->resolv_src = dc_strdup(canon);
    v->resolv_dst = cat(v->root, canon);
    *strrchr(canon, '/') = '\0';
    v->resolv_dir = cat(v->root, canon);
    if (!v->resolv_src || !v->resolv_dst || !v->resolv_dir) goto fail;
  }
  v->d_proc = cat(v->root, "/proc");
  v->d_dev = cat(v->root, "/dev");
  v->d_shm = cat(v->root, "/dev/shm");
  v->d_tmp = cat(v->root, "/tmp");
  v->d_work = cat(v->root, "/work");
  v->d_run = cat(v->root, "/run");
  if (!v->d_proc || !v->d_dev || !v->d_shm || !v->d_tmp || !v->d_work ||
      !v->d_run)
    goto fail;
  return 0;
fail:
  view_free(v);
  return rc;
}

void view_free(struct view *v) {
  for (size_t i = 0; i < v->ntop; i++) {
    dc_free(v->top[i].name);
    dc_free(v->top[i].src);
    dc_free(v->top[i].dst);
    dc_free(v->top[i].target);
  }
  dc_free(v->top);
  for (size_t i = 0; i < v->nhidden; i++) dc_free(v->hidden[i].dst);
  dc_free(v->hidden);
  char **s[] = {&v->root,       &v->empty_file, &v->resolv_src, &v->resolv_dst,
                &v->resolv_dir, &v->d_proc,     &v->d_dev,      &v->d_shm,
                &v->d_tmp,      &v->d_work,     &v->d_run};
  for (size_t i = 0; i < DC_ARRAY_LEN(s); i++) dc_free(*s[i]);
  memset(v, 0, sizeof *v);
}

/* ---- child side: system calls only ----------------------------------------
 */

#define MUST(p, call, what, arg)                            \
  do {                                                      \
    if ((call) != 0) child_fail((p), (what), (arg), errno); \
  } while (0)

static void mkdir_p(const struct child_plan *p, const char *path) {
  char buf[PATH_MAX];
  size_t n = strlen(path);
  if (n >= sizeof buf) child_fail(p, "mkdir", path, ENAMETOOLONG);
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char c = buf[i];
    buf[i] = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
      child_fail(p, "mkdir", path, errno);
    buf[i] = c;
  }
}

static void touch(const struct child_plan *p, const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) child_fail(p, "create", path, errno);
  close(fd);
}

static void unescape(char *s) { /* mountinfo writes ' ' as \040 etc. */
  char *o = s;
  for (char *i = s; *i; i++) {
    if (i[0] == '\\' && i[1] >= '0' && i[1] <= '3' && i[2] && i[3]) {
      *o++ = (char)((i[1] - '0') * 64 + (i[2] - '0') * 8 + (i[3] - '0'));
      i += 3;
    } else {
      *o++ = *i;
    }
  }
  *o = '\0';
}

static void remount_line(const struct child_plan *p, char *line) {
  /* id parent maj:min root mountpoint options ... */
  char *f[6] = {0};
  int nf = 0;
  for (char *s = line; nf < 6 && s;) {
    f[nf++] = s;
    s = strchr(s, ' ');
    if (s) *s++ = '\0';
  }
  if (nf < 6) return;
  char *mp = f[4];
  unescape(mp);
  size_t rl = strlen(p->view->root);
  if (strncmp(mp, p->view->root, rl) != 0 || (mp[rl] && mp[rl] != '/')) return;
  unsigned long fl = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV;
  const char *o = f[5];
  if (strstr(o, "noexec")) fl |= MS_NOEXEC;
  if (strstr(o, "noatime")) fl |= MS_NOATIME;
  if (strstr(o, "nodiratime")) fl |= MS_NODIRATIME;
  if (strstr(o, "relatime")) fl |= MS_RELATIME;
  /* ENOENT: a mount shadowed by a later one (e.g. the copy of root itself
   * inside a bound tree, under the hidden state_dir): unreachable. */
  if (mount(NULL, mp, NULL, fl, NULL) != 0 && errno != ENOENT)
    child_fail(p, "remount", mp, errno);
}

/* Kernels without mount_setattr (< 5.12): remount each mount under root.
 * A static buffer: the child must not allocate. */
static void remount_all_ro(const struct child_plan *p) {
  static char buf[16384];
  int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  if (fd < 0) child_fail(p, "open", "/proc/self/mountinfo", errno);
  size_t have = 0;
  for (;;) {
    ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
    if (n < 0) child_fail(p, "read", "/proc/self/mountinfo", errno);
    have += (size_t)n;
    buf[have] = '\0';
    char *start = buf, *nl;
    while ((nl = strchr(start, '\n')) != NULL) {
      *nl = '\0';
      remount_line(p, start);
      start = nl + 1;
    }
    size_t rest = have - (size_t)(start - buf);
    if (n == 0) {
      if (rest) remount_line(p, start);
      break;
    }
    if (rest == sizeof buf - 1) rest = 0; /* absurd line: drop it */
    memmove(buf, start, rest);
    have = rest;
  }
  close(fd);
}

static void build_root(const struct view *v, const struct child_plan *p) {
  MUST(p,
       mount("dc-root", v->root, "tmpfs", MS_NOSUID | MS_NODEV,
             "size=64k,nr_inodes=1024,mode=0755"),
       "mount", v->root);
  for (size_t i = 0; i < v->ntop; i++) {
    const struct view_entry *e = &v->top[i];
    if (e->target) {
      MUST(p, symlink(e->target, e->dst), "symlink", e->dst);
      continue;
    }
    MUST(p, mkdir(e->dst, 0755), "mkdir", e->dst);
    if (mount(e->src, e->dst, NULL, MS_BIND | MS_REC, NULL) != 0 &&
        errno != ENOENT) /* removed from the host since init: skip */
      child_fail(p, "mount", e->src, errno);
  }
  const char *dirs[] = {v->d_proc, v->d_dev, v->d_tmp, v->d_work, v->d_run};
  for (size_t i = 0; i < DC_ARRAY_LEN(dirs); i++)
    MUST(p, mkdir(dirs[i], 0755), "mkdir", dirs[i]);
  /* /run before the view turns read-only, so that its tmpfs and the
   * resolv.conf bind in it become read-only with the rest. */
  MUST(p,
       mount("dc-run", v->d_run, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
             "size=64k,nr_inodes=64,mode=0755"),
       "mount", "/run");
  if (v->resolv_dst) {
    mkdir_p(p, v->resolv_dir);
    touch(p, v->resolv_dst);
    if (mount(v->resolv_src, v->resolv_dst, NULL, MS_BIND, NULL) != 0 &&
        errno != ENOENT)
      child_fail(p, "mount", v->resolv_src, errno);
  }
  /* ENOENT: the path is not inside the view at all, nothing to cover. */
  for (size_t i = 0; i < v->nhidden; i++) {
    const struct view_hidden *h = &v->hidden[i];
    int rc = h->is_dir ? mount("dc-hidden", h->dst, "tmpfs",
                               MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                               "size=4k,nr_inodes=1,mode=0755")
                       : mount(v->empty_file, h->dst, NULL, MS_BIND, NULL);
    if (rc != 0 && errno != ENOENT && errno != ENOTDIR)
      child_fail(p, "hide", h->dst, errno);
  }
}

static void make_readonly(const struct view *v, const struct child_plan *p) {
  if (!v->no_setattr) {
    struct sb_mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY |
                                          MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
    if (syscall(SYS_mount_setattr, AT_FDCWD, v->root, AT_RECURSIVE, &a,
                sizeof a) == 0)
      return;
    if (errno != ENOSYS) child_fail(p, "mount_setattr", v->root, errno);
  }
  remount_all_ro(p);
}

static void private_mounts(const struct view *v, const struct child_plan *p) {
  MUST(p,
       mount("proc", v->d_proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL),
       "mount", "/proc");
  MUST(p,
       mount("dc-dev", v->d_dev, "tmpfs", MS_NOSUID | MS_NOEXEC,
             "size=64k,nr_inodes=64,mode=0755"),
       "mount", "/dev");
  MUST(p, chdir(v->d_dev), "chdir", "/dev");
  for (size_t i = 0; i < DC_ARRAY_LEN(devnodes); i++) /* relative: cwd */
    MUST(p,
         mknod(devnodes[i].path + 5, S_IFCHR | 0666,
               makedev(devnodes[i].major, devnodes[i].minor)),
         "mknod", devnodes[i].path);
  static const char *const links[][2] = {{"/proc/self/fd", "fd"},
                                         {"/proc/self/fd/0", "stdin"},
                                         {"/proc/self/fd/1", "stdout"},
                                         {"/proc/self/fd/2", "stderr"}};
  for (size_t i = 0; i < DC_ARRAY_LEN(links); i++)
    MUST(p, symlink(links[i][0], links[i][1]), "symlink", links[i][1]);
  MUST(p, mkdir(v->d_shm, 01777), "mkdir", "/dev/shm");
  MUST(p,
       mount("dc-shm", v->d_shm, "tmpfs", MS_NOSUID | MS_NODEV,
             "size=64m,mode=1777"),
       "mount", "/dev/shm");
  MUST(p,
       mount(NULL, v->d_dev, NULL,
             MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL),
       "remount", "/dev");
  MUST(p, mount("dc-tmp", v->d_tmp, "tmpfs", MS_NOSUID | MS_NODEV, p->tmp_opts),
       "mount", "/tmp");
  /* By path: a descriptor's mount belongs to the parent's namespace and
   * cannot be bound here. The descriptor proves it is still the same dir. */
  MUST(p, mount(p->work_src, v->d_work, NULL, MS_BIND, NULL), "mount", "/work");
  struct stat want, got;
  if (fstat(p->work_fd, &want) != 0 || stat(v->d_work, &got) != 0 ||
      want.st_dev != got.st_dev || want.st_ino != got.st_ino)
    child_fail(p, "mount", "/work: work dir replaced", EXDEV);
  MUST(p,
       mount(NULL, v->d_work, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV,
             NULL),
       "remount", "/work");
}

void view_enter(const struct view *v, const struct child_plan *p) {
  /* Nothing done below may reach the host's mount namespace. */
  MUST(p, mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "mount",
       "private /");
  build_root(v, p);
  make_readonly(v, p);
  private_mounts(v, p);
  MUST(p, chdir(v->root), "chdir", v->root);
  /* pivot_root(".", "."): the old root ends up on top of the new one and is
   * detached right away; no directory for it is needed. */
  MUST(p, syscall(SYS_pivot_root, ".", "."), "pivot_root", v->root);
  MUST(p, umount2(".", MNT_DETACH), "umount", "old root");
  MUST(p, chdir("/"), "chdir", "/");
}
