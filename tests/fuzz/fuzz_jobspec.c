/* SPDX-License-Identifier: Apache-2.0
 * Fuzz target for the job spec parser: arbitrary bytes must never crash it,
 * and whatever it accepts must have a canonical form that parses again to
 * the very same canonical bytes (the masters store and replay that form). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobspec/jobspec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_jobspec: %s: %s\n", what, detail ? detail : "");
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct dc_jobspec *s = NULL, *s2 = NULL;
  struct dc_errmsg err;
  int rc = dc_jobspec_parse((const char *)data, size, &s, &err);
  if (rc != DC_OK) {
    if (s) die("output set on failure", err.text);
    if (strlen(err.text) == 0) die("failure without a message", NULL);
    return 0;
  }
  char *c1 = NULL, *c2 = NULL;
  if (dc_jobspec_canonical(s, &c1) != DC_OK) die("canonical failed", NULL);
  if (dc_jobspec_parse(c1, strlen(c1), &s2, &err) != DC_OK)
    die("canonical does not parse", err.text);
  if (dc_jobspec_canonical(s2, &c2) != DC_OK) die("canonical failed", NULL);
  if (strcmp(c1, c2) != 0) die("canonical is not a fixed point", c1);
  /* The other outputs must work on anything parse accepts. */
  /* The order must respect every dependency. */
  size_t *order = malloc(s->ntasks * sizeof *order);
  size_t *pos = malloc(s->ntasks * sizeof *pos);
  if (!order || !pos || dc_jobspec_topo_order(s, order) != DC_OK)
    die("topo order", c1);
  for (size_t i = 0; i < s->ntasks; i++) pos[order[i]] = i;
  for (size_t i = 0; i < s->ntasks; i++)
    for (size_t j = 0; j < s->tasks[i].nafter; j++) {
      const struct dc_jobspec_task *d =
          dc_jobspec_find_task(s, s->tasks[i].after[j]);
      if (!d || pos[d - s->tasks] >= pos[i])
        die("topo order violates after", c1);
    }
  free(pos);
  for (size_t i = 0; i < s->ntasks; i++) {
    char *tj = NULL;
    if (dc_jobspec_task_json(&s->tasks[i], &tj) != DC_OK) die("task json", c1);
    dc_free(tj);
  }
  free(order);
  dc_free(c1);
  dc_free(c2);
  dc_jobspec_free(s);
  dc_jobspec_free(s2);
  return 0;
}
