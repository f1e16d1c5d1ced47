/* SPDX-License-Identifier: Apache-2.0
 * Table-driven options: each option is a flag (--name), an environment
 * variable (DEEPCLOUD_NAME) and a key of the JSON config file (name).
 * Precedence: flag > environment > config file > built-in default.
 * Unknown flags and unknown config keys are refused. */
#ifndef DC_CLI_OPTIONS_H
#define DC_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

enum opt_type { OPT_STR, OPT_U16, OPT_U32, OPT_U64, OPT_F64, OPT_BOOL };

struct opt {
  const char *name;  /* "data-dir" → --data-dir, DEEPCLOUD_DATA_DIR, "data-dir" */
  enum opt_type type;
  void *dst;         /* const char **, uint16_t *, uint32_t *, ... */
  const char *help;
};

/* Parses argv[1..] against opts; positional arguments are collected into
 * pos (at most *npos on input, count on output). --config FILE (or
 * DEEPCLOUD_CONFIG) names a JSON config file. "--" ends options.
 * Strings stored in dst point into argv, the environment or a config
 * document kept alive for the process. Errors: DC_EINVAL with a message that
 * names the option; DC_ENOTFOUND/DC_EIO for the config file. */
int opts_parse(const struct opt *opts, size_t nopts, int argc, char **argv,
               char **pos, size_t *npos, struct dc_errmsg *err);

/* Prints "  --name  help (env DEEPCLOUD_NAME)" lines. */
void opts_usage(const struct opt *opts, size_t nopts);

/* "host:port" → host (static buffer copy) and port. */
int opts_hostport(const char *s, char *host, size_t hostsz, uint16_t *port);

#endif
