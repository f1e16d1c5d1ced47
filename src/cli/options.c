/* SPDX-License-Identifier: Apache-2.0
 * Flags, environment and config file for every subcommand. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"

static json_t *config_doc; /* kept for the process: strings point into it */

static void env_name(const char *name, char *out, size_t n) {
  int k = snprintf(out, n, "DEEPCLOUD_");
  for (const char *p = name; *p && (size_t)k + 1 < n; p++)
    out[k++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
  out[k] = '\0';
}

static int set_value(const struct opt *o, const char *v, const char *src,
                     struct dc_errmsg *err) {
  char *end = NULL;
  errno = 0;
  switch (o->type) {
    case OPT_STR:
      *(const char **)o->dst = v;
      return DC_OK;
    case OPT_BOOL:
      if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) {
        *(bool *)o->dst = true;
        return DC_OK;
      }
      if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no")) {
        *(bool *)o->dst = false;
        return DC_OK;
      }
      break;
    case OPT_F64: {
      double d = strtod(v, &end);
      if (*v && !*end && !errno && isfinite(d)) {
        *(double *)o->dst = d;
        return DC_OK;
      }
      break;
    }
    default: {
      if (*v == '-') break;
      unsigned long long u = strtoull(v, &end, 10);
      if (!*v || *end || errno) break;
      if (o->type == OPT_U16 && u <= UINT16_MAX) {
        *(uint16_t *)o->dst = (uint16_t)u;
        return DC_OK;
      }
      if (o->type == OPT_U32 && u <= UINT32_MAX) {
        *(uint32_t *)o->dst = (uint32_t)u;
        return DC_OK;
      }
      if (o->type == OPT_U64) {
        *(uint64_t *)o->dst = u;
        return DC_OK;
      }
      break;
    }
  }
  static const char *kinds[] = {"a string", "a port number (0-65535)",
                                "a whole number", "a whole number", "a number",
                                "true or false"};
  dc_errmsg_set(err, "%s %s: \"%s\" is not %s", src, o->name, v, kinds[o->type]);
  return DC_EINVAL;
}

static const struct opt *find(const struct opt *opts, size_t n, const char *name,
                              size_t len) {
  for (size_t i = 0; i < n; i++)
    if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
      return &opts[i];
  return NULL;
}

static int load_config(const struct opt *opts, size_t n, const char *path,
                       struct dc_errmsg *err) {
  json_error_t je;
  json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
  if (!doc) {
    dc_errmsg_set(err, "config %s: %s (line %d)", path, je.text, je.line);
    return DC_EINVAL;
  }
  if (!json_is_object(doc)) {
    json_decref(doc);
    dc_errmsg_set(err, "config %s: must be a JSON object", path);
    return DC_EINVAL;
  }
  const char *k;
  json_t *v;
  json_object_foreach(doc, k, v) {
    const struct opt *o = find(opts, n, k, strlen(k));
    if (!o) {
      dc_errmsg_set(err, "config %s: unknown key \"%s\"", path, k);
      json_decref(doc);
      return DC_EINVAL;
    }
    char num[64];
    const char *text = NULL;
    if (json_is_string(v)) text = json_string_value(v);
    else if (json_is_integer(v)) {
      snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
      text = num;
    } else if (json_is_real(v)) {
      snprintf(num, sizeof num, "%.17g", json_real_value(v));
      text = num;
    } else if (json_is_boolean(v)) text = json_is_true(v) ? "true" : "false";
    if (!text || (o->type == OPT_STR && !json_is_string(v))) {
      dc_errmsg_set(err, "config %s: key \"%s\" has the wrong type", path, k);
      json_decref(doc);
      return DC_EINVAL;
    }
    char src[300];
    snprintf(src, sizeof src, "config %s key", path);
    if (set_value(o, text, src, err)) {
      json_decref(doc);
      return DC_EINVAL;
    }
  }
  json_decref(config_doc);
  config_doc = doc; /* strings stay valid */
  return DC_OK;
}

int opts_parse(const struct opt *opts, size_t nopts, int argc, char **argv,
               char **pos, size_t *npos, struct dc_errmsg *err) {
  size_t maxpos = *npos;
  *npos = 0;
  /* 1. config file */
  const char *cfg = getenv("DEEPCLOUD_CONFIG");
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) break;
    if (!strcmp(argv[i], "--config") && i + 1 < argc) cfg = argv[i + 1];
    else if (!strncmp(argv[i], "--config=", 9)) cfg = argv[i] + 9;
  }
  if (cfg && *cfg && load_config(opts, nopts, cfg, err)) return DC_EINVAL;
  /* 2. environment */
  for (size_t i = 0; i < nopts; i++) {
    char en[96];
    env_name(opts[i].name, en, sizeof en);
    const char *v = getenv(en);
    if (v && set_value(&opts[i], v, "environment variable for", err))
      return DC_EINVAL;
  }
  /* 3. flags */
  bool only_pos = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (only_pos || a[0] != '-' || !strcmp(a, "-")) {
      if (*npos == maxpos) {
        dc_errmsg_set(err, "unexpected argument \"%s\"", a);
        return DC_EINVAL;
      }
      pos[(*npos)++] = argv[i];
      continue;
    }
    if (!strcmp(a, "--")) {
      only_pos = true;
      continue;
    }
    if (strncmp(a, "--", 2) != 0) {
      dc_errmsg_set(err, "unknown option \"%s\" (options are spelled --name)", a);
      return DC_EINVAL;
    }
    const char *name = a + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    if (len == 6 && !strncmp(name, "config", 6)) {
      if (!eq) i++;
      continue;
    }
    const struct opt *o = find(opts, nopts, name, len);
    if (!o) {
      dc_errmsg_set(err, "unknown option \"--%.*s\" (see --help)", (int)len, name);
      return DC_EINVAL;
    }
    const char *v = eq ? eq + 1 : NULL;
    if (!v && o->type == OPT_BOOL) v = "true";
    if (!v) {
      if (i + 1 >= argc) {
        dc_errmsg_set(err, "option --%s needs a value", o->name);
        return DC_EINVAL;
      }
      v = argv[++i];
    }
    if (set_value(o, v, "option", err)) return DC_EINVAL;
  }
  return DC_OK;
}

void opts_usage(const struct opt *opts, size_t nopts) {
  for (size_t i = 0; i < nopts; i++) {
    char en[96];
    env_name(opts[i].name, en, sizeof en);
    printf("  --%-22s %s [env %s]\n", opts[i].name, opts[i].help, en);
  }
  printf("  --%-22s %s\n", "config FILE", "JSON file with any of these options [env DEEPCLOUD_CONFIG]");
}

int opts_hostport(const char *s, char *host, size_t hostsz, uint16_t *port) {
  const char *colon = strrchr(s, ':');
  if (!colon || colon == s) return DC_EINVAL;
  size_t hl = (size_t)(colon - s);
  if (hl >= hostsz) return DC_EINVAL;
  char *end;
  errno = 0;
  unsigned long p = strtoul(colon + 1, &end, 10);
  if (!colon[1] || *end || errno || p > 65535) return DC_EINVAL;
  memcpy(host, s, hl);
  host[hl] = '\0';
  *port = (uint16_t)p;
  return DC_OK;
}
