/* SPDX-License-Identifier: Apache-2.0
 * Where libuv's world enters net: numeric socket addresses in and out, and
 * the one mapping from libuv error codes to DC_E* codes. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "net_int.h"

int net_uv_err(int e) {
  switch (e) {
    case 0: return DC_OK;
    case UV_ENOMEM: case UV_ENOBUFS: return DC_ENOMEM;
    case UV_EINVAL: return DC_EINVAL;
    case UV_EADDRINUSE: return DC_EEXISTS;
    case UV_EACCES: case UV_EPERM: return DC_EFORBIDDEN;
    case UV_ETIMEDOUT: return DC_ETIMEOUT;
    case UV_ECANCELED: case UV_EAI_CANCELED: return DC_ECANCELED;
    case UV_EOF: return DC_ECLOSED;
    case UV_EAI_NONAME: case UV_EAI_NODATA: return DC_ENOTFOUND;
    default: return DC_EIO;
  }
}

int net_parse_addr(const char *host, uint16_t port,
                   struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0) return DC_OK;
  if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0) return DC_OK;
  return DC_EINVAL;
}

void net_format_addr(const struct sockaddr *sa, char *out, size_t n) {
  char ip[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    uv_ip4_name(a, ip, sizeof ip);
    port = ntohs(a->sin_port);
    snprintf(out, n, "%s:%u", ip, port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    uv_ip6_name(a, ip, sizeof ip);
    port = ntohs(a->sin6_port);
    snprintf(out, n, "[%s]:%u", ip, port);
  } else {
    snprintf(out, n, "?");
  }
}
