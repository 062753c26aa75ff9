/* Row-wise and elementwise kernels. Each one is a function over a range of rows (or elements) that run()
 * spreads across the pool once the tensor is big enough to pay for waking threads. Reductions accumulate
 * in double, in 8 independent lanes so the compiler can vectorise them without reassociating. exp goes
 * through ft_expf, a branch-free expf that vectorises (libm's expf is a call per element, 4-8x slower);
 * binding.gyp's -fno-trapping-math lets gcc turn its clamps into vector min/max. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

/* sum of (x[j] - mean)^2 */
INLINE double squared_deviations(const float *x, size_t n, double mean) {
  double lane[LANES] = {0};
  size_t j = 0;
  for (; j + LANES <= n; j += LANES)
    for (int l = 0; l < LANES; l++) lane[l] += (x[j + l] - mean) * (x[j + l] - mean);
  double s = 0.0;
  for (; j < n; j++) s += (x[j] - mean) * (x[j] - mean);
  for (int l = 0; l < LANES; l++) s += lane[l];
  return s;
}

/* sum of exp(x[j] - shift) */
INLINE double sum_exp(const float *x, size_t n, float shift) {
  double lane[LANES] = {0};
  size_t j = 0;
  for (; j + LANES <= n; j += LANES)
    for (int l = 0; l < LANES; l++) lane[l] += ft_expf(x[j + l] - shift);
  double s = 0.0;
  for (; j < n; j++) s += ft_expf(x[j] - shift);
  for (int l = 0; l < LANES; l++) s += lane[l];
  return s;
}

/* ---- softmax ---- */

typedef struct {
  const float *x, *dy;
  float *y;
  size_t cols;
} softmax_args;

FT_CLONES static void softmax_fwd_rows(const void *args, size_t begin, size_t end, int part) {
  const softmax_args *s = args;
  for (size_t r = begin; r < end; r++) {
    const float *x = s->x + r * s->cols;
    float *y = s->y + r * s->cols;
    const float mx = row_max(x, s->cols);
    for (size_t j = 0; j < s->cols; j++) y[j] = ft_expf(x[j] - mx);
    const float inv = (float)(1.0 / dot(y, NULL, s->cols));
    for (size_t j = 0; j < s->cols; j++) y[j] *= inv;
  }
}

void ft_softmax_forward(const float *x, float *y, size_t rows, size_t cols) {
  softmax_args s = {x, NULL, y, cols};
  run_rows(softmax_fwd_rows, &s, rows, cols);
}

/* x holds y here, y holds dx. */
FT_CLONES static void softmax_bwd_rows(const void *args, size_t begin, size_t end, int part) {
  const softmax_args *s = args;
  for (size_t r = begin; r < end; r++) {
    const float *y = s->x + r * s->cols, *dy = s->dy + r * s->cols;
    float *dx = s->y + r * s->cols;
    const float d = (float)dot(dy, y, s->cols);
    for (size_t j = 0; j < s->cols; j++) dx[j] = y[j] * (dy[j] - d);
  }
}

void ft_softmax_backward(const float *y, const float *dy, float *dx, size_t rows, size_t cols) {
  softmax_args s = {y, dy, dx, cols};
  run_rows(softmax_bwd_rows, &s, rows, cols);
}

/* ---- layer norm ---- */

typedef struct {
  const float *x, *x2, *w, *b, *dy, *mean, *rstd; /* x2: added to x first (a residual), when non-null */
  float *y, *sum, *out_mean, *out_rstd, *dx;      /* sum: where x + x2 is kept for backward, or null */
  double *partials; /* backward: per part, cols sums for dw then cols for db */
  size_t cols;
  float eps;
} layernorm_args;

FT_CLONES static void layernorm_fwd_rows(const void *args, size_t begin, size_t end, int part) {
  const layernorm_args *l = args;
  const size_t cols = l->cols;
  for (size_t r = begin; r < end; r++) {
    const float *x = l->x + r * cols;
    float *y = l->y + r * cols;
    if (l->x2) { /* the sum goes where it is kept, else into y's row, normalised in place while in L1 */
      const float *x2 = l->x2 + r * cols;
      float *s = l->sum ? l->sum + r * cols : y;
      for (size_t j = 0; j < cols; j++) s[j] = x[j] + x2[j];
      x = s;
    }
    const double mean = dot(x, NULL, cols) / (double)cols;
    const double var = squared_deviations(x, cols, mean) / (double)cols;
    const float mu = (float)mean, rs = (float)(1.0 / sqrt(var + l->eps));
    for (size_t j = 0; j < cols; j++) {
      float v = (x[j] - mu) * rs;
      if (l->w) v *= l->w[j];
      if (l->b) v += l->b[j];
      y[j] = v;
    }
    l->out_mean[r] = mu;
    l->out_rstd[r] = rs;
  }
}

void ft_layernorm_forward(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                          size_t rows, size_t cols, float eps) {
  layernorm_args l = {.x = x, .w = w, .b = b, .y = y, .out_mean = mean, .out_rstd = rstd, .cols = cols, .eps = eps};
  run_rows(layernorm_fwd_rows, &l, rows, cols);
}

void ft_add_layernorm_forward(const float *x, const float *x2, const float *w, const float *b, float *y, float *sum,
                              float *mean, float *rstd, size_t rows, size_t cols, float eps) {
  layernorm_args l = {.x = x, .x2 = x2, .w = w, .b = b, .y = y, .sum = sum, .out_mean = mean, .out_rstd = rstd,
                      .cols = cols, .eps = eps};
  run_rows(layernorm_fwd_rows, &l, rows, cols);
}

/* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * w. The first pass also accumulates the
 * parameter gradients, so dx may alias dy. */
FT_CLONES static void layernorm_bwd_rows(const void *args, size_t begin, size_t end, int part) {
  const layernorm_args *l = args;
  const size_t cols = l->cols;
  double *dw = l->partials + (size_t)part * 2 * cols, *db = dw + cols;
  for (size_t r = begin; r < end; r++) {
    const float *x = l->x + r * cols, *dy = l->dy + r * cols;
    const float mu = l->mean[r], rs = l->rstd[r];
    double sum_g = 0.0, sum_gx = 0.0;
    for (size_t j = 0; j < cols; j++) {
      const float xhat = (x[j] - mu) * rs, g = l->w ? dy[j] * l->w[j] : dy[j];
      sum_g += g;
      sum_gx += (double)g * xhat;
      dw[j] += (double)dy[j] * xhat;
      db[j] += dy[j];
    }
    if (!l->dx) continue;
    float *dx = l->dx + r * cols;
    const float mg = (float)(sum_g / (double)cols), mgx = (float)(sum_gx / (double)cols);
    for (size_t j = 0; j < cols; j++) {
      const float xhat = (x[j] - mu) * rs, g = l->w ? dy[j] * l->w[j] : dy[j];
      dx[j] = rs * (g - mg - xhat * mgx);
    }
  }
}

void ft_layernorm_backward(const float *dy, const float *x, const float *w, const float *mean, const float *rstd,
                           float *dx, float *dw, float *db, size_t rows, size_t cols) {
  const int parts = parts_for(rows * cols, rows);
  double *partials = calloc((size_t)parts * 2 * cols + 1, sizeof(double));
  if (!partials) abort();
  layernorm_args l = {.x = x, .w = w, .dy = dy, .mean = mean, .rstd = rstd, .dx = dx, .partials = partials,
                      .cols = cols};
  run(layernorm_bwd_rows, &l, rows, 1, parts);
  for (size_t j = 0; j < cols; j++) {
    double sw = 0.0, sb = 0.0;
    for (int p = 0; p < parts; p++) {
      sw += partials[(size_t)p * 2 * cols + j];
      sb += partials[(size_t)p * 2 * cols + cols + j];
    }
    if (dw) dw[j] += (float)sw;
    if (db) db[j] += (float)sb;
  }
  free(partials);
}

/* ---- strided copy (permute) ---- */

typedef struct {
  const float *src;
  float *dst;
  const int32_t *shape, *strides;
  int nd;
  size_t inner;
} strided_args;

/* One row of dst (its innermost axis) per index: the row's source offset from its index, then one copy. */
static void strided_rows(const void *args, size_t begin, size_t end, int part) {
  const strided_args *a = args;
  const int32_t inner_stride = a->strides[a->nd - 1];
  for (size_t row = begin; row < end; row++) {
    size_t rest = row, off = 0;
    for (int d = a->nd - 2; d >= 0; d--) {
      off += (rest % (size_t)a->shape[d]) * (size_t)a->strides[d];
      rest /= (size_t)a->shape[d];
    }
    const float *s = a->src + off;
    float *o = a->dst + row * a->inner;
    if (inner_stride == 1) memcpy(o, s, a->inner * sizeof(float));
    else for (size_t j = 0; j < a->inner; j++) o[j] = s[j * (size_t)inner_stride];
  }
}

void ft_strided_copy(const float *src, float *dst, const int32_t *shape, const int32_t *strides, int nd) {
  size_t rows = 1;
  for (int d = 0; d < nd - 1; d++) rows *= (size_t)shape[d];
  if (nd == 0 || shape[nd - 1] == 0 || rows == 0) {
    if (nd == 0) dst[0] = src[0];
    return;
  }
  strided_args a = {src, dst, shape, strides, nd, (size_t)shape[nd - 1]};
  run_rows(strided_rows, &a, rows, a.inner);
}

/* ---- RMSNorm ---- */

/* RMSNorm takes layer norm's arguments, without the mean, the bias and the residual. */
FT_CLONES static void rmsnorm_fwd_rows(const void *args, size_t begin, size_t end, int part) {
  const layernorm_args *l = args;
  const size_t cols = l->cols;
  for (size_t r = begin; r < end; r++) {
    const float *x = l->x + r * cols;
    float *y = l->y + r * cols;
    const float rs = (float)(1.0 / sqrt(dot(x, x, cols) / (double)cols + l->eps));
    for (size_t j = 0; j < cols; j++) y[j] = l->w ? x[j] * rs * l->w[j] : x[j] * rs;
    l->out_rstd[r] = rs;
  }
}

void ft_rmsnorm_forward(const float *x, const float *w, float *y, float *rstd, size_t rows, size_t cols, float eps) {
  layernorm_args l = {.x = x, .w = w, .y = y, .out_rstd = rstd, .cols = cols, .eps = eps};
  run_rows(rmsnorm_fwd_rows, &l, rows, cols);
}

/* dx = rstd * g - x * rstd^3 * mean(g * x) with g = dy * w; the first pass also accumulates dw, and the second
 * reads dy[j] before writing dx[j], so dx may alias dy. */
FT_CLONES static void rmsnorm_bwd_rows(const void *args, size_t begin, size_t end, int part) {
  const layernorm_args *l = args;
  const size_t cols = l->cols;
  double *dw = l->partials ? l->partials + (size_t)part * cols : NULL; /* per part, cols sums for dw */
  for (size_t r = begin; r < end; r++) {
    const float *x = l->x + r * cols, *dy = l->dy + r * cols;
    const float rs = l->rstd[r];
    double sum_gx = 0.0;
    for (size_t j = 0; j < cols; j++) {
      const float g = l->w ? dy[j] * l->w[j] : dy[j];
      sum_gx += (double)g * x[j];
      if (dw) dw[j] += (double)dy[j] * x[j] * rs;
    }
    if (!l->dx) continue;
    float *dx = l->dx + r * cols;
    const float c = (float)(sum_gx * rs * rs * rs / (double)cols);
    for (size_t j = 0; j < cols; j++) dx[j] = (l->w ? dy[j] * l->w[j] : dy[j]) * rs - x[j] * c;
  }
}

void ft_rmsnorm_backward(const float *dy, const float *x, const float *w, const float *rstd, float *dx, float *dw,
                         size_t rows, size_t cols) {
  const int parts = parts_for(rows * cols, rows);
  double *partials = dw ? calloc((size_t)parts * cols + 1, sizeof(double)) : NULL;
  if (dw && !partials) abort();
  layernorm_args l = {.x = x, .w = w, .dy = dy, .rstd = rstd, .dx = dx, .partials = partials, .cols = cols};
  run(rmsnorm_bwd_rows, &l, rows, 1, parts);
  if (!dw) return;
  for (size_t j = 0; j < cols; j++) {
    double s = 0.0;
    for (int p = 0; p < parts; p++) s += partials[(size_t)p * cols + j];
    dw[j] += (float)s;
  }
  free(partials);
}

/* ---- GELU ---- */

typedef struct {
  const float *x, *dy;
  float *out;
  float *pre;        /* bias form: x + bias is written here (the pre-activation), gelu of it to out */
  const float *bias; /* [cols], added to every row */
  size_t cols;
} gelu_args;

#define SQRT_2_OVER_PI 0.7978845608028654f
#define INV_SQRT_2PI 0.3989422804014327f
#define GELU_C 0.044715f

/* exp(p - x^2 / 2) in float arithmetic alone: x^2 = h + l exactly (Veltkamp's split) and p - h / 2 = s + e
 * exactly (Knuth's 2Sum), then exp(s) (1 + e - l / 2). Rounding the exponent to float instead would cost
 * 1e-5 relative in the tail (x^2 / 2 = 72 at |x| = 12); doing it in double (as this did before) kept the
 * vectors half as wide and the whole GELU 1.4x slower. Past |x| = 20 the result underflows to 0 either way,
 * and the clamp keeps the split finite for infinite x. */
INLINE float exp_minus_half_square(float p, float x) {
  const float ax = fabsf(x) < 20.0f ? fabsf(x) : 20.0f;
  const float big = ax * 4097.0f, hi = big - (big - ax), lo = ax - hi;
  const float h = ax * ax, l = ((hi * hi - h) + 2.0f * hi * lo) + lo * lo;
  const float b = -0.5f * h, s = p + b, bv = s - p, e = (p - (s - bv)) + (b - bv);
  return ft_expf(s) * (1.0f + (e - 0.5f * l));
}

/* erfc(|x| / sqrt2) by Numerical Recipes' Chebyshev fit (relative error < 1.2e-7 on all of [0, inf)).
 * Overall within 5e-7 relative of the double-precision gelu on [-12, 12], where libm's erfc is 10x slower. */
INLINE float erfc_abs(float x) {
  const float t = 1.0f / (1.0f + 0.5f * 0.70710678f * fabsf(x));
  float p = 0.17087277f;
  p = p * t - 0.82215223f;
  p = p * t + 1.48851587f;
  p = p * t - 1.13520398f;
  p = p * t + 0.27886807f;
  p = p * t - 0.18628806f;
  p = p * t + 0.09678418f;
  p = p * t + 0.37409196f;
  p = p * t + 1.00002368f;
  p = p * t - 1.26551223f;
  return t * exp_minus_half_square(p, x);
}

/* 1 + erf(x / sqrt2) == erfc(-x / sqrt2), which keeps its relative accuracy where 1 + erf cancels. */
INLINE float two_cdf(float x) {
  const float c = erfc_abs(x);
  return x < 0.0f ? c : 2.0f - c;
}

INLINE float gelu_erf(float x) { return 0.5f * x * two_cdf(x); }

FT_CLONES static void gelu_erf_fwd(const void *args, size_t begin, size_t end, int part) {
  const gelu_args *a = args;
  for (size_t i = begin; i < end; i++) a->out[i] = gelu_erf(a->x[i]);
}

FT_CLONES static void gelu_erf_bwd(const void *args, size_t begin, size_t end, int part) {
  const gelu_args *a = args;
  for (size_t i = begin; i < end; i++) {
    const float x = a->x[i], pdf = INV_SQRT_2PI * exp_minus_half_square(0.0f, x);
    a->out[i] = a->dy[i] * (0.5f * two_cdf(x) + x * pdf);
  }
}

/* Tanh form as x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3): the same function as
 * 0.5 x (1 + tanh u) without the cancellation in 1 + tanh u. With e = exp(-2|u|) <= 1 (so ft_expf never
 * overflows), sigmoid(2u) is 1 / (1 + e) for u >= 0 and e / (1 + e) below. */
INLINE float gelu_tanh(float x) {
  const float u = SQRT_2_OVER_PI * (x + GELU_C * x * x * x);
  const float e = ft_expf(-2.0f * fabsf(u)), q = 1.0f / (1.0f + e);
  return x * (u >= 0.0f ? q : e * q);
}

FT_CLONES static void gelu_tanh_fwd(const void *args, size_t begin, size_t end, int part) {
  const gelu_args *a = args;
  for (size_t i = begin; i < end; i++) a->out[i] = gelu_tanh(a->x[i]);
}

/* d/dx = s + 2 x s (1 - s) u' with s = sigmoid(2u), where s (1 - s) = e / (1 + e)^2 for either sign. */
FT_CLONES static void gelu_tanh_bwd(const void *args, size_t begin, size_t end, int part) {
  const gelu_args *a = args;
  for (size_t i = begin; i < end; i++) {
    const float x = a->x[i], u = SQRT_2_OVER_PI * (x + GELU_C * x * x * x);
    const float e = ft_expf(-2.0f * fabsf(u)), q = 1.0f / (1.0f + e);
    const float du = SQRT_2_OVER_PI * (1.0f + 3.0f * GELU_C * x * x);
    a->out[i] = a->dy[i] * ((u >= 0.0f ? q : e * q) + 2.0f * x * (e * q * q) * du);
  }
}

/* A linear layer's bias and its GELU in one pass over the product (rows begin..end). */
INLINE void bias_gelu_rows(const gelu_args *a, size_t begin, size_t end, const bool approximate) {
  const size_t cols = a->cols;
  const float *restrict bias = a->bias;
  for (size_t r = begin; r < end; r++) {
    if (a->pre == a->out) { /* in place: one store per element, so the loop vectorises without alias checks */
      float *restrict y = a->out + r * cols;
      for (size_t j = 0; j < cols; j++) y[j] = approximate ? gelu_tanh(y[j] + bias[j]) : gelu_erf(y[j] + bias[j]);
      continue;
    }
    float *restrict pre = a->pre + r * cols, *restrict y = a->out + r * cols;
    for (size_t j = 0; j < cols; j++) {
      const float x = pre[j] + bias[j];
      pre[j] = x;
      y[j] = approximate ? gelu_tanh(x) : gelu_erf(x);
    }
  }
}
FT_CLONES static void bias_gelu_erf(const void *args, size_t begin, size_t end, int part) { bias_gelu_rows(args, begin, end, false); }
FT_CLONES static void bias_gelu_tanh(const void *args, size_t begin, size_t end, int part) { bias_gelu_rows(args, begin, end, true); }

void ft_bias_gelu_forward(float *x, const float *bias, float *y, size_t rows, size_t cols, bool approximate) {
  gelu_args a = {.pre = x, .bias = bias, .out = y, .cols = cols};
  run_rows(approximate ? bias_gelu_tanh : bias_gelu_erf, &a, rows, cols);
}

void ft_gelu_forward(const float *x, float *y, size_t n, bool approximate) {
  gelu_args a = {.x = x, .out = y};
  run_elements(approximate ? gelu_tanh_fwd : gelu_erf_fwd, &a, n);
}

void ft_gelu_backward(const float *x, const float *dy, float *dx, size_t n, bool approximate) {
  gelu_args a = {.x = x, .dy = dy, .out = dx};
  run_elements(approximate ? gelu_tanh_bwd : gelu_erf_bwd, &a, n);
}

/* ---- RoPE ---- */

typedef struct {
  const float *x, *cos, *sin;
  float *y;
  size_t heads, len, head_dim, rotary_dim, table_rows;
  double sign;
} rope_args;

/* One row per (batch, head, position). In double, as the TypeScript reference computes: both products are exact
 * there, so the one rounding of their difference gives the same float on both backends. */
FT_CLONES static void rope_rows(const void *args, size_t begin, size_t end, int part) {
  const rope_args *a = args;
  const size_t half = a->rotary_dim / 2, hd = a->head_dim;
  const double sign = a->sign;
  for (size_t r = begin; r < end; r++) {
    const size_t b = r / (a->heads * a->len), p = r % a->len;
    const size_t t = ((a->table_rows == 1 ? 0 : b) * a->len + p) * a->rotary_dim;
    const float *restrict x = a->x + r * hd, *restrict c = a->cos + t, *restrict s = a->sin + t;
    float *restrict y = a->y + r * hd;
    for (size_t i = 0; i < half; i++) {
      const double x1 = x[i], x2 = x[i + half];
      y[i] = (float)(x1 * c[i] - sign * x2 * s[i]);
      y[i + half] = (float)(x2 * c[i + half] + sign * x1 * s[i + half]);
    }
    for (size_t i = a->rotary_dim; i < hd; i++) y[i] = x[i];
  }
}

void ft_rope(const float *x, float *y, const float *cos, const float *sin, size_t batch, size_t heads, size_t len,
             size_t head_dim, size_t rotary_dim, size_t table_rows, int sign) {
  rope_args a = {x, cos, sin, y, heads, len, head_dim, rotary_dim, table_rows, sign};
  run_rows(rope_rows, &a, batch * heads * len, head_dim);
}

/* ---- SiLU ---- */

/* x * sigmoid(x) with e = exp(-|x|) <= 1, so ft_expf never overflows: sigmoid(x) is q = 1 / (1 + e) for
 * x >= 0 and e q below. */
FT_CLONES static void silu_fwd(const void *args, size_t begin, size_t end, int part) {
  const gelu_args *a = args;
  for (size_t i = begin; i < end; i++) {
    const float x = a->x[i], e = ft_expf(-fabsf(x)), q = 1.0f / (1.0f + e);
    a->out[i] = x * (x >= 0.0f ? q : e * q);
  }
}

/* d/dx = s + x s (1 - s) with s = sigmoid(x), where s (1 - s) = e q^2 for either sign. */
FT_CLONES static void silu_bwd(const void *args, size_t begin, size_t end, int part) {
  const gelu_args *a = args;
  for (size_t i = begin; i < end; i++) {
    const float x = a->x[i], e = ft_expf(-fabsf(x)), q = 1.0f / (1.0f + e);
    a->out[i] = a->dy[i] * ((x >= 0.0f ? q : e * q) + x * (e * q * q));
  }
}

void ft_silu_forward(const float *x, float *y, size_t n) {
  gelu_args a = {.x = x, .out = y};
  run_elements(silu_fwd, &a, n);
}

void ft_silu_backward(const float *x, const float *dy, float *dx, size_t n) {
  gelu_args a = {.x = x, .dy = dy, .out = dx};
  run_elements(silu_bwd, &a, n);
}

/* ---- AdamW ---- */

typedef struct {
  float *p, *m, *v;
  const float *g;
  float decay, lerp_weight, beta2, one_minus_beta2, step_size, bias_correction2_sqrt, eps;
} adamw_args;

/* torch.optim.AdamW's single-tensor path, one statement per torch op, in float32 with float32 scalars.
 * Not cloned for AVX2: FMA contraction would skip roundings torch does, and the kernel is memory-bound. */
static void adamw_range(const void *args, size_t begin, size_t end, int part) {
  const adamw_args *a = args;
  const float w = a->lerp_weight;
  for (size_t i = begin; i < end; i++) {
    const float g = a->g[i], m0 = a->m[i];
    const float p = a->p[i] * a->decay;                                  /* param.mul_(1 - lr * wd) */
    const float m = w < 0.5f ? m0 + w * (g - m0) : g - (g - m0) * (1.0f - w); /* exp_avg.lerp_(grad, 1 - b1) */
    const float v0 = a->v[i] * a->beta2;                                 /* exp_avg_sq.mul_(b2) */
    const float v = v0 + a->one_minus_beta2 * g * g;                     /* .addcmul_(grad, grad, 1 - b2) */
    const float denom = sqrtf(v) / a->bias_correction2_sqrt + a->eps;    /* (v.sqrt() / bc2_sqrt).add_(eps) */
    a->p[i] = p + -a->step_size * m / denom;                             /* param.addcdiv_(m, denom, -step) */
    a->m[i] = m;
    a->v[i] = v;
  }
}

void ft_adamw_step(float *p, const float *g, float *m, float *v, size_t n, double lr, double beta1, double beta2,
                   double eps, double weight_decay, double step) {
  const double bias_correction1 = 1.0 - pow(beta1, step), bias_correction2 = 1.0 - pow(beta2, step);
  adamw_args a = {p, m, v, g, (float)(1.0 - lr * weight_decay), (float)(1.0 - beta1), (float)beta2,
                  (float)(1.0 - beta2), (float)(lr / bias_correction1), (float)sqrt(bias_correction2), (float)eps};
  run_elements(adamw_range, &a, n);
}

/* ---- cross-entropy ---- */

typedef struct {
  const float *x, *lse_in, *scale;
  const int32_t *t;
  float *losses, *lse, *dx;
  size_t cols;
  int32_t ignore;
} xent_args;

FT_CLONES static void xent_fwd_rows(const void *args, size_t begin, size_t end, int part) {
  const xent_args *a = args;
  for (size_t r = begin; r < end; r++) {
    const float *x = a->x + r * a->cols;
    const float mx = row_max(x, a->cols);
    const double lse = mx + log(sum_exp(x, a->cols, mx));
    const int32_t t = a->t[r];
    a->lse[r] = (float)lse;
    a->losses[r] = t == a->ignore ? 0.0f : (float)(lse - x[t]);
  }
}

void ft_cross_entropy_forward(const float *logits, const int32_t *targets, size_t rows, size_t cols,
                              int32_t ignore_index, float *losses, float *lse) {
  xent_args a = {.x = logits, .t = targets, .losses = losses, .lse = lse, .cols = cols, .ignore = ignore_index};
  run_rows(xent_fwd_rows, &a, rows, cols);
}

FT_CLONES static void xent_bwd_rows(const void *args, size_t begin, size_t end, int part) {
  const xent_args *a = args;
  for (size_t r = begin; r < end; r++) {
    const float *x = a->x + r * a->cols;
    float *dx = a->dx + r * a->cols;
    const int32_t t = a->t[r];
    if (t == a->ignore) {
      for (size_t j = 0; j < a->cols; j++) dx[j] = 0.0f;
      continue;
    }
    const float s = a->scale[r], lse = a->lse_in[r], xt = x[t]; /* read before dx may overwrite x */
    for (size_t j = 0; j < a->cols; j++) dx[j] = s * ft_expf(x[j] - lse);
    dx[t] = s * (ft_expf(xt - lse) - 1.0f);
  }
}

void ft_cross_entropy_backward(const float *logits, const int32_t *targets, const float *lse, const float *scale,
                               size_t rows, size_t cols, int32_t ignore_index, float *dlogits) {
  xent_args a = {.x = logits, .lse_in = lse, .scale = scale, .t = targets, .dx = dlogits, .cols = cols,
                 .ignore = ignore_index};
  run_rows(xent_bwd_rows, &a, rows, cols);
}
