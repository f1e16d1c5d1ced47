/* SPDX-License-Identifier: Apache-2.0
 * The plaintext message codec. A packet is a sequence of messages, each
 * type u8 | len u16 | payload, so that updates piggyback on any probe
 * message. Every field is bounded and every decoder is safe on arbitrary
 * bytes (fuzzed through dc_gossip_recv). */
#include <math.h>
#include <string.h>

#include "gossip/gossip_int.h"

int msg_put_addr(struct dc_buf *b, const struct dc_gossip_addr *a) {
  int rc = dc_buf_put_u8(b, a->family);
  if (!rc) rc = dc_buf_append(b, a->ip, a->family == 6 ? 16 : 4);
  if (!rc) rc = dc_buf_put_u16(b, a->port);
  return rc;
}

int msg_get_addr(struct dc_reader *r, struct dc_gossip_addr *a) {
  memset(a, 0, sizeof *a);
  dc_get_u8(r, &a->family);
  if (!r->err && a->family != 4 && a->family != 6) r->err = DC_EPROTO;
  dc_get_raw(r, a->ip, a->family == 6 ? 16 : 4);
  dc_get_u16(r, &a->port);
  return r->err;
}

/* Coordinates travel as float32: 44 bytes instead of 88 on every ack. */
static int put_f32(struct dc_buf *b, double v) {
  float f = (float)v;
  uint32_t u;
  memcpy(&u, &f, 4);
  return dc_buf_put_u32(b, u);
}

static double get_f32(struct dc_reader *r) {
  uint32_t u = 0;
  dc_get_u32(r, &u);
  float f;
  memcpy(&f, &u, 4);
  if (!r->err && !isfinite(f)) r->err = DC_EPROTO;
  return f;
}

static int encode_payload(struct dc_buf *b, const struct gossip_msg *m) {
  int rc = 0;
  switch (m->type) {
  case GMSG_PING:
    rc = dc_buf_put_u32(b, m->seq);
    if (!rc) rc = dc_buf_put_u64(b, m->id);
    if (!rc) rc = dc_buf_put_u64(b, m->from);
    if (!rc) rc = msg_put_addr(b, &m->from_addr);
    return rc;
  case GMSG_PING_REQ:
    rc = dc_buf_put_u32(b, m->seq);
    if (!rc) rc = dc_buf_put_u64(b, m->id);
    if (!rc) rc = msg_put_addr(b, &m->addr);
    if (!rc) rc = dc_buf_put_u8(b, m->nack);
    if (!rc) rc = dc_buf_put_u64(b, m->from);
    if (!rc) rc = msg_put_addr(b, &m->from_addr);
    return rc;
  case GMSG_ACK:
    rc = dc_buf_put_u32(b, m->seq);
    if (!rc) rc = dc_buf_put_u8(b, m->has_coord);
    if (m->has_coord) {
      for (int i = 0; i < DC_VIVALDI_DIM && !rc; i++) rc = put_f32(b, m->coord.vec[i]);
      if (!rc) rc = put_f32(b, m->coord.error);
      if (!rc) rc = put_f32(b, m->coord.adjustment);
      if (!rc) rc = put_f32(b, m->coord.height);
    }
    return rc;
  case GMSG_NACK:
    return dc_buf_put_u32(b, m->seq);
  case GMSG_ALIVE:
    if (m->tags_len > DC_GOSSIP_TAGS_MAX) return DC_EINVAL;
    rc = dc_buf_put_u64(b, m->id);
    if (!rc) rc = dc_buf_put_u32(b, m->incarnation);
    if (!rc) rc = msg_put_addr(b, &m->addr);
    if (!rc) rc = dc_buf_put_u16(b, m->tags_len);
    if (!rc) rc = dc_buf_append(b, m->tags, m->tags_len);
    return rc;
  case GMSG_SUSPECT:
  case GMSG_DEAD:
    rc = dc_buf_put_u64(b, m->id);
    if (!rc) rc = dc_buf_put_u32(b, m->incarnation);
    if (!rc) rc = dc_buf_put_u64(b, m->from);
    return rc;
  case GMSG_PUSHPULL:
    rc = dc_buf_put_u8(b, (uint8_t)(m->join | m->reply << 1));
    if (!rc) rc = dc_buf_put_u64(b, m->from);
    if (!rc) rc = msg_put_addr(b, &m->from_addr);
    if (!rc) rc = dc_buf_put_u32(b, m->count);
    if (!rc) rc = dc_buf_append(b, m->entries, m->entries_len);
    return rc;
  }
  return DC_EINVAL;
}

int msg_encode(struct dc_buf *b, const struct gossip_msg *m) {
  size_t at = b->len;
  int rc = dc_buf_put_u8(b, m->type);
  if (!rc) rc = dc_buf_put_u16(b, 0);
  if (!rc) rc = encode_payload(b, m);
  if (rc) {
    b->len = at;
    return rc;
  }
  size_t n = b->len - at - 3;
  if (n > UINT16_MAX && m->type != GMSG_PUSHPULL) {
    b->len = at;
    return DC_ETOOBIG;
  }
  /* A push-pull message is alone in its stream: its length field is 0 and
   * it runs to the end. */
  uint16_t len = m->type == GMSG_PUSHPULL ? 0 : (uint16_t)n;
  b->data[at + 1] = (uint8_t)(len >> 8);
  b->data[at + 2] = (uint8_t)len;
  return DC_OK;
}

int msg_decode(struct dc_reader *top, struct gossip_msg *m) {
  memset(m, 0, sizeof *m);
  uint16_t len = 0;
  dc_get_u8(top, &m->type);
  dc_get_u16(top, &len);
  if (top->err) return DC_EPROTO;
  struct dc_reader rr, *r = &rr;
  if (m->type == GMSG_PUSHPULL) {
    if (len != 0) return DC_EPROTO;
    dc_reader_init(r, top->p + top->off, top->len - top->off);
    top->off = top->len;
  } else {
    const uint8_t *p;
    size_t n;
    if (top->len - top->off < len) return DC_EPROTO;
    p = top->p + top->off;
    n = len;
    top->off += len;
    dc_reader_init(r, p, n);
  }
  uint8_t u8 = 0;
  switch (m->type) {
  case GMSG_PING:
    dc_get_u32(r, &m->seq);
    dc_get_u64(r, &m->id);
    dc_get_u64(r, &m->from);
    msg_get_addr(r, &m->from_addr);
    break;
  case GMSG_PING_REQ:
    dc_get_u32(r, &m->seq);
    dc_get_u64(r, &m->id);
    msg_get_addr(r, &m->addr);
    dc_get_u8(r, &u8);
    if (!r->err && u8 > 1) r->err = DC_EPROTO;
    m->nack = u8;
    dc_get_u64(r, &m->from);
    msg_get_addr(r, &m->from_addr);
    break;
  case GMSG_ACK:
    dc_get_u32(r, &m->seq);
    dc_get_u8(r, &u8);
    if (!r->err && u8 > 1) r->err = DC_EPROTO;
    m->has_coord = u8;
    if (m->has_coord) {
      for (int i = 0; i < DC_VIVALDI_DIM; i++) m->coord.vec[i] = get_f32(r);
      m->coord.error = get_f32(r);
      m->coord.adjustment = get_f32(r);
      m->coord.height = get_f32(r);
      if (!r->err && (m->coord.error < 0 || m->coord.height < 0)) r->err = DC_EPROTO;
    }
    break;
  case GMSG_NACK:
    dc_get_u32(r, &m->seq);
    break;
  case GMSG_ALIVE: {
    dc_get_u64(r, &m->id);
    dc_get_u32(r, &m->incarnation);
    msg_get_addr(r, &m->addr);
    dc_get_u16(r, &m->tags_len);
    if (!r->err && m->tags_len > DC_GOSSIP_TAGS_MAX) r->err = DC_EPROTO;
    if (!r->err && dc_reader_left(r) < m->tags_len) r->err = DC_EPROTO;
    if (!r->err) {
      m->tags = r->p + r->off;
      r->off += m->tags_len;
    }
    break;
  }
  case GMSG_SUSPECT:
  case GMSG_DEAD:
    dc_get_u64(r, &m->id);
    dc_get_u32(r, &m->incarnation);
    dc_get_u64(r, &m->from);
    break;
  case GMSG_PUSHPULL:
    dc_get_u8(r, &u8);
    if (!r->err && u8 > 3) r->err = DC_EPROTO;
    m->join = u8 & 1;
    m->reply = u8 >> 1;
    dc_get_u64(r, &m->from);
    msg_get_addr(r, &m->from_addr);
    dc_get_u32(r, &m->count);
    if (!r->err && m->count > DC_GOSSIP_MEMBERS_MAX) r->err = DC_EPROTO;
    m->entries = r->p + r->off;
    m->entries_len = dc_reader_left(r);
    r->off = r->len;
    break;
  default:
    return DC_EPROTO;
  }
  if ((m->type == GMSG_ALIVE || m->type == GMSG_SUSPECT || m->type == GMSG_DEAD ||
       m->type == GMSG_PING || m->type == GMSG_PING_REQ) && !r->err && m->id == 0)
    r->err = DC_EPROTO;
  if (dc_reader_finish(r) != DC_OK) return DC_EPROTO;
  return DC_OK;
}

int msg_pp_put(struct dc_buf *b, const struct gossip_pp_entry *e) {
  int rc = dc_buf_put_u64(b, e->id);
  if (!rc) rc = msg_put_addr(b, &e->addr);
  if (!rc) rc = dc_buf_put_u32(b, e->incarnation);
  if (!rc) rc = dc_buf_put_u8(b, e->state);
  if (!rc) rc = dc_buf_put_u16(b, e->tags_len);
  if (!rc) rc = dc_buf_append(b, e->tags, e->tags_len);
  return rc;
}

int msg_pp_next(struct dc_reader *r, struct gossip_pp_entry *e) {
  memset(e, 0, sizeof *e);
  dc_get_u64(r, &e->id);
  msg_get_addr(r, &e->addr);
  dc_get_u32(r, &e->incarnation);
  dc_get_u8(r, &e->state);
  dc_get_u16(r, &e->tags_len);
  if (!r->err && (e->state > DC_GOSSIP_LEFT || e->id == 0 ||
                  e->tags_len > DC_GOSSIP_TAGS_MAX || dc_reader_left(r) < e->tags_len))
    r->err = DC_EPROTO;
  if (r->err) return DC_EPROTO;
  e->tags = r->p + r->off;
  r->off += e->tags_len;
  return DC_OK;
}
