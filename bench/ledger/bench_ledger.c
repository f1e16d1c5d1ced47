/* SPDX-License-Identifier: Apache-2.0
 * bench_ledger: in one run,
 *  - the raw Ed25519 verify rate of every core (the baseline: a master can
 *    never accept signed transactions faster than it can check them);
 *  - signed transfers per second through the whole path of a real master
 *    (HTTP → decode → flood control → signature on the worker pool → log →
 *    FSM → blocks), from many accounts at once, and its ratio to the above
 *    (target >= 0.4): once with one transaction per request (POST /v1/tx),
 *    once with batches of them (POST /v1/txs). Every transaction is signed
 *    before the timed phases, and the client's and the master's CPU shares
 *    during each phase are reported (both run on the same cores), with the
 *    bytes the master wrote to storage per transfer (WAL and checkpoints);
 *  - bare PayWord tick checks per second on one core (one BLAKE2b each);
 *  - `ledger verify` throughput on the resulting chain, with and without
 *    the full replay.
 * Prints one JSON line. Usage: bench_ledger DEEPCLOUD_BINARY [accounts]
 * [transfers_per_account] [batch], or bench_ledger --tick-rate (the
 * baseline of bench_ticks.py). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "fsm/fsm.h"
#include "ledger/ledger.h"
#include "procio.h"

#define CHAIN "deepcloud-dev"
#define MAX_ACCOUNTS 256

static double now_s(void) { return (double)dc_mono_ns() / 1e9; }

/* ---- baseline: Ed25519 verify on every core ------------------------------ */

struct vjob {
  pthread_t t;
  double secs;
  uint64_t n;
};

static void *verify_main(void *arg) {
  struct vjob *j = arg;
  struct dc_identity id;
  dc_identity_generate(&id);
  struct dc_tx tx = {.version = 1, .kind = DC_TX_TRANSFER, .nonce = 7, .amount = 1};
  memcpy(tx.account, id.pk, 32);
  dc_tx_sign(&tx, CHAIN, &id);
  uint8_t msg[256];
  size_t len = 0;
  /* The exact bytes a transaction signature covers, verified bare. */
  struct dc_buf b = {.data = msg, .alloc = sizeof msg - 1, .max = sizeof msg - 1};
  dc_buf_append(&b, DC_TX_SIG_TAG, sizeof DC_TX_SIG_TAG - 1);
  dc_buf_put_bytes(&b, CHAIN, strlen(CHAIN));
  dc_tx_body(&tx, &b);
  len = b.len;
  double t0 = now_s();
  while (now_s() - t0 < j->secs) {
    for (int k = 0; k < 256; k++)
      if (dc_verify(tx.account, msg, len, tx.sig)) abort();
    j->n += 256;
  }
  j->secs = now_s() - t0;
  dc_identity_close(&id);
  return NULL;
}

static double verify_rate(int threads, double secs) {
  struct vjob j[16];
  for (int i = 0; i < threads; i++) {
    j[i] = (struct vjob){.secs = secs};
    pthread_create(&j[i].t, NULL, verify_main, &j[i]);
  }
  double rate = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(j[i].t, NULL);
    rate += (double)j[i].n / j[i].secs;
  }
  return rate;
}

/* ---- bare tick checks -------------------------------------------------------- */

static double tick_rate(void) {
  enum { N = 100000 };
  uint8_t(*w)[32] = malloc((size_t)(N + 1) * 32);
  uint8_t seed[32];
  dc_random(seed, 32);
  memcpy(w[N], seed, 32);
  for (int i = N; i > 0; i--) dc_hash(w[i], 32, w[i - 1]); /* w[i-1] = H(w[i]) */
  uint64_t n = 0;
  double t0 = now_s();
  while (now_s() - t0 < 1.0) {
    for (int i = 1; i <= N; i++)
      if (!dc_payword_step(w[i - 1], w[i])) abort();
    n += N;
  }
  double r = (double)n / (now_s() - t0);
  free(w);
  return r;
}

/* ---- HTTP ------------------------------------------------------------------- */

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

/* POST path with body on a kept-alive socket; returns the HTTP status and,
 * if resp, the response body (NUL-terminated, at most RESP_MAX bytes). */
#define RESP_MAX (4u << 20)
static int post(int fd, const char *path, const char *body, char *resp) {
  size_t blen = strlen(body);
  char head[256];
  int n = snprintf(head, sizeof head,
                   "POST %s HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n", path, blen);
  if (write(fd, head, (size_t)n) != n) return -1;
  for (size_t off = 0; off < blen;) {
    ssize_t k = write(fd, body + off, blen - off);
    if (k <= 0) return -1;
    off += (size_t)k;
  }
  static __thread char *buf;
  if (!buf && !(buf = malloc(RESP_MAX + 1))) return -1;
  size_t have = 0;
  for (;;) {
    ssize_t k = read(fd, buf + have, RESP_MAX - have);
    if (k <= 0) return -1;
    have += (size_t)k;
    buf[have] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (!end) continue;
    char *cl = strstr(buf, "\r\nContent-Length:");
    if (!cl || cl > end) return -1;
    size_t len = strtoul(cl + 17, NULL, 10);
    size_t hl = (size_t)(end + 4 - buf);
    if (have < hl + len) continue;
    if (resp) memcpy(resp, end + 4, len + 1 > RESP_MAX ? RESP_MAX : len + 1);
    return atoi(buf + 9);
  }
}

struct acct {
  struct dc_identity id;
  uint64_t nonce;
  uint8_t head[32];
  char **hex;   /* signed transactions, in nonce order */
};

/* Signs the account's next transfer: its hex in out (2 * DC_TX_MAX_BYTES + 1). */
static void sign_transfer(struct acct *a, const uint8_t to[32], uint64_t amount,
                          char *out) {
  struct dc_tx tx = {.version = 1, .kind = DC_TX_TRANSFER, .nonce = a->nonce + 1,
                     .amount = amount};
  memcpy(tx.account, a->id.pk, 32);
  memcpy(tx.prev, a->head, 32);
  memcpy(tx.peer, to, 32);
  dc_tx_sign(&tx, CHAIN, &a->id);
  uint8_t enc[DC_TX_MAX_BYTES];
  struct dc_buf b = {.data = enc, .alloc = sizeof enc - 1, .max = sizeof enc - 1};
  dc_tx_encode(&tx, &b);
  dc_hex_encode(b.data, b.len, out);
  a->nonce++;
  dc_tx_hash(&tx, a->head);
}

static int send_one(int fd, const char *hex) {
  char body[2 * DC_TX_MAX_BYTES + 16];
  snprintf(body, sizeof body, "{\"tx\":\"%s\"}", hex);
  return post(fd, "/v1/tx", body, NULL);
}

struct sender {
  pthread_t t;
  uint16_t port;
  struct acct *a;
  int from, count, batch, ok;
};

static void *sender_main(void *arg) {
  struct sender *s = arg;
  int fd = connect_to(s->port);
  char *body = NULL, *resp = NULL;
  if (s->batch > 1) {
    body = malloc((size_t)s->batch * (2 * DC_TX_MAX_BYTES + 4) + 32);
    resp = malloc(RESP_MAX + 1);
  }
  for (int i = 0; fd >= 0 && i < s->count;) {
    if (s->batch <= 1) {
      s->ok += send_one(fd, s->a->hex[s->from + i]) == 200;
      i++;
      continue;
    }
    int k = DC_MIN(s->batch, s->count - i);
    char *p = body + sprintf(body, "{\"txs\":[");
    for (int j = 0; j < k; j++)
      p += sprintf(p, "%s\"%s\"", j ? "," : "", s->a->hex[s->from + i + j]);
    strcpy(p, "]}");
    if (post(fd, "/v1/txs", body, resp) == 200) {
      const char *acc = strstr(resp, "\"accepted\":");
      if (acc) s->ok += atoi(acc + 11);
    }
    i += k;
  }
  if (fd >= 0) close(fd);
  free(body);
  free(resp);
  return NULL;
}

/* CPU seconds used so far by this process, and by process pid. */
static double cpu_self(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_of(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')');
  unsigned long ut = 0, st = 0;
  /* fields after the command: state(3) ... utime(14) stime(15) */
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                   &ut, &st) != 2)
    return 0;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

struct phase {
  int ok;
  double secs, tps, client_cpu, master_cpu; /* shares of all cores */
  double bytes_per_tx;                      /* the master's writes */
};

/* Every account sends its count transactions from index from, batch per
 * request (1: POST /v1/tx), one request in flight per account. */
static struct phase run_phase(uint16_t port, pid_t master, struct acct *accts,
                              int naccts, int from, int count, int batch,
                              long cores) {
  static struct sender s[MAX_ACCOUNTS];
  struct phase ph = {0};
  double c0 = cpu_self(), m0 = cpu_of(master), w0 = bench_written_bytes(master),
         t0 = now_s();
  for (int i = 0; i < naccts; i++) {
    s[i] = (struct sender){.port = port, .a = &accts[i], .from = from,
                           .count = count, .batch = batch};
    pthread_create(&s[i].t, NULL, sender_main, &s[i]);
  }
  for (int i = 0; i < naccts; i++) {
    pthread_join(s[i].t, NULL);
    ph.ok += s[i].ok;
  }
  ph.secs = now_s() - t0;
  ph.tps = ph.ok / ph.secs;
  ph.client_cpu = (cpu_self() - c0) / (ph.secs * (double)cores);
  ph.master_cpu = (cpu_of(master) - m0) / (ph.secs * (double)cores);
  ph.bytes_per_tx = ph.ok ? (bench_written_bytes(master) - w0) / ph.ok : 0;
  return ph;
}

/* ---- the run ------------------------------------------------------------------ */

/* The faucet's transfer to a new account; its chain advances only if applied. */
static int fund(int fd, struct acct *faucet, const uint8_t to[32]) {
  struct acct saved = *faucet;
  char hex[2 * DC_TX_MAX_BYTES + 1];
  sign_transfer(faucet, to, 1000000000, hex);
  int st = send_one(fd, hex);
  if (st != 200) *faucet = saved;
  return st;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_ledger DEEPCLOUD_BINARY [accounts] [per_account] "
                    "[batch]\n");
    return 2;
  }
  int naccts = argc > 2 ? atoi(argv[2]) : 64;
  int per = argc > 3 ? atoi(argv[3]) : 300;
  int batch = argc > 4 ? atoi(argv[4]) : 100;
  if (naccts < 2 || naccts > MAX_ACCOUNTS || per < 1 || batch < 2 || batch > 1000)
    return 2;
  if (dc_crypto_init()) return 1;
  signal(SIGPIPE, SIG_IGN);
  if (strcmp(argv[1], "--tick-rate") == 0) { /* baseline for bench_ticks.py */
    printf("{\"tick_checks_per_s_1core\":%.0f}\n", tick_rate());
    return 0;
  }
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  double v1 = verify_rate(1, 1.0);
  double vall = verify_rate((int)DC_MIN(cores, 16), 1.5);
  double ticks = tick_rate();

  char dir[] = "/tmp/dc-bench-ledger.XXXXXX";
  if (!mkdtemp(dir)) return 1;
  char port_s[16];
  uint16_t port = (uint16_t)(20000 + getpid() % 20000);
  snprintf(port_s, sizeof port_s, "127.0.0.1:%u", port);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", 1);
    dup2(null, 1);
    dup2(null, 2);
    execl(argv[1], "deepcloud", "master", "--data-dir", dir, "--api-addr", port_s,
          "--listen", "127.0.0.1:0", "--dev", "--log-level", "warn", (char *)NULL);
    _exit(127);
  }
  /* Ready when the API answers the faucet account's first transfer. */
  char keypath[256];
  snprintf(keypath, sizeof keypath, "%s/master.key", dir);
  struct acct faucet = {0};
  int fd = -1;
  for (int i = 0; i < 200 && fd < 0; i++) {
    usleep(50000);
    fd = connect_to(port);
  }
  if (fd < 0 || dc_identity_load_or_create(keypath, &faucet.id, NULL)) {
    fprintf(stderr, "master did not start\n");
    kill(pid, SIGKILL);
    return 1;
  }
  static struct acct accts[MAX_ACCOUNTS];
  for (int i = 0; i < naccts; i++) dc_identity_generate(&accts[i].id);
  for (int i = 0; i < naccts; i++) {
    int st = 0;
    for (int tries = 0; tries < 100 && st != 200; tries++) {
      st = fund(fd, &faucet, accts[i].id.pk);
      if (st != 200) usleep(50000); /* the genesis may not be applied yet */
    }
    if (st != 200) {
      fprintf(stderr, "funding failed: HTTP %d\n", st);
      kill(pid, SIGKILL);
      return 1;
    }
  }
  close(fd);
  /* Every transaction of both phases is signed now, outside the timing:
   * the client must not spend the measured cores on signatures. */
  for (int i = 0; i < naccts; i++) {
    accts[i].hex = calloc((size_t)(2 * per), sizeof *accts[i].hex);
    for (int k = 0; k < 2 * per; k++) {
      accts[i].hex[k] = malloc(2 * DC_TX_MAX_BYTES + 1);
      sign_transfer(&accts[i], accts[(i + 1) % naccts].id.pk, 1, accts[i].hex[k]);
    }
  }

  struct phase one = run_phase(port, pid, accts, naccts, 0, per, 1, cores);
  struct phase many = run_phase(port, pid, accts, naccts, per, per, batch, cores);
  sleep(2); /* the last block seals */
  /* The machine may be shared: measure the baseline again after the run
   * and keep the higher figure, so the ratios are never flattered. */
  double vall2 = verify_rate((int)DC_MIN(cores, 16), 1.5);
  if (vall2 > vall) vall = vall2;
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);

  char state[300], scratch[300];
  snprintf(state, sizeof state, "%s/state.db", dir);
  struct dc_fsm_verify_report rep = {0};
  struct dc_errmsg err = {{0}};
  sqlite3 *db = NULL;
  double vr_full = 0, vr_hash = 0;
  if (!dc_fsm_open_reader(state, &db)) {
    double a = now_s();
    if (!dc_fsm_verify_chain(db, NULL, false, &rep, &err) && rep.ok)
      vr_hash = (double)rep.txs / (now_s() - a);
    snprintf(scratch, sizeof scratch, "%s/replay.db", dir);
    a = now_s();
    if (!dc_fsm_verify_chain(db, scratch, true, &rep, &err) && rep.ok)
      vr_full = (double)rep.txs / (now_s() - a);
    sqlite3_close(db);
  }
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
  printf("{\"bench\":\"ledger\",\"cores\":%ld,\"accounts\":%d,\"transfers_per_phase\":%d,"
         "\"ed25519_verify_per_s_1core\":%.0f,\"ed25519_verify_per_s_all_cores\":%.0f,"
         "\"single\":{\"accepted\":%d,\"transfers_per_s\":%.0f,"
         "\"ratio_vs_verify_limit\":%.3f,\"client_cpu_share\":%.3f,"
         "\"master_cpu_share\":%.3f,\"master_bytes_written_per_tx\":%.0f},"
         "\"batched\":{\"batch\":%d,\"accepted\":%d,\"transfers_per_s\":%.0f,"
         "\"ratio_vs_verify_limit\":%.3f,\"client_cpu_share\":%.3f,"
         "\"master_cpu_share\":%.3f,\"master_bytes_written_per_tx\":%.0f},"
         "\"target_ratio\":0.4,\"tick_checks_per_s_1core\":%.0f,"
         "\"verify_hashes_sigs_tx_per_s\":%.0f,\"verify_replay_tx_per_s\":%.0f,"
         "\"verify_ok\":%s}\n",
         cores, naccts, naccts * per, v1, vall, one.ok, one.tps, one.tps / vall,
         one.client_cpu, one.master_cpu, one.bytes_per_tx, batch, many.ok, many.tps,
         many.tps / vall, many.client_cpu, many.master_cpu, many.bytes_per_tx, ticks, vr_hash, vr_full,
         rep.ok ? "true" : "false");
  for (int i = 0; i < naccts; i++) {
    for (int k = 0; k < 2 * per; k++) free(accts[i].hex[k]);
    free(accts[i].hex);
  }
  return one.ok == naccts * per && many.ok == naccts * per && rep.ok ? 0 : 1;
}
