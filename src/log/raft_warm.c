/* SPDX-License-Identifier: Apache-2.0
 * The warm snapshot buffer. c-raft 0.15 takes snapshots on the loop and
 * its uv back end refuses asynchronous ones, so the image must be produced
 * synchronously. Copying the state is cheap; touching fresh memory is not
 * (15–40 µs per 4 KiB page on the machines measured, ~20 ms per MB). So a
 * worker keeps one buffer ready, a little larger than the state and
 * already faulted in, and the snapshot writes the image into it
 * (dc_fsm_snapshot_into). The buffer comes from SQLite's allocator, which
 * is raft's heap too (raft.c), so c-raft can free it once the snapshot is
 * written. If the state outgrew it, the snapshot falls back to a plain
 * serialize and a larger buffer is prepared. The cost is memory: one more
 * copy of the state's size stays resident, which is why states below
 * DC_LOG_RAFT_WARM_MIN (where glibc reuses freed heap memory anyway) get
 * none. */
#include <sqlite3.h>
#include <string.h>

#include "log/raft_int.h"

#define WARM_CHECK_MS 1000
#define WARM_MARGIN(sz) ((sz) / 8 + ((size_t)1 << 20))

static void warm_work(uv_work_t *w) {
  struct rlog *rl = w->data;
  sqlite3_free(rl->warm_old); /* unmapping a large block is not free either */
  rl->warm_old = NULL;
  uint8_t *p = sqlite3_malloc64(rl->warm_new_cap);
  /* Writing every page is what faults it in. */
  if (p) memset(p, 0, rl->warm_new_cap);
  rl->warm_new = p;
}

static void warm_done(uv_work_t *w, int status) {
  struct rlog *rl = w->data;
  (void)status;
  rl->warm_busy = false;
  if (rl->freed_pending) {
    sqlite3_free(rl->warm_new);
    rl->warm_new = NULL;
    rl_free_when_idle(rl);
    return;
  }
  if (rl->warm_new) {
    rl->warm = rl->warm_new;
    rl->warm_cap = rl->warm_new_cap;
    rl->warm_new = NULL;
  }
}

void rl_warm_check(struct rlog *rl) {
  if (rl->closing || rl->warm_busy) return;
  size_t need = dc_fsm_image_size(rl->fsm);
  /* A small state's image reuses warm heap memory (M_TRIM_THRESHOLD in
   * raft.c): a second resident copy would buy nothing (measured equal). */
  if (!need || need < rl->warm_min) return;
  /* Enough room for the state and a little growth: keep it. */
  if (rl->warm && rl->warm_cap >= need + need / 32) return;
  rl->warm_old = rl->warm;
  rl->warm = NULL;
  rl->warm_cap = 0;
  rl->warm_new_cap = need + WARM_MARGIN(need);
  rl->warm_work.data = rl;
  if (uv_queue_work(rl->loop, &rl->warm_work, warm_work, warm_done) == 0) {
    rl->warm_busy = true;
  } else {
    sqlite3_free(rl->warm_old);
    rl->warm_old = NULL;
  }
}

static void warm_tick(uv_timer_t *t) { rl_warm_check(t->data); }

void rl_warm_start(struct rlog *rl) {
  uv_timer_start(&rl->warm_timer, warm_tick, 0, WARM_CHECK_MS);
}

void rl_warm_stop(struct rlog *rl) { uv_timer_stop(&rl->warm_timer); }

uint8_t *rl_warm_take(struct rlog *rl, size_t *cap) {
  uint8_t *p = rl->warm;
  *cap = rl->warm_cap;
  rl->warm = NULL;
  rl->warm_cap = 0;
  return p;
}
