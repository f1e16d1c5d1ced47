/* SPDX-License-Identifier: Apache-2.0
 * bench_httpd: requests/s and p50/p99 latency of a trivial GET through the
 * full httpd handoff (MHD thread -> loop thread -> MHD thread), and of a
 * plain MHD handler answering in its own thread, in the same run with the
 * same keep-alive raw-socket clients. Prints one JSON line.
 * Usage: bench_httpd [clients] [requests_per_client] [server_threads] */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <uv.h>

#include "httpd/httpd.h"

#define DEF_CLIENTS 4
#define DEF_REQUESTS 20000
#define MAX_CLIENTS 256
#define WARMUP_REQUESTS 500 /* per client, not measured */
#define RESP_BUF 4096
#define BODY "ok"
#define REQUEST "GET /v1/health HTTP/1.1\r\nHost: bench\r\n\r\n"

struct client {
  pthread_t t;
  uint16_t port;
  int requests;
  uint64_t *lat_ns;
  int failed;
};

static int connect_to(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* One request/response on a kept-alive socket; the response must carry
 * Content-Length (both servers here do). Returns 0 if the server kept the
 * connection usable. */
static int round_trip(int fd) {
  static const char req[] = REQUEST;
  if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) return -1;
  char buf[RESP_BUF];
  size_t have = 0;
  for (;;) {
    ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
    if (n <= 0) return -1;
    have += (size_t)n;
    buf[have] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (!end) continue;
    char *cl = strstr(buf, "\r\nContent-Length:"); /* MHD's spelling */
    if (!cl || cl > end) return -1;
    size_t body = strtoul(cl + 17, NULL, 10);
    size_t total = (size_t)(end + 4 - buf) + body;
    if (have >= total) return strncmp(buf, "HTTP/1.1 200", 12) ? -1 : 0;
  }
}

static void *client_main(void *arg) {
  struct client *c = arg;
  int fd = connect_to(c->port);
  if (fd < 0) {
    c->failed = 1;
    return NULL;
  }
  for (int i = 0; i < WARMUP_REQUESTS + c->requests; i++) {
    uint64_t t0 = uv_hrtime();
    if (round_trip(fd)) {
      c->failed = 1;
      break;
    }
    if (i >= WARMUP_REQUESTS) c->lat_ns[i - WARMUP_REQUESTS] = uv_hrtime() - t0;
  }
  close(fd);
  return NULL;
}

struct result {
  double rps, p50_us, p99_us;
  int failed;
};

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Runs the clients against port; `wait` blocks the calling thread until
 * they are done (the handoff run turns the loop meanwhile). */
struct load {
  struct client c[MAX_CLIENTS];
  int n;
  uint64_t t0, t1;
  uv_async_t *done; /* NULL: joined directly */
  pthread_t joiner;
};

static void *joiner_main(void *arg) {
  struct load *l = arg;
  for (int i = 0; i < l->n; i++) pthread_join(l->c[i].t, NULL);
  l->t1 = uv_hrtime();
  if (l->done) uv_async_send(l->done);
  return NULL;
}

static void load_start(struct load *l, int clients, int requests, uint16_t port,
                       uv_async_t *done) {
  l->n = clients;
  l->done = done;
  for (int i = 0; i < clients; i++) {
    l->c[i] = (struct client){.port = port, .requests = requests};
    l->c[i].lat_ns = calloc((size_t)requests, sizeof(uint64_t));
  }
  l->t0 = uv_hrtime();
  for (int i = 0; i < clients; i++)
    pthread_create(&l->c[i].t, NULL, client_main, &l->c[i]);
  pthread_create(&l->joiner, NULL, joiner_main, l);
}

static struct result load_finish(struct load *l) {
  pthread_join(l->joiner, NULL);
  struct result r = {0};
  size_t per = (size_t)l->c[0].requests, all = per * (size_t)l->n;
  uint64_t *lat = malloc(all * sizeof *lat);
  for (int i = 0; i < l->n; i++) {
    r.failed |= l->c[i].failed;
    memcpy(lat + (size_t)i * per, l->c[i].lat_ns, per * sizeof *lat);
    free(l->c[i].lat_ns);
  }
  qsort(lat, all, sizeof *lat, cmp_u64);
  /* Warm-up is excluded from the latencies but not from the wall time; it
   * is small next to the measured requests. */
  double secs = (double)(l->t1 - l->t0) / 1e9;
  r.rps = (double)(all + (size_t)l->n * WARMUP_REQUESTS) / secs;
  r.p50_us = (double)lat[all / 2] / 1e3;
  r.p99_us = (double)lat[all * 99 / 100] / 1e3;
  free(lat);
  return r;
}

/* ---- full handoff ------------------------------------------------------ */

static void handoff_handler(struct dc_httpd_req *r, void *ud) {
  dc_httpd_respond(r, 200, "text/plain", BODY, sizeof BODY - 1);
}

static void on_load_done(uv_async_t *a) {
  struct dc_httpd *h = a->data;
  uv_close((uv_handle_t *)a, NULL);
  dc_httpd_stop(h, NULL, NULL);
}

static struct result run_handoff(int clients, int requests, unsigned threads) {
  uv_loop_t loop;
  uv_async_t done;
  struct dc_httpd *h;
  struct dc_errmsg err;
  static struct load l;
  uv_loop_init(&loop);
  struct dc_httpd_config cfg = {.threads = threads};
  if (dc_httpd_start(&loop, &cfg, handoff_handler, NULL, &h, &err)) {
    fprintf(stderr, "bench_httpd: %s\n", err.text);
    exit(1);
  }
  uv_async_init(&loop, &done, on_load_done);
  done.data = h;
  load_start(&l, clients, requests, dc_httpd_port(h), &done);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return load_finish(&l);
}

/* ---- baseline: answer inside the MHD thread ------------------------------ */

static enum MHD_Result direct_handler(void *cls, struct MHD_Connection *conn,
                                      const char *url, const char *method,
                                      const char *version, const char *upload,
                                      size_t *upload_size, void **con_cls) {
  static int marker;
  if (!*con_cls) { /* FIELD-NOTES: not on the first call (keep-alive) */
    *con_cls = &marker;
    return MHD_YES;
  }
  struct MHD_Response *resp = cls;
  return MHD_queue_response(conn, MHD_HTTP_OK, resp);
}

static struct result run_direct(int clients, int requests, unsigned threads) {
  static struct load l;
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      sizeof BODY - 1, (void *)BODY, MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
  unsigned flags =
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
  struct MHD_Daemon *d =
      threads > 1 ? MHD_start_daemon(flags, 0, NULL, NULL, direct_handler, resp,
                                     MHD_OPTION_THREAD_POOL_SIZE, threads,
                                     MHD_OPTION_END)
                  : MHD_start_daemon(flags, 0, NULL, NULL, direct_handler, resp,
                                     MHD_OPTION_END);
  if (!d) {
    fprintf(stderr, "bench_httpd: MHD_start_daemon failed\n");
    exit(1);
  }
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  load_start(&l, clients, requests, info->port, NULL);
  struct result r = load_finish(&l);
  MHD_stop_daemon(d);
  MHD_destroy_response(resp);
  return r;
}

int main(int argc, char **argv) {
  int clients = argc > 1 ? atoi(argv[1]) : DEF_CLIENTS;
  int requests = argc > 2 ? atoi(argv[2]) : DEF_REQUESTS;
  unsigned threads = argc > 3 ? (unsigned)atoi(argv[3]) : 0;
  if (clients < 1 || clients > MAX_CLIENTS || requests < 100) {
    fprintf(stderr,
            "usage: bench_httpd [clients 1..%d] [requests>=100] "
            "[server_threads]\n",
            MAX_CLIENTS);
    return 2;
  }
  dc_log_min_level = DC_LOG_WARN;
  struct result d = run_direct(clients, requests, threads);
  struct result h = run_handoff(clients, requests, threads);
  printf(
      "{\"bench\":\"httpd\",\"clients\":%d,\"requests_per_client\":%d,"
      "\"server_threads\":%u,"
      "\"handoff\":{\"rps\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f},"
      "\"direct\":{\"rps\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f},"
      "\"ratio_rps\":%.3f,\"ratio_p50\":%.3f,\"ok\":%s}\n",
      clients, requests, threads > 1 ? threads : 1u, h.rps, h.p50_us, h.p99_us,
      d.rps, d.p50_us, d.p99_us, h.rps / d.rps, h.p50_us / d.p50_us,
      (h.failed || d.failed) ? "false" : "true");
  return (h.failed || d.failed) ? 1 : 0;
}
