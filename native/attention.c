/* Fused multi-head attention, one (batch, head) pair at a time across the pool:
 *   forward   P = softmax(scale * Q Kᵀ + mask), O = dropout(P) V
 *   backward  dV = dropout(P)ᵀ dO, dS = P ⊙ (dP - rowsum(dP ⊙ P)) with dP = dropout(dO Vᵀ),
 *             dQ = scale * dS K, dK = scale * dSᵀ Q
 * Q, K, V and O are read and written in place in either layout the models use, [batch, seq, heads, dim]
 * (straight out of the projections) or [batch, heads, seq, dim], so no permute copies exist. Only P is
 * kept for backward ([batch, heads, queries, keys]); the dropout mask is recomputed from its seed. The
 * small products go through the builtin single-threaded GEMM, since a BLAS library's threads would fight
 * the pool's. */
#include <stdlib.h>

#include "kernel.h"

/* Where head h of batch b starts, and the distance between its rows. */
static size_t head_offset(const ft_attention_args *a, size_t b, size_t h, size_t len) {
  return a->heads_inner ? (b * len * a->heads + h) * a->dim : (b * a->heads + h) * len * a->dim;
}
static int row_stride(const ft_attention_args *a) { return a->heads_inner ? a->heads * a->dim : a->dim; }

static float *scratch(size_t n) {
  float *p = malloc(n * sizeof(float));
  if (!p) abort(); /* as gemm_fallback.c: no way to report running out of memory mid-kernel */
  return p;
}

/* y = x * (keep ? scale : 0) over one row of P, the row's elements numbered from `index`. */
FT_CLONES static void drop_row(const ft_attention_args *a, const float *x, float *y, size_t n, uint32_t index) {
  const uint32_t seed0 = a->seed0, seed1 = a->seed1, threshold = a->threshold;
  const float scale = a->keep_scale;
  for (size_t j = 0; j < n; j++) y[j] = x[j] * (ft_keep(index + (uint32_t)j, seed0, seed1, threshold) ? scale : 0.0f);
}

/* Adds the mask row, then softmax in place, as ft_softmax_forward does. */
FT_CLONES static void softmax_row(float *s, const float *mask, size_t n) {
  if (mask)
    for (size_t j = 0; j < n; j++) s[j] += mask[j];
  const float mx = row_max(s, n);
  for (size_t j = 0; j < n; j++) s[j] = ft_expf(s[j] - mx);
  const float inv = (float)(1.0 / dot(s, NULL, n));
  for (size_t j = 0; j < n; j++) s[j] *= inv;
}

/* ds = p * (dp - sum(dp * p)), in place over dp. */
FT_CLONES static void softmax_grad_row(const float *p, float *dp, size_t n) {
  const float d = (float)dot(dp, p, n);
  for (size_t j = 0; j < n; j++) dp[j] = p[j] * (dp[j] - d);
}

/* Up to this many query rows (a generation step: one per sequence) take the direct form below instead of the
 * GEMM, which would copy this head's K and V into packed panels to multiply them by a row or two. */
#define FEW_QUERIES 4

/* s = scale * q Kᵀ for one query row, K's rows `rk` floats apart. */
FT_CLONES static void scores_row(const float *q, const float *k, int rk, size_t lk, int dim, float scale, float *s) {
  for (size_t j = 0; j < lk; j++) {
    const float *kj = k + j * (size_t)rk;
    float lane[LANES] = {0}, t = 0.0f;
    int d = 0;
    for (; d + LANES <= dim; d += LANES)
      for (int l = 0; l < LANES; l++) lane[l] += q[d + l] * kj[d + l];
    for (; d < dim; d++) t += q[d] * kj[d];
    for (int l = 0; l < LANES; l++) t += lane[l];
    s[j] = scale * t;
  }
}

/* o = p V for one row of probabilities, V's rows `rv` floats apart. */
FT_CLONES static void weighted_row(const float *p, const float *v, int rv, size_t lk, int dim, float *restrict o) {
  for (int d = 0; d < dim; d++) o[d] = 0.0f;
  for (size_t j = 0; j < lk; j++) {
    const float pj = p[j], *vj = v + j * (size_t)rv;
    for (int d = 0; d < dim; d++) o[d] += pj * vj[d];
  }
}

/* Query rows per block: with no probs to keep (inference), scores exist for one block at a time, so long
 * sequences never hold a queries x keys matrix per head. */
#define QUERY_BLOCK 128

static void forward_part(void *ctx, int part, int nparts) {
  const ft_attention_args *a = ctx;
  const size_t lq = (size_t)a->queries, lk = (size_t)a->keys;
  const int rq = row_stride(a), rk = rq;
  size_t begin, end;
  ft_split((size_t)a->batch * a->heads, 1, part, nparts, &begin, &end);
  const size_t block = a->probs || lq < QUERY_BLOCK ? lq : QUERY_BLOCK;
  float *scores = !a->probs && end > begin ? scratch(block * lk) : NULL;
  float *dropped = a->dropout && end > begin ? scratch(block * lk) : NULL;
  for (size_t bh = begin; bh < end; bh++) {
    const size_t b = bh / a->heads, h = bh % a->heads;
    const size_t kv = head_offset(a, b, h, (size_t)a->kv_rows);
    const float *q = a->q + head_offset(a, b, h, lq), *k = a->k + kv, *v = a->v + kv;
    float *o = a->out + head_offset(a, b, h, lq);
    for (size_t i0 = 0; i0 < lq; i0 += block) {
      const int rows = (int)(lq - i0 < block ? lq - i0 : block);
      float *p = scores ? scores : a->probs + (bh * lq + i0) * lk;
      const bool direct = rows <= FEW_QUERIES && !dropped;
      if (!direct)
        ft_builtin_sgemm(false, true, rows, a->keys, a->dim, a->scale, q + i0 * rq, rq, k, rk, 0.0f, p, a->keys);
      for (size_t r = 0; r < (size_t)rows; r++) {
        const size_t i = i0 + r;
        const float *m = a->mask ? a->mask + (b * a->mask_rows + (a->mask_rows == 1 ? 0 : i)) * lk : NULL;
        if (direct) scores_row(q + i * rq, k, rk, lk, a->dim, a->scale, p + r * lk);
        softmax_row(p + r * lk, m, lk);
        if (direct) weighted_row(p + r * lk, v, rk, lk, a->dim, o + i * rq);
        if (dropped) drop_row(a, p + r * lk, dropped + r * lk, lk, (uint32_t)((bh * lq + i) * lk));
      }
      if (!direct)
        ft_builtin_sgemm(false, false, rows, a->dim, a->keys, 1.0f, dropped ? dropped : p, a->keys, v, rk, 0.0f,
                         o + i0 * rq, rq);
    }
  }
  free(scores);
  free(dropped);
}

/* One part per (batch, head) pair up to the thread count, but no more parts than 2 MFLOP each pays for (as
 * gemm.c): a generation step's attention (one query) is far cheaper than waking a worker. */
static int parts(const ft_attention_args *a) {
  const double flops = 4.0 * a->batch * a->heads * a->queries * a->keys * a->dim;
  int n = ft_threads();
  if (n > a->batch * a->heads) n = a->batch * a->heads;
  if (n > flops / 2e6) n = (int)(flops / 2e6);
  return n < 1 ? 1 : n;
}

void ft_attention_forward(const ft_attention_args *a) { ft_parallel(forward_part, (void *)a, parts(a)); }

static void backward_part(void *ctx, int part, int nparts) {
  const ft_attention_args *a = ctx;
  const size_t lq = (size_t)a->queries, lk = (size_t)a->keys;
  const int rq = row_stride(a), rk = rq;
  size_t begin, end;
  ft_split((size_t)a->batch * a->heads, 1, part, nparts, &begin, &end);
  if (end <= begin) return;
  float *dp = scratch(lq * lk), *dropped = a->dropout && a->dv ? scratch(lq * lk) : NULL;
  for (size_t bh = begin; bh < end; bh++) {
    const size_t b = bh / a->heads, h = bh % a->heads, oq = head_offset(a, b, h, lq), ok = head_offset(a, b, h, lk);
    const float *p = a->probs + bh * lq * lk, *dout = a->dout + oq;
    const uint32_t index = (uint32_t)(bh * lq * lk);
    if (a->dv) {
      if (dropped)
        for (size_t i = 0; i < lq; i++) drop_row(a, p + i * lk, dropped + i * lk, lk, index + (uint32_t)(i * lk));
      ft_builtin_sgemm(true, false, a->keys, a->dim, a->queries, 1.0f, dropped ? dropped : p, a->keys, dout, rq, 0.0f,
                       a->dv + ok, rk);
    }
    if (!a->dq && !a->dk) continue;
    ft_builtin_sgemm(false, true, a->queries, a->keys, a->dim, 1.0f, dout, rq, a->v + ok, rk, 0.0f, dp, a->keys);
    for (size_t i = 0; i < lq; i++) {
      if (a->dropout) drop_row(a, dp + i * lk, dp + i * lk, lk, index + (uint32_t)(i * lk));
      softmax_grad_row(p + i * lk, dp + i * lk, lk);
    }
    if (a->dq)
      ft_builtin_sgemm(false, false, a->queries, a->dim, a->keys, a->scale, dp, a->keys, a->k + ok, rk, 0.0f, a->dq + oq,
                       rq);
    if (a->dk)
      ft_builtin_sgemm(true, false, a->keys, a->dim, a->queries, a->scale, dp, a->keys, a->q + oq, rq, 0.0f, a->dk + ok,
                       rk);
  }
  free(dp);
  free(dropped);
}

void ft_attention_backward(const ft_attention_args *a) { ft_parallel(backward_part, (void *)a, parts(a)); }
