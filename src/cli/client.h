/* SPDX-License-Identifier: Apache-2.0
 * The CLI's REST client: finds the API (--api, DEEPCLOUD_API, default),
 * signs mutating requests with the key in DEEPCLOUD_HOME, and turns API
 * errors into messages that say what to do. */
#ifndef DC_CLI_CLIENT_H
#define DC_CLI_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "base/base.h"

#define DC_API_DEFAULT "http://127.0.0.1:8420"

struct client {
  const char *api;   /* base URL */
  const char *home;  /* key folder */
  bool json;         /* --json output */
};

/* Sends a request. body may be NULL. For POST and DELETE the request is
 * signed (loading or creating the key in home). extra_header may be NULL
 * ("Name: value"). OUT: *status, *resp (parsed JSON or NULL; decref).
 * Errors: DC_EIO when the API cannot be reached (a message is printed). */
int client_call(const struct client *c, const char *method, const char *path,
                const char *body, size_t body_len, const char *extra_header,
                long *status, json_t **resp);

/* GET path expecting 200. Returns -1 with *out set (decref it), or the
 * exit status to use after printing the error (what names the action). */
int client_get(const struct client *c, const char *what, const char *path,
               json_t **out);

/* Prints an API error response to stderr in the user's words; returns the
 * process exit status to use (1). */
int client_report(const char *what, long status, json_t *resp);

/* The caller's key (hex) for display. */
int client_key_hex(const struct client *c, char *out);

#endif
