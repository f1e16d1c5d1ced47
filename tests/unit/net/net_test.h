/* SPDX-License-Identifier: Apache-2.0
 * Shared helpers of the net test program: log capture, loop driving, raw
 * blocking sockets for misbehaving peers, and the per-file test groups. */
#ifndef DC_NET_TEST_H
#define DC_NET_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/lib/testlib.h"
#include "net/net.h"

int net_test_frame(void);
int net_test_secure(void);
int net_test_conn(void);
int net_test_conn_abuse(void);

/* Log lines are captured in memory; true if any captured line so far
 * contains every one of the given substrings (NULL-terminated list). */
bool log_has(const char *a, const char *b);
void log_clear(void);

/* Runs loop until *done (read atomically) or timeout_ms; fails the test on
 * timeout. A 5 ms ticker keeps the loop waking so flags set by other threads
 * are seen. */
void run_until(uv_loop_t *loop, const int *done, int timeout_ms);
/* Runs the loop until no handle is left, closes it, asserts nothing leaked
 * (uv_loop_close == 0). */
void loop_finish(uv_loop_t *loop);

/* Blocking TCP client socket to 127.0.0.1:port with a receive timeout, or
 * -1. These never assert, so helper threads may use them. */
int raw_connect(uint16_t port, int rcv_timeout_ms);
/* Reads until EOF, error or timeout; returns true on clean EOF. */
bool raw_wait_eof(int fd);
bool raw_send(int fd, const void *p, size_t n);

/* Runs every record in `in` through s (as a peer would receive them),
 * appending replies to out; returns the first error. */
int pump(struct dc_session *s, const struct dc_buf *in, struct dc_buf *out,
         struct dc_frame *last, int *frames);

#endif
