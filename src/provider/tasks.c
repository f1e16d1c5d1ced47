/* SPDX-License-Identifier: Apache-2.0
 * Running tasks on the provider: prepare the work dir, spawn in the
 * sandbox, stream output, collect outputs, sign the result and keep it
 * until the master acknowledges it (so a master restart loses nothing). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provider/provider_int.h"

struct ptask *provider_find(struct dc_provider *p, const char *task_id,
                            uint32_t attempt) {
  for (struct ptask *t = p->tasks; t; t = t->next)
    if (t->attempt == attempt && strcmp(t->task_id, task_id) == 0) return t;
  return NULL;
}

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw) {
  (void)sb; (void)flag; (void)ftw;
  remove(path);
  return 0;
}

/* Work dirs belong to the slot's uid; the agent (root) removes them.
 * FTW_PHYS: never follow a symlink a task left behind. */
static void rm_tree(const char *path) {
  nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void ptask_free(struct dc_provider *p, struct ptask *t) {
  for (struct ptask **pp = &p->tasks; *pp; pp = &(*pp)->next)
    if (*pp == t) {
      *pp = t->next;
      break;
    }
  if (t->work_dir[0]) rm_tree(t->work_dir);
  p->slot_used[t->slot] = 0;
  for (size_t i = 0; i < t->noutputs; i++) dc_free(t->outputs[i]);
  dc_free(t->outputs);
  struct dc_msg m = {.type = DC_MSG_TASK_DONE};
  m.u.task_done = t->result;
  dc_msg_free(&m);
  dc_free(t->task_id);
  dc_free(t);
}

static int write_input(const char *dir, const char *rel, const uint8_t *data,
                       size_t len, uint32_t mode) {
  char path[4600];
  if (snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path)
    return DC_ETOOBIG;
  /* Parent dirs of nested inputs. */
  char *slash = strrchr(path, '/');
  if (slash && slash > path + strlen(dir)) {
    *slash = '\0';
    if (dc_mkdir_p(path, 0755)) return DC_EIO;
    *slash = '/';
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return DC_EIO;
  size_t off = 0;
  while (off < len) {
    ssize_t w = write(fd, data + off, len - off);
    if (w < 0) {
      close(fd);
      return DC_EIO;
    }
    off += (size_t)w;
  }
  fchmod(fd, mode);
  close(fd);
  return DC_OK;
}

static void on_output(struct dc_sandbox_task *sbt, int stream, const char *data,
                      size_t len, void *ud) {
  (void)sbt;
  struct ptask *t = ud;
  if (stream < 1 || stream > 2) return;
  /* Output past the cap is dropped: logs are a convenience, not state. */
  uint64_t room = PROVIDER_LOG_CAP - DC_MIN(t->logged[stream], PROVIDER_LOG_CAP);
  size_t n = (size_t)DC_MIN((uint64_t)len, room);
  for (size_t off = 0; off < n;) {
    size_t chunk = DC_MIN(n - off, (size_t)PROVIDER_LOG_CHUNK);
    struct dc_msg m = {.type = DC_MSG_TASK_LOG};
    m.u.task_log.task_id = t->task_id;
    m.u.task_log.attempt = t->attempt;
    m.u.task_log.stream = (uint8_t)stream;
    m.u.task_log.offset = t->logged[stream];
    m.u.task_log.data = (uint8_t *)data + off;
    m.u.task_log.len = chunk;
    if (t->p->ready) provider_send(t->p, &m);
    t->logged[stream] += chunk;
    off += chunk;
  }
}

static void collect_outputs(struct ptask *t, struct dc_task_result *r,
                            struct dc_buf *why) {
  r->outputs = dc_calloc(t->noutputs ? t->noutputs : 1, sizeof *r->outputs);
  if (!r->outputs) return;
  size_t total = 0;
  for (size_t i = 0; i < t->noutputs; i++) {
    char path[4600];
    snprintf(path, sizeof path, "%s/%s", t->work_dir, t->outputs[i]);
    /* O_NOFOLLOW: a task must not make us read a file outside its dir. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      if (fd >= 0) close(fd);
      dc_buf_printf(why, "%soutput %s missing", why->len ? "; " : "",
                    t->outputs[i]);
      continue;
    }
    if (total + (size_t)st.st_size > PROVIDER_OUTPUTS_MAX) {
      close(fd);
      dc_buf_printf(why, "%soutput %s over the %u-byte limit",
                    why->len ? "; " : "", t->outputs[i], PROVIDER_OUTPUTS_MAX);
      continue;
    }
    struct dc_output_file *f = &r->outputs[r->noutputs];
    f->data = dc_malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (f->data && got < (size_t)st.st_size) {
      ssize_t n = read(fd, f->data + got, (size_t)st.st_size - got);
      if (n <= 0) break;
      got += (size_t)n;
    }
    close(fd);
    f->len = got;
    f->path = dc_strdup(t->outputs[i]);
    total += got;
    r->noutputs++;
  }
}

static void on_exit_cb(struct dc_sandbox_task *sbt,
                       const struct dc_sandbox_result *sr, void *ud) {
  (void)sbt;
  struct ptask *t = ud;
  struct dc_provider *p = t->p;
  t->sbt = NULL;
  t->state = PT_DONE;
  if (t->forget_on_exit || p->stopping) {
    ptask_free(p, t);
    return;
  }
  struct dc_task_result *r = &t->result;
  r->task_id = dc_strdup(t->task_id);
  r->attempt = t->attempt;
  memcpy(r->node_id, p->id.pk, DC_PK_BYTES);
  r->exit_code = sr->exit_code;
  r->term_signal = sr->term_signal;
  r->usage = (struct dc_usage){sr->usage.cpu_user_us, sr->usage.cpu_sys_us,
                               sr->usage.peak_memory_bytes, sr->usage.wall_ms};
  r->mechanism = dc_strdup(sr->mechanism ? sr->mechanism : "");
  struct dc_buf why = {.max = 1000};
  if (sr->timed_out) {
    r->outcome = DC_OUTCOME_TIMEOUT;
    dc_buf_printf(&why, "timed out after %llu ms", (unsigned long long)sr->usage.wall_ms);
  } else if (sr->oom_killed) {
    r->outcome = DC_OUTCOME_OOM;
    dc_buf_printf(&why, "killed at its memory limit");
  } else if (sr->killed) {
    r->outcome = DC_OUTCOME_KILLED;
    dc_buf_printf(&why, "killed on request");
  } else if (sr->setup_failed) {
    r->outcome = DC_OUTCOME_ERROR;
    dc_buf_printf(&why, "sandbox setup failed (see stderr)");
  } else if (sr->term_signal) {
    r->outcome = DC_OUTCOME_FAILED;
    dc_buf_printf(&why, "terminated by signal %d", sr->term_signal);
  } else if (sr->exit_code != 0) {
    r->outcome = DC_OUTCOME_FAILED;
    dc_buf_printf(&why, "exit status %d", sr->exit_code);
  } else {
    r->outcome = DC_OUTCOME_SUCCEEDED;
  }
  collect_outputs(t, r, &why);
  /* A declared output that is missing fails a task that otherwise
   * succeeded: the user asked for that file. */
  if (r->outcome == DC_OUTCOME_SUCCEEDED && why.len) r->outcome = DC_OUTCOME_FAILED;
  dc_buf_cstr(&why);
  r->reason = dc_strdup(why.data ? (const char *)why.data : "");
  dc_buf_free(&why);
  if (dc_task_result_sign(r, &p->id) != DC_OK) {
    DC_ERROR("agent", "task=%s could not sign result", t->task_id);
    ptask_free(p, t);
    return;
  }
  DC_INFO("agent", "task=%s attempt=%u outcome=%u exit=%d wall_ms=%llu",
          t->task_id, t->attempt, r->outcome, r->exit_code,
          (unsigned long long)r->usage.wall_ms);
  struct dc_msg m = {.type = DC_MSG_TASK_DONE};
  m.u.task_done = *r;
  if (p->ready) provider_send(p, &m);
}

static int parse_task(struct ptask *t, const char *json, json_t **out_root,
                      struct dc_sandbox_limits *lim, bool *network) {
  json_error_t jerr;
  json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object(root)) {
    json_decref(root);
    return DC_EPROTO;
  }
  *out_root = root;
  json_t *outs = json_object_get(root, "outputs");
  size_t n = json_is_array(outs) ? json_array_size(outs) : 0;
  t->outputs = dc_calloc(n ? n : 1, sizeof *t->outputs);
  if (!t->outputs) return DC_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const char *s = json_string_value(json_array_get(outs, i));
    if (!s) return DC_EPROTO;
    t->outputs[t->noutputs++] = dc_strdup(s);
  }
  lim->cpu_millis = (uint32_t)json_integer_value(json_object_get(root, "cpu_millis"));
  lim->memory_bytes = (uint64_t)json_integer_value(json_object_get(root, "memory_mb")) << 20;
  lim->timeout_ms = (uint32_t)json_integer_value(json_object_get(root, "timeout_s")) * 1000u;
  *network = json_is_true(json_object_get(root, "network"));
  lim->network = *network;
  return DC_OK;
}

static void refuse(struct dc_provider *p, struct ptask *t, const char *why) {
  /* A task we cannot even start still gets a signed result, so the master
   * can retry or fail it instead of waiting for a timeout. */
  struct dc_task_result *r = &t->result;
  r->task_id = dc_strdup(t->task_id);
  r->attempt = t->attempt;
  memcpy(r->node_id, p->id.pk, DC_PK_BYTES);
  r->outcome = DC_OUTCOME_ERROR;
  r->exit_code = -1;
  r->mechanism = dc_strdup(dc_sandbox_mechanism(&p->sb));
  r->reason = dc_strdup(why);
  t->state = PT_DONE;
  if (dc_task_result_sign(r, &p->id) == DC_OK) {
    struct dc_msg m = {.type = DC_MSG_TASK_DONE};
    m.u.task_done = *r;
    if (p->ready) provider_send(p, &m);
  }
  DC_WARN("agent", "task=%s attempt=%u refused reason=\"%s\"", t->task_id,
          t->attempt, why);
}

void provider_run_task(struct dc_provider *p, struct dc_msg_run_task *rt) {
  if (provider_find(p, rt->task_id, rt->attempt)) return; /* resent: have it */
  struct ptask *t = dc_calloc(1, sizeof *t);
  if (!t) return;
  t->p = p;
  t->task_id = dc_strdup(rt->task_id);
  t->attempt = rt->attempt;
  t->state = PT_RUNNING;
  t->next = p->tasks;
  p->tasks = t;
  uint32_t slot = 0;
  while (slot < PROVIDER_SLOTS && p->slot_used[slot]) slot++;
  if (slot == PROVIDER_SLOTS) {
    refuse(p, t, "provider has no free task slot");
    return;
  }
  t->slot = slot;
  p->slot_used[slot] = 1;

  json_t *root = NULL;
  struct dc_sandbox_limits lim = {0};
  bool network = false;
  if (parse_task(t, rt->task_json, &root, &lim, &network) != DC_OK) {
    json_decref(root);
    refuse(p, t, "malformed task description");
    return;
  }
  int wn = snprintf(t->work_dir, sizeof t->work_dir, "%s/%s.%u", p->tasks_dir,
                    t->task_id, t->attempt);
  if (wn < 0 || (size_t)wn >= sizeof t->work_dir) {
    t->work_dir[0] = '\0'; /* never remove a truncated path */
    json_decref(root);
    refuse(p, t, "work dir path too long");
    return;
  }
  rm_tree(t->work_dir);
  int rc = dc_mkdir_p(t->work_dir, 0700);
  /* Input files. */
  json_t *files = json_object_get(root, "files");
  size_t fi;
  json_t *f;
  json_array_foreach(files, fi, f) {
    if (rc) break;
    const char *path = json_string_value(json_object_get(f, "path"));
    const char *b64 = json_string_value(json_object_get(f, "content_base64"));
    uint32_t mode = (uint32_t)json_integer_value(json_object_get(f, "mode"));
    if (!path || !b64) { rc = DC_EPROTO; break; }
    size_t cap = strlen(b64);
    uint8_t *bin = dc_malloc(cap + 1);
    size_t blen = 0;
    if (!bin || sodium_base642bin(bin, cap, b64, cap, NULL, &blen, NULL,
                                  sodium_base64_VARIANT_ORIGINAL) != 0)
      rc = DC_EPROTO;
    else
      rc = write_input(t->work_dir, path, bin, blen, mode ? mode : 0644);
    dc_free(bin);
  }
  if (rc) {
    json_decref(root);
    refuse(p, t, "could not prepare the work dir");
    return;
  }
  /* argv and environment. */
  json_t *jargv = json_object_get(root, "argv");
  json_t *jenv = json_object_get(root, "env");
  size_t argc = json_array_size(jargv);
  char **argv = dc_calloc(argc + 1, sizeof *argv);
  char **env = dc_calloc(json_object_size(jenv) + 8, sizeof *env);
  size_t ne = 0;
  for (size_t i = 0; argv && i < argc; i++)
    argv[i] = (char *)json_string_value(json_array_get(jargv, i));
  const char *k;
  json_t *v;
  if (env) {
    json_object_foreach(jenv, k, v) {
      char *e = NULL;
      if (asprintf(&e, "%s=%s", k, json_string_value(v) ? json_string_value(v) : "") > 0)
        env[ne++] = e;
    }
    char *e = NULL;
    if (asprintf(&e, "DC_TASK_INDEX=%u", rt->index) > 0) env[ne++] = e;
    if (asprintf(&e, "DC_TASK_NAME=%s", rt->task_name) > 0) env[ne++] = e;
    if (asprintf(&e, "DC_JOB_ID=%s", rt->job_id) > 0) env[ne++] = e;
    if (asprintf(&e, "DC_TASK_ID=%s", rt->task_id) > 0) env[ne++] = e;
    if (asprintf(&e, "PATH=/usr/local/bin:/usr/bin:/bin") > 0) env[ne++] = e;
    if (asprintf(&e, "HOME=/work") > 0) env[ne++] = e;
  }
  struct dc_sandbox_spec spec = {
      .argv = argv, .env = env, .work_dir = t->work_dir, .slot = slot};
  rc = argv && env && argc ? dc_sandbox_spawn(&p->sb, &spec, &lim, on_output,
                                              on_exit_cb, t, &t->sbt)
                           : DC_ENOMEM;
  for (size_t i = 0; env && i < ne; i++) free(env[i]);
  dc_free(env);
  dc_free(argv);
  json_decref(root);
  if (rc) {
    char why[160];
    snprintf(why, sizeof why, "sandbox refused the task: %s", dc_strerror(rc));
    refuse(p, t, why);
    return;
  }
  DC_INFO("agent", "task=%s attempt=%u started slot=%u", t->task_id, t->attempt,
          slot);
  struct dc_msg m = {.type = DC_MSG_TASK_STARTED};
  m.u.task_started.task_id = t->task_id;
  m.u.task_started.attempt = t->attempt;
  m.u.task_started.ts_ms = dc_now_ms();
  if (p->ready) provider_send(p, &m);
}

void provider_kill_task(struct dc_provider *p, const char *task_id,
                        uint32_t attempt) {
  struct ptask *t = provider_find(p, task_id, attempt);
  if (!t) return;
  DC_INFO("agent", "task=%s attempt=%u kill requested", task_id, attempt);
  t->forget_on_exit = true; /* the master no longer wants this result */
  if (t->state == PT_RUNNING && t->sbt) {
    dc_sandbox_kill(t->sbt);
  } else {
    ptask_free(p, t);
  }
}

void provider_ack(struct dc_provider *p, const char *task_id, uint32_t attempt) {
  struct ptask *t = provider_find(p, task_id, attempt);
  if (t && t->state == PT_DONE) ptask_free(p, t);
}

void provider_resend_results(struct dc_provider *p) {
  for (struct ptask *t = p->tasks; t; t = t->next) {
    if (t->state != PT_DONE || !t->result.task_id) continue;
    struct dc_msg m = {.type = DC_MSG_TASK_DONE};
    m.u.task_done = t->result;
    provider_send(p, &m);
  }
}
