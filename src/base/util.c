/* SPDX-License-Identifier: Apache-2.0
 * Time, hex and file helpers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base.h"

int64_t dc_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t dc_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t dc_mono_ms(void) { return (int64_t)(dc_mono_ns() / 1000000ull); }

bool dc_csv_has(const char *list, const char *item) {
  size_t wl = strlen(item);
  if (!wl) return false;
  for (const char *p = list; p && *p;) {
    const char *e = strchr(p, ',');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l == wl && strncmp(p, item, wl) == 0) return true;
    p = e ? e + 1 : NULL;
  }
  return false;
}

void dc_hex_encode(const void *in, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  const uint8_t *p = in;
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = '\0';
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int dc_hex_decode(const char *hex, void *out, size_t n) {
  if (!hex || strlen(hex) != 2 * n) return DC_EINVAL;
  uint8_t *p = out;
  for (size_t i = 0; i < n; i++) {
    int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return DC_EINVAL;
    p[i] = (uint8_t)(hi << 4 | lo);
  }
  return DC_OK;
}

int dc_mkdir_p(const char *path, unsigned mode) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
    return DC_ETOOBIG;
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(tmp, mode) != 0 && errno != EEXIST) return DC_EIO;
    *p = '/';
  }
  if (mkdir(tmp, mode) != 0 && errno != EEXIST) return DC_EIO;
  return DC_OK;
}

int dc_read_file(const char *path, size_t max, char **out, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? DC_ENOTFOUND : DC_EIO;
  struct dc_buf b = {.max = max};
  int rc = DC_OK;
  for (;;) {
    size_t chunk = 4096;
    if (max) chunk = DC_MIN(chunk, max - b.len);
    if (chunk == 0) {
      /* at the cap: one more byte means the file is too big */
      char extra;
      if (read(fd, &extra, 1) > 0) rc = DC_ETOOBIG;
      break;
    }
    if ((rc = dc_buf_reserve(&b, chunk))) break;
    ssize_t n = read(fd, b.data + b.len, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      rc = DC_EIO;
      break;
    }
    if (n == 0) break;
    b.len += (size_t)n;
  }
  close(fd);
  if (!rc) rc = dc_buf_cstr(&b);
  if (rc) {
    dc_buf_free(&b);
    return rc;
  }
  *out = (char *)b.data;
  if (len) *len = b.len;
  return DC_OK;
}

int dc_write_file_atomic(const char *path, const void *p, size_t n,
                         unsigned mode) {
  char tmp[4200];
  if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >=
      (int)sizeof tmp)
    return DC_ETOOBIG;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return DC_EIO;
  const uint8_t *c = p;
  size_t off = 0;
  while (off < n) {
    ssize_t w = write(fd, c + off, n - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      close(fd);
      unlink(tmp);
      return DC_EIO;
    }
    off += (size_t)w;
  }
  if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
    close(fd);
    unlink(tmp);
    return DC_EIO;
  }
  close(fd);
  if (rename(tmp, path) != 0) {
    unlink(tmp);
    return DC_EIO;
  }
  return DC_OK;
}

int dc_path_join(char *out, size_t outsz, const char *a, const char *b) {
  int n = snprintf(out, outsz, "%s/%s", a, b);
  if (n < 0 || (size_t)n >= outsz) return DC_ETOOBIG;
  return DC_OK;
}
