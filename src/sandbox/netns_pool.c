/* SPDX-License-Identifier: Apache-2.0
 * A pool of empty network namespaces. Creating one costs about 2 ms, so they
 * are made ahead (at init) and reused: a namespace goes back to the pool only
 * when every process that was in it is dead (its task's PID namespace was
 * reaped), and is never given to two running tasks, since abstract unix
 * sockets are per namespace. Tasks hold no capability, so they cannot bring
 * an interface up or leave other state behind in it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/sandbox_int.h"

/* unshare(CLONE_NEWNET) moves only the calling thread; we grab the new
 * namespace and move the thread back at once. */
static int netns_create(struct netns_pool *p, int *out) {
  if (unshare(CLONE_NEWNET) != 0) {
    int e = errno;
    DC_WARN(SB_MOD, "netns=unshare errno=%d", e);
    return e == EPERM ? DC_EFORBIDDEN : DC_ESYS;
  }
  int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int e = errno;
  if (setns(p->host_fd, CLONE_NEWNET) != 0) {
    /* The loop thread would now live in an empty namespace: every later
     * connection of the agent would fail. Nothing sane is left to do. */
    DC_ERROR(SB_MOD, "netns=restore errno=%d", errno);
    abort();
  }
  if (fd < 0) {
    DC_WARN(SB_MOD, "netns=open errno=%d", e);
    return DC_ESYS;
  }
  *out = fd;
  return 0;
}

int netns_pool_init(struct netns_pool *p, size_t want) {
  memset(p, 0, sizeof *p);
  p->host_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (p->host_fd < 0) return DC_ESYS;
  p->want = want;
  p->cap = want ? want : 1;
  p->idle = dc_calloc(p->cap, sizeof *p->idle);
  if (!p->idle) {
    netns_pool_close(p);
    return DC_ENOMEM;
  }
  for (size_t i = 0; i < want; i++) {
    int rc = netns_create(p, &p->idle[p->nidle]);
    if (rc) {
      netns_pool_close(p);
      return rc;
    }
    p->nidle++;
  }
  return 0;
}

int netns_pool_take(struct netns_pool *p, int *fd) {
  if (p->nidle > 0) {
    *fd = p->idle[--p->nidle];
    return 0;
  }
  /* Lazy refill: more tasks without network run at once than the pool
   * holds. The namespace comes back to the pool after its task. */
  return netns_create(p, fd);
}

void netns_pool_put(struct netns_pool *p, int fd, bool closing) {
  if (fd < 0) return;
  if (closing || p->nidle >= p->cap) {
    close(fd);
    return;
  }
  p->idle[p->nidle++] = fd;
}

void netns_pool_close(struct netns_pool *p) {
  for (size_t i = 0; i < p->nidle; i++) close(p->idle[i]);
  dc_free(p->idle);
  if (p->host_fd >= 0) close(p->host_fd);
  memset(p, 0, sizeof *p);
  p->host_fd = -1;
}
