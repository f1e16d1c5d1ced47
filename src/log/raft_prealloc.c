/* SPDX-License-Identifier: Apache-2.0
 * c-raft's log segments are written, not just reserved, before use.
 *
 * c-raft 0.15 creates each open segment with posix_fallocate (8 MiB) and
 * then writes entries into it with direct, synchronous I/O. On ext4 (and
 * XFS) fallocate leaves the blocks "unwritten": the first write into each
 * of them must also convert the extent, and a synchronous write may only
 * return once that metadata change is in the journal. So every batch
 * replicated cost a data write plus a journal commit and its cache flush,
 * three servers' worth at a time on one disk: measured 1.1–1.35 ms per
 * 56 KiB write against 0.72–0.83 ms for the same writes into blocks that
 * were written before (three writers at once, this machine).
 *
 * c-raft has no setting for this, so this file defines posix_fallocate for
 * the programs that link the raft back end: c-raft's call (it resolves the
 * symbol at run time, and the executable's definition comes first) lands
 * here. It reserves the range as before, then writes zeros over the part
 * that lies past the end of the file, which held no data: the semantics of
 * posix_fallocate (the range is allocated; new bytes read as zero; existing
 * bytes are kept) are unchanged, only the blocks are now plain written
 * blocks. c-raft prepares segments on a worker thread ahead of need, so the
 * zeroing (8 MiB, a few tens of milliseconds) is off the event loop. SQLite
 * does not call posix_fallocate in our configuration; any other caller gets
 * the same correct, slower-to-allocate behaviour. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"

/* Zeros [from, to) of fd with plain writes. Returns 0 or an errno. */
static int zero_fill(int fd, off_t from, off_t to) {
  /* Few, large writes: the segment's descriptor may be O_DSYNC. Not const:
   * zero-initialised and never written, it stays in .bss, not the binary. */
  static uint8_t zeros[1 << 20];
  while (from < to) {
    size_t n = (size_t)DC_MIN((off_t)sizeof zeros, to - from);
    ssize_t w = pwrite(fd, zeros, n, from);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    from += w;
  }
  return 0;
}

int posix_fallocate(int fd, off_t offset, off_t len) {
  if (offset < 0 || len <= 0) return EINVAL;
  if (len > INT64_MAX - offset) return EFBIG;
  struct stat st;
  if (fstat(fd, &st) != 0) return errno;
  bool reserved = fallocate(fd, 0, offset, len) == 0;
  /* Without fallocate on this file system, writing zeros is what glibc's
   * own fallback does too. */
  if (!reserved && errno != EOPNOTSUPP) return errno;
  int fl = fcntl(fd, F_GETFL);
  /* Only plain writable descriptors: with O_APPEND a pwrite would append,
   * and O_DIRECT wants aligned buffers; those keep the reservation. */
  bool plain = fl >= 0 && (fl & O_ACCMODE) != O_RDONLY &&
               !(fl & (O_APPEND | O_DIRECT)) && S_ISREG(st.st_mode);
  if (!plain) return reserved ? 0 : EOPNOTSUPP;
  off_t from = DC_MAX(offset, st.st_size), to = offset + len;
  return from < to ? zero_fill(fd, from, to) : 0;
}
