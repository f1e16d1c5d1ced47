/* SPDX-License-Identifier: Apache-2.0
 * bench_ledger: in one run,
 *  - the raw Ed25519 verify rate of every core (the baseline: a master can
 *    never accept signed transactions faster than it can check them);
 *  - signed transfers per second through the whole path of a real master
 *    (HTTP → decode → flood control → signature on the worker pool → log →
 *    FSM → blocks), from many accounts at once, and its ratio to the above
 *    (target >= 0.4);
 *  - bare PayWord tick checks per second on one core (one BLAKE2b each);
 *  - `ledger verify` throughput on the resulting chain, with and without
 *    the full replay.
 * Prints one JSON line. Usage: bench_ledger DEEPCLOUD_BINARY [accounts]
 * [transfers_per_account], or bench_ledger --tick-rate (the baseline of
 * bench_ticks.py). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "fsm/fsm.h"
#include "ledger/ledger.h"

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

/* POST path with body on a kept-alive socket; returns the HTTP status. */
static int post(int fd, const char *path, const char *body) {
  char req[2048];
  int n = snprintf(req, sizeof req,
                   "POST %s HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\n\r\n%s", path, strlen(body), body);
  if (write(fd, req, (size_t)n) != n) return -1;
  char buf[4096];
  size_t have = 0;
  for (;;) {
    ssize_t k = read(fd, buf + have, sizeof buf - 1 - have);
    if (k <= 0) return -1;
    have += (size_t)k;
    buf[have] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (!end) continue;
    char *cl = strstr(buf, "\r\nContent-Length:");
    if (!cl || cl > end) return -1;
    size_t blen = strtoul(cl + 17, NULL, 10);
    if (have >= (size_t)(end + 4 - buf) + blen) return atoi(buf + 9);
  }
}

struct acct {
  struct dc_identity id;
  uint64_t nonce;
  uint8_t head[32];
};

/* Signs the account's next transfer and posts it. */
static int send_transfer(int fd, struct acct *a, const uint8_t to[32],
                         uint64_t amount) {
  struct dc_tx tx = {.version = 1, .kind = DC_TX_TRANSFER, .nonce = a->nonce + 1,
                     .amount = amount};
  memcpy(tx.account, a->id.pk, 32);
  memcpy(tx.prev, a->head, 32);
  memcpy(tx.peer, to, 32);
  dc_tx_sign(&tx, CHAIN, &a->id);
  uint8_t enc[DC_TX_MAX_BYTES];
  struct dc_buf b = {.data = enc, .alloc = sizeof enc - 1, .max = sizeof enc - 1};
  dc_tx_encode(&tx, &b);
  char body[2 * DC_TX_MAX_BYTES + 16] = "{\"tx\":\"";
  dc_hex_encode(b.data, b.len, body + 7);
  strcat(body, "\"}");
  int st = post(fd, "/v1/tx", body);
  if (st == 200) {
    a->nonce++;
    dc_tx_hash(&tx, a->head);
  }
  return st;
}

struct sender {
  pthread_t t;
  uint16_t port;
  struct acct *a;
  const uint8_t *to;
  int count, ok;
};

static void *sender_main(void *arg) {
  struct sender *s = arg;
  int fd = connect_to(s->port);
  for (int i = 0; fd >= 0 && i < s->count; i++)
    s->ok += send_transfer(fd, s->a, s->to, 1) == 200;
  if (fd >= 0) close(fd);
  return NULL;
}

/* ---- the run ------------------------------------------------------------------ */

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_ledger DEEPCLOUD_BINARY [accounts] [per_account]\n");
    return 2;
  }
  int naccts = argc > 2 ? atoi(argv[2]) : 64;
  int per = argc > 3 ? atoi(argv[3]) : 300;
  if (naccts < 2 || naccts > MAX_ACCOUNTS || per < 1) return 2;
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
      st = send_transfer(fd, &faucet, accts[i].id.pk, 1000000000);
      if (st != 200) usleep(50000); /* the genesis may not be applied yet */
    }
    if (st != 200) {
      fprintf(stderr, "funding failed: HTTP %d\n", st);
      kill(pid, SIGKILL);
      return 1;
    }
  }
  close(fd);

  static struct sender s[MAX_ACCOUNTS];
  double t0 = now_s();
  for (int i = 0; i < naccts; i++) {
    s[i] = (struct sender){.port = port, .a = &accts[i],
                           .to = accts[(i + 1) % naccts].id.pk, .count = per};
    pthread_create(&s[i].t, NULL, sender_main, &s[i]);
  }
  int ok = 0;
  for (int i = 0; i < naccts; i++) {
    pthread_join(s[i].t, NULL);
    ok += s[i].ok;
  }
  double secs = now_s() - t0;
  double tps = ok / secs;
  sleep(2); /* the last block seals */
  /* The machine may be shared: measure the baseline again after the run
   * and keep the higher figure, so the ratio is never flattered. */
  double vall2 = verify_rate((int)DC_MIN(cores, 16), 1.5);
  if (vall2 > vall) vall = vall2;
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);

  char state[300], scratch[300];
  snprintf(state, sizeof state, "%s/state.db", dir);
  struct dc_fsm_verify_report rep;
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
  printf("{\"bench\":\"ledger\",\"cores\":%ld,\"accounts\":%d,\"transfers\":%d,"
         "\"accepted\":%d,\"transfers_per_s\":%.0f,\"ed25519_verify_per_s_1core\":%.0f,"
         "\"ed25519_verify_per_s_all_cores\":%.0f,\"ratio_vs_verify_limit\":%.3f,"
         "\"target_ratio\":0.4,\"tick_checks_per_s_1core\":%.0f,"
         "\"verify_hashes_sigs_tx_per_s\":%.0f,\"verify_replay_tx_per_s\":%.0f,"
         "\"verify_ok\":%s}\n",
         cores, naccts, naccts * per, ok, tps, v1, vall, tps / vall, ticks, vr_hash,
         vr_full, rep.ok ? "true" : "false");
  return ok == naccts * per && rep.ok ? 0 : 1;
}
