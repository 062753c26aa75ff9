/* N-API glue: unpacks arguments, checks every typed array against the extent the kernel will touch (a
 * wrong offset must throw, not scribble over the heap), and calls the kernel on the JS thread. */
#include <node_api.h>
#include <pthread.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"

#define MAX_ARGS 21
#define MAX_DIM 2147483647.0 /* CBLAS takes int */
#define MAX_INDEX 9007199254740991.0 /* Number.MAX_SAFE_INTEGER */

typedef struct {
  napi_env env;
  const char *fn;
  napi_value argv[MAX_ARGS];
  bool failed;
} call;

static void fail(call *c, bool type_error, const char *fmt, ...) {
  if (c->failed) return;
  c->failed = true;
  char msg[320];
  int len = snprintf(msg, sizeof msg, "native backend: %s: ", c->fn);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + len, sizeof msg - (size_t)len, fmt, ap);
  va_end(ap);
  if (type_error) napi_throw_type_error(c->env, NULL, msg);
  else napi_throw_range_error(c->env, NULL, msg);
}

static bool begin(napi_env env, napi_callback_info info, call *c, const char *fn, size_t expected) {
  size_t argc = MAX_ARGS;
  c->env = env;
  c->fn = fn;
  c->failed = false;
  if (napi_get_cb_info(env, info, &argc, c->argv, NULL, NULL) != napi_ok) return false;
  if (argc < expected) fail(c, true, "expected %zu arguments, got %zu", expected, argc);
  return !c->failed;
}

static double number(call *c, size_t i, const char *name) {
  double v = 0;
  if (!c->failed && napi_get_value_double(c->env, c->argv[i], &v) != napi_ok) fail(c, true, "%s must be a number", name);
  return v;
}

/* A non-negative integer no larger than max. */
static double count(call *c, size_t i, const char *name, double max) {
  double v = number(c, i, name);
  if (!c->failed && !(v >= 0 && v <= max && v == (double)(long long)v))
    fail(c, false, "%s must be an integer in [0, %.0f], got %g", name, max, v);
  return v;
}

static bool flag(call *c, size_t i) {
  napi_value b;
  bool v = false;
  if (!c->failed && napi_coerce_to_bool(c->env, c->argv[i], &b) == napi_ok) napi_get_value_bool(c->env, b, &v);
  return v;
}

static const char *array_kind(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint16_array: return "Uint16Array";
    default: return "another typed array";
  }
}

/* The data of argument i, which must be a typed array of `want` with at least `need` elements.
 * With `nullable`, null and undefined give NULL. */
static void *typed(call *c, size_t i, const char *name, napi_typedarray_type want, double need, bool nullable) {
  if (c->failed) return NULL;
  napi_valuetype vt;
  napi_typeof(c->env, c->argv[i], &vt);
  if (nullable && (vt == napi_null || vt == napi_undefined)) return NULL;
  bool is_typed = false;
  napi_is_typedarray(c->env, c->argv[i], &is_typed);
  napi_typedarray_type t = napi_int8_array;
  size_t length = 0;
  void *data = NULL;
  if (is_typed) napi_get_typedarray_info(c->env, c->argv[i], &t, &length, &data, NULL, NULL);
  if (!is_typed || t != want) {
    const char *got = is_typed ? array_kind(t) : "not a typed array";
    if (want == napi_float32_array)
      fail(c, true, "%s must be a Float32Array, got %s (float64 tensors run on the TypeScript backend)", name, got);
    else fail(c, true, "%s must be a %s, got %s", name, array_kind(want), got);
    return NULL;
  }
  if (need > (double)length) {
    fail(c, false, "%s has %zu elements, the kernel needs %.0f", name, length, need);
    return NULL;
  }
  return data;
}

static float *f32(call *c, size_t i, const char *name, double need) {
  return typed(c, i, name, napi_float32_array, need, false);
}
static float *f32_or_null(call *c, size_t i, const char *name, double need) {
  return typed(c, i, name, napi_float32_array, need, true);
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* gemm(transA, transB, m, n, k, alpha, a, aOffset, lda, b, bOffset, ldb, beta, c, cOffset, ldc,
 *      batch, strideA, strideB, strideC) */
typedef struct {
  const char *name, *offset_name, *ld_name, *stride_name;
  size_t arg, ld_arg, stride_arg; /* the offset follows the array */
} operand;
static const operand OPERAND_A = {"a", "aOffset", "lda", "strideA", 6, 8, 17};
static const operand OPERAND_B = {"b", "bOffset", "ldb", "strideB", 9, 11, 18};
static const operand OPERAND_C = {"c", "cOffset", "ldc", "strideC", 13, 15, 19};

/* The stored matrix (rows x cols, leading dimension ld) of an operand, checked for every batch item. */
static float *matrix(call *c, const operand *o, double rows, double cols, double batch, int *ld, size_t *stride) {
  const double off = count(c, o->arg + 1, o->offset_name, MAX_INDEX);
  const double ldv = count(c, o->ld_arg, o->ld_name, MAX_DIM);
  const double stridev = count(c, o->stride_arg, o->stride_name, MAX_INDEX);
  const double min_ld = cols > 1 ? cols : 1;
  if (!c->failed && ldv < min_ld)
    fail(c, false, "%s is stored %.0f x %.0f, so %s must be at least %.0f, got %.0f", o->name, rows, cols,
         o->ld_name, min_ld, ldv);
  const double need = rows == 0 || cols == 0 || batch == 0 ? 0 : off + (batch - 1) * stridev + (rows - 1) * ldv + cols;
  float *p = f32(c, o->arg, o->name, need);
  *ld = (int)ldv;
  *stride = (size_t)stridev;
  return p ? p + (size_t)off : NULL;
}

static bool gemm_args(call *c, ft_gemm_args *g) {
  g->transA = flag(c, 0);
  g->transB = flag(c, 1);
  const double m = count(c, 2, "m", MAX_DIM), n = count(c, 3, "n", MAX_DIM), k = count(c, 4, "k", MAX_DIM);
  g->alpha = (float)number(c, 5, "alpha");
  g->beta = (float)number(c, 12, "beta");
  const double batch = count(c, 16, "batch", MAX_DIM);
  g->a = matrix(c, &OPERAND_A, g->transA ? k : m, g->transA ? m : k, batch, &g->lda, &g->strideA);
  g->b = matrix(c, &OPERAND_B, g->transB ? n : k, g->transB ? k : n, batch, &g->ldb, &g->strideB);
  g->c = matrix(c, &OPERAND_C, m, n, batch, &g->ldc, &g->strideC);
  g->m = (int)m, g->n = (int)n, g->k = (int)k, g->batch = (int)batch;
  return !c->failed;
}

static napi_value js_gemm(napi_env env, napi_callback_info info) {
  call c;
  ft_gemm_args g;
  if (!begin(env, info, &c, "gemm", 20) || !gemm_args(&c, &g)) return NULL;
  ft_gemm(&g);
  return undefined(env);
}

/* gemmBf16(transW, m, wRows, wCols, alpha, a, aOffset, lda, w, beta, c, cOffset, ldc, bias): W is [wRows, wCols]
 * packed in bf16 (see ft_gemm_bf16); C = alpha * A W^T + bias + beta * C, or with transW alpha * A W + bias +
 * beta * C; bias (one value per column of C) may be null. */
static napi_value js_gemm_bf16(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "gemmBf16", 14)) return NULL;
  const bool trans = flag(&c, 0);
  const double m = count(&c, 1, "m", MAX_DIM), rows = count(&c, 2, "wRows", MAX_DIM), cols = count(&c, 3, "wCols", MAX_DIM);
  const float alpha = (float)number(&c, 4, "alpha"), beta = (float)number(&c, 9, "beta");
  const double in = trans ? rows : cols, out = trans ? cols : rows;
  const double aoff = count(&c, 6, "aOffset", MAX_INDEX), lda = count(&c, 7, "lda", MAX_DIM);
  const double coff = count(&c, 11, "cOffset", MAX_INDEX), ldc = count(&c, 12, "ldc", MAX_DIM);
  if (!c.failed && (lda < in || ldc < out))
    fail(&c, false, "lda must be at least %.0f and ldc at least %.0f, got %.0f and %.0f", in, out, lda, ldc);
  const bool empty = m == 0 || out == 0;
  const float *a = f32(&c, 5, "a", empty || in == 0 ? 0 : aoff + (m - 1) * lda + in);
  const uint16_t *w = typed(&c, 8, "w", napi_uint16_array, rows == 0 || cols == 0 ? 0 : (double)ft_bf16_packed_size((int)rows, (int)cols), false);
  float *out_c = f32(&c, 10, "c", empty ? 0 : coff + (m - 1) * ldc + out);
  const float *bias = f32_or_null(&c, 13, "bias", out);
  if (c.failed) return NULL;
  if (trans) ft_gemm_bf16_nt((int)m, (int)rows, (int)cols, alpha, a + (size_t)aoff, (int)lda, w, bias, beta, out_c + (size_t)coff, (int)ldc);
  else ft_gemm_bf16((int)m, (int)rows, (int)cols, alpha, a + (size_t)aoff, (int)lda, w, bias, beta, out_c + (size_t)coff, (int)ldc);
  return undefined(env);
}

/* Row kernels: (rows, cols) are validated first so the arrays can be checked against rows * cols. */
static napi_value js_softmax_forward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "softmaxForward", 4)) return NULL;
  double rows = count(&c, 2, "rows", MAX_INDEX), cols = count(&c, 3, "cols", MAX_INDEX);
  const float *x = f32(&c, 0, "x", rows * cols);
  float *y = f32(&c, 1, "y", rows * cols);
  if (c.failed) return NULL;
  ft_softmax_forward(x, y, (size_t)rows, (size_t)cols);
  return undefined(env);
}

static napi_value js_softmax_backward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "softmaxBackward", 5)) return NULL;
  double rows = count(&c, 3, "rows", MAX_INDEX), cols = count(&c, 4, "cols", MAX_INDEX);
  const float *y = f32(&c, 0, "y", rows * cols), *dy = f32(&c, 1, "dy", rows * cols);
  float *dx = f32(&c, 2, "dx", rows * cols);
  if (c.failed) return NULL;
  ft_softmax_backward(y, dy, dx, (size_t)rows, (size_t)cols);
  return undefined(env);
}

static napi_value js_layernorm_forward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "layerNormForward", 9)) return NULL;
  double rows = count(&c, 6, "rows", MAX_INDEX), cols = count(&c, 7, "cols", MAX_INDEX);
  float eps = (float)number(&c, 8, "eps");
  const float *x = f32(&c, 0, "x", rows * cols);
  const float *w = f32_or_null(&c, 1, "weight", cols), *b = f32_or_null(&c, 2, "bias", cols);
  float *y = f32(&c, 3, "y", rows * cols), *mean = f32(&c, 4, "mean", rows), *rstd = f32(&c, 5, "rstd", rows);
  if (c.failed) return NULL;
  ft_layernorm_forward(x, w, b, y, mean, rstd, (size_t)rows, (size_t)cols, eps);
  return undefined(env);
}

/* addLayerNormForward(a, b, weight, bias, y, sum, mean, rstd, rows, cols, eps); sum may be null. */
static napi_value js_add_layernorm_forward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "addLayerNormForward", 11)) return NULL;
  double rows = count(&c, 8, "rows", MAX_INDEX), cols = count(&c, 9, "cols", MAX_INDEX);
  float eps = (float)number(&c, 10, "eps");
  const float *a = f32(&c, 0, "a", rows * cols), *b = f32(&c, 1, "b", rows * cols);
  const float *w = f32_or_null(&c, 2, "weight", cols), *bias = f32_or_null(&c, 3, "bias", cols);
  float *y = f32(&c, 4, "y", rows * cols), *sum = f32_or_null(&c, 5, "sum", rows * cols);
  float *mean = f32(&c, 6, "mean", rows), *rstd = f32(&c, 7, "rstd", rows);
  if (c.failed) return NULL;
  ft_add_layernorm_forward(a, b, w, bias, y, sum, mean, rstd, (size_t)rows, (size_t)cols, eps);
  return undefined(env);
}

static napi_value js_layernorm_backward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "layerNormBackward", 10)) return NULL;
  double rows = count(&c, 8, "rows", MAX_INDEX), cols = count(&c, 9, "cols", MAX_INDEX);
  const float *dy = f32(&c, 0, "dy", rows * cols), *x = f32(&c, 1, "x", rows * cols);
  const float *w = f32_or_null(&c, 2, "weight", cols);
  const float *mean = f32(&c, 3, "mean", rows), *rstd = f32(&c, 4, "rstd", rows);
  float *dx = f32_or_null(&c, 5, "dx", rows * cols);
  float *dw = f32_or_null(&c, 6, "dWeight", cols), *db = f32_or_null(&c, 7, "dBias", cols);
  if (c.failed) return NULL;
  ft_layernorm_backward(dy, x, w, mean, rstd, dx, dw, db, (size_t)rows, (size_t)cols);
  return undefined(env);
}

static napi_value js_gelu_forward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "geluForward", 4)) return NULL;
  double n = count(&c, 2, "n", MAX_INDEX);
  const float *x = f32(&c, 0, "x", n);
  float *y = f32(&c, 1, "y", n);
  bool approximate = flag(&c, 3);
  if (c.failed) return NULL;
  ft_gelu_forward(x, y, (size_t)n, approximate);
  return undefined(env);
}

/* biasGeluForward(x, bias, y, rows, cols, approximate) */
static napi_value js_bias_gelu_forward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "biasGeluForward", 6)) return NULL;
  double rows = count(&c, 3, "rows", MAX_INDEX), cols = count(&c, 4, "cols", MAX_INDEX);
  float *x = f32(&c, 0, "x", rows * cols), *y = f32(&c, 2, "y", rows * cols);
  const float *bias = f32(&c, 1, "bias", cols);
  bool approximate = flag(&c, 5);
  if (c.failed) return NULL;
  ft_bias_gelu_forward(x, bias, y, (size_t)rows, (size_t)cols, approximate);
  return undefined(env);
}

static napi_value js_gelu_backward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "geluBackward", 5)) return NULL;
  double n = count(&c, 3, "n", MAX_INDEX);
  const float *x = f32(&c, 0, "x", n), *dy = f32(&c, 1, "dy", n);
  float *dx = f32(&c, 2, "dx", n);
  bool approximate = flag(&c, 4);
  if (c.failed) return NULL;
  ft_gelu_backward(x, dy, dx, (size_t)n, approximate);
  return undefined(env);
}

/* stridedCopy(src, dst, shape, strides, nd) */
static napi_value js_strided_copy(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "stridedCopy", 5)) return NULL;
  double nd = count(&c, 4, "nd", 16);
  const int32_t *shape = typed(&c, 2, "shape", napi_int32_array, nd, false);
  const int32_t *strides = typed(&c, 3, "strides", napi_int32_array, nd, false);
  if (c.failed) return NULL;
  double numel = 1, last = 0; /* last: the largest source offset read, plus one */
  for (int d = 0; d < (int)nd; d++) {
    if (shape[d] < 0 || strides[d] < 0) {
      fail(&c, false, "shape and strides must not be negative");
      return NULL;
    }
    numel *= shape[d];
    last += (double)(shape[d] ? shape[d] - 1 : 0) * strides[d];
  }
  const float *src = f32(&c, 0, "src", numel ? last + 1 : 0);
  float *dst = f32(&c, 1, "dst", numel);
  if (c.failed) return NULL;
  if (numel > 0) ft_strided_copy(src, dst, shape, strides, (int)nd);
  return undefined(env);
}

static napi_value js_rmsnorm_forward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "rmsNormForward", 7)) return NULL;
  double rows = count(&c, 4, "rows", MAX_INDEX), cols = count(&c, 5, "cols", MAX_INDEX);
  float eps = (float)number(&c, 6, "eps");
  const float *x = f32(&c, 0, "x", rows * cols), *w = f32_or_null(&c, 1, "weight", cols);
  float *y = f32(&c, 2, "y", rows * cols), *rstd = f32(&c, 3, "rstd", rows);
  if (c.failed) return NULL;
  ft_rmsnorm_forward(x, w, y, rstd, (size_t)rows, (size_t)cols, eps);
  return undefined(env);
}

static napi_value js_rmsnorm_backward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "rmsNormBackward", 8)) return NULL;
  double rows = count(&c, 6, "rows", MAX_INDEX), cols = count(&c, 7, "cols", MAX_INDEX);
  const float *dy = f32(&c, 0, "dy", rows * cols), *x = f32(&c, 1, "x", rows * cols);
  const float *w = f32_or_null(&c, 2, "weight", cols), *rstd = f32(&c, 3, "rstd", rows);
  float *dx = f32_or_null(&c, 4, "dx", rows * cols), *dw = f32_or_null(&c, 5, "dWeight", cols);
  if (c.failed) return NULL;
  ft_rmsnorm_backward(dy, x, w, rstd, dx, dw, (size_t)rows, (size_t)cols);
  return undefined(env);
}

/* rope(x, out, cos, sin, batch, heads, len, headDim, rotaryDim, tableRows, sign) */
static napi_value js_rope(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "rope", 11)) return NULL;
  double batch = count(&c, 4, "batch", MAX_INDEX), heads = count(&c, 5, "heads", MAX_INDEX);
  double len = count(&c, 6, "len", MAX_INDEX), head_dim = count(&c, 7, "headDim", MAX_INDEX);
  double rotary = count(&c, 8, "rotaryDim", head_dim), table_rows = count(&c, 9, "tableRows", MAX_INDEX);
  double sign = number(&c, 10, "sign");
  if (c.failed) return NULL;
  if ((sign != 1 && sign != -1) || (uint64_t)rotary % 2 || (table_rows != 1 && table_rows != batch)) {
    fail(&c, false, "sign must be 1 or -1, rotaryDim even and tableRows 1 or batch");
    return NULL;
  }
  const double n = batch * heads * len * head_dim;
  const float *x = f32(&c, 0, "x", n), *cos = f32(&c, 2, "cos", table_rows * len * rotary);
  const float *sin = f32(&c, 3, "sin", table_rows * len * rotary);
  float *y = f32(&c, 1, "out", n);
  if (c.failed) return NULL;
  ft_rope(x, y, cos, sin, (size_t)batch, (size_t)heads, (size_t)len, (size_t)head_dim, (size_t)rotary,
          (size_t)table_rows, (int)sign);
  return undefined(env);
}

static napi_value js_silu_forward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "siluForward", 3)) return NULL;
  double n = count(&c, 2, "n", MAX_INDEX);
  const float *x = f32(&c, 0, "x", n);
  float *y = f32(&c, 1, "y", n);
  if (c.failed) return NULL;
  ft_silu_forward(x, y, (size_t)n);
  return undefined(env);
}

/* name(a, b, out, n): an element-wise kernel reading two arrays of n floats and writing a third; the argument
 * names are for the error messages. */
static napi_value elementwise2(napi_env env, napi_callback_info info, const char *name, const char *const args[3],
                               void (*fn)(const float *, const float *, float *, size_t)) {
  call c;
  if (!begin(env, info, &c, name, 4)) return NULL;
  double n = count(&c, 3, "n", MAX_INDEX);
  const float *a = f32(&c, 0, args[0], n), *b = f32(&c, 1, args[1], n);
  float *out = f32(&c, 2, args[2], n);
  if (c.failed) return NULL;
  fn(a, b, out, (size_t)n);
  return undefined(env);
}

static napi_value js_silu_backward(napi_env env, napi_callback_info info) {
  return elementwise2(env, info, "siluBackward", (const char *const[]){"x", "dy", "dx"}, ft_silu_backward);
}

static napi_value js_adamw_step(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "adamwStep", 11)) return NULL;
  double n = count(&c, 4, "n", MAX_INDEX);
  float *p = f32(&c, 0, "p", n), *m = f32(&c, 2, "m", n), *v = f32(&c, 3, "v", n);
  const float *g = f32(&c, 1, "g", n);
  double lr = number(&c, 5, "lr"), beta1 = number(&c, 6, "beta1"), beta2 = number(&c, 7, "beta2");
  double eps = number(&c, 8, "eps"), wd = number(&c, 9, "weightDecay"), step = number(&c, 10, "step");
  if (!c.failed && !(step >= 1)) fail(&c, false, "step counts from 1, got %g", step);
  if (c.failed) return NULL;
  ft_adamw_step(p, g, m, v, (size_t)n, lr, beta1, beta2, eps, wd, step);
  return undefined(env);
}

/* attentionForward(q, k, v, mask, out, probs, batch, heads, queries, keys, dim, maskRows, headsInner, scale,
 *                  threshold, keepScale, seed0, seed1, kvRows): see ft_attention_args. threshold 0 means no
 *                  dropout; probs null: no backward will run. */
#define MAX_U32 4294967295.0

static bool attention_dims(call *c, ft_attention_args *a, size_t first, double *nq, double *nk) {
  const double batch = count(c, first, "batch", MAX_DIM), heads = count(c, first + 1, "heads", MAX_DIM);
  const double queries = count(c, first + 2, "queries", MAX_DIM), keys = count(c, first + 3, "keys", MAX_DIM);
  const double dim = count(c, first + 4, "dim", MAX_DIM);
  a->batch = (int)batch, a->heads = (int)heads, a->queries = (int)queries, a->keys = (int)keys, a->dim = (int)dim;
  a->kv_rows = a->keys;
  *nq = batch * heads * queries * dim;
  *nk = batch * heads * keys * dim;
  return !c->failed;
}

static void attention_dropout(call *c, ft_attention_args *a, size_t first) {
  a->scale = (float)number(c, first, "scale");
  a->threshold = (uint32_t)count(c, first + 1, "threshold", MAX_U32);
  a->keep_scale = (float)number(c, first + 2, "keepScale");
  a->seed0 = (uint32_t)count(c, first + 3, "seed0", MAX_U32);
  a->seed1 = (uint32_t)count(c, first + 4, "seed1", MAX_U32);
  a->dropout = a->threshold > 0;
}

static napi_value js_attention_forward(napi_env env, napi_callback_info info) {
  call c;
  ft_attention_args a = {0};
  double nq, nk;
  if (!begin(env, info, &c, "attentionForward", 19) || !attention_dims(&c, &a, 6, &nq, &nk)) return NULL;
  const double kv_rows = count(&c, 18, "kvRows", MAX_DIM);
  a.heads_inner = flag(&c, 12);
  if (!c.failed && (kv_rows < a.keys || (a.heads_inner && kv_rows != a.keys)))
    fail(&c, false, "kvRows must be at least keys (%d), and equal to it in the [batch, seq, heads, dim] layout; got %.0f",
         a.keys, kv_rows);
  a.kv_rows = (int)kv_rows;
  nk = (double)a.batch * a.heads * kv_rows * a.dim;
  const double mask_rows = count(&c, 11, "maskRows", MAX_DIM);
  if (!c.failed && mask_rows != 1 && mask_rows != a.queries)
    fail(&c, false, "maskRows must be 1 or queries (%d), got %.0f", a.queries, mask_rows);
  a.mask_rows = (int)mask_rows;
  attention_dropout(&c, &a, 13);
  const double probs = (double)a.batch * a.heads * a.queries * a.keys;
  a.q = f32(&c, 0, "q", nq), a.k = f32(&c, 1, "k", nk), a.v = f32(&c, 2, "v", nk);
  a.mask = f32_or_null(&c, 3, "mask", (double)a.batch * mask_rows * a.keys);
  a.out = f32(&c, 4, "out", nq), a.probs = f32_or_null(&c, 5, "probs", probs);
  if (c.failed) return NULL;
  ft_attention_forward(&a);
  return undefined(env);
}

/* attentionBackward(q, k, v, probs, dout, dq, dk, dv, batch, heads, queries, keys, dim, headsInner, scale,
 *                   threshold, keepScale, seed0, seed1); dq, dk, dv may be null. */
static napi_value js_attention_backward(napi_env env, napi_callback_info info) {
  call c;
  ft_attention_args a = {0};
  double nq, nk;
  if (!begin(env, info, &c, "attentionBackward", 19) || !attention_dims(&c, &a, 8, &nq, &nk)) return NULL;
  a.heads_inner = flag(&c, 13);
  attention_dropout(&c, &a, 14);
  a.q = f32(&c, 0, "q", nq), a.k = f32(&c, 1, "k", nk), a.v = f32(&c, 2, "v", nk);
  a.probs = f32(&c, 3, "probs", (double)a.batch * a.heads * a.queries * a.keys);
  a.dout = f32(&c, 4, "dout", nq);
  a.dq = f32_or_null(&c, 5, "dq", nq), a.dk = f32_or_null(&c, 6, "dk", nk), a.dv = f32_or_null(&c, 7, "dv", nk);
  if (c.failed) return NULL;
  ft_attention_backward(&a);
  return undefined(env);
}

static napi_value js_dropout(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "dropout", 7)) return NULL;
  double n = count(&c, 2, "n", MAX_INDEX);
  const float *x = f32(&c, 0, "x", n);
  float *y = f32(&c, 1, "y", n);
  uint32_t threshold = (uint32_t)count(&c, 3, "threshold", MAX_U32);
  float scale = (float)number(&c, 4, "scale");
  uint32_t seed0 = (uint32_t)count(&c, 5, "seed0", MAX_U32), seed1 = (uint32_t)count(&c, 6, "seed1", MAX_U32);
  if (c.failed) return NULL;
  ft_dropout(x, y, (size_t)n, threshold, scale, seed0, seed1);
  return undefined(env);
}

static napi_value js_add(napi_env env, napi_callback_info info) {
  return elementwise2(env, info, "add", (const char *const[]){"a", "b", "out"}, ft_add);
}

static napi_value js_mul(napi_env env, napi_callback_info info) {
  return elementwise2(env, info, "mul", (const char *const[]){"a", "b", "out"}, ft_mul);
}

static napi_value js_add_rows(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "addRows", 4)) return NULL;
  double rows = count(&c, 2, "rows", MAX_INDEX), cols = count(&c, 3, "cols", MAX_INDEX);
  float *x = f32(&c, 0, "x", rows * cols);
  const float *row = f32(&c, 1, "row", cols);
  if (c.failed) return NULL;
  ft_add_rows(x, row, (size_t)rows, (size_t)cols);
  return undefined(env);
}

static napi_value js_sum_rows(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "sumRows", 4)) return NULL;
  double rows = count(&c, 2, "rows", MAX_INDEX), cols = count(&c, 3, "cols", MAX_INDEX);
  const float *x = f32(&c, 0, "x", rows * cols);
  float *out = f32(&c, 1, "out", cols);
  if (c.failed) return NULL;
  ft_sum_rows(x, out, (size_t)rows, (size_t)cols);
  return undefined(env);
}

/* Every target must be a column index or ignoreIndex: one bad label would read outside the row. */
static bool targets_ok(call *c, const int32_t *t, double rows, double cols, int32_t ignore) {
  for (size_t r = 0; !c->failed && r < (size_t)rows; r++)
    if (t[r] != ignore && (t[r] < 0 || t[r] >= cols))
      fail(c, false, "targets[%zu] = %d is neither a class in [0, %.0f) nor ignoreIndex %d", r, t[r], cols, ignore);
  return !c->failed;
}

static napi_value js_xent_forward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "crossEntropyForward", 7)) return NULL;
  double rows = count(&c, 2, "rows", MAX_INDEX), cols = count(&c, 3, "cols", MAX_INDEX);
  int32_t ignore = (int32_t)number(&c, 4, "ignoreIndex");
  const float *x = f32(&c, 0, "logits", rows * cols);
  const int32_t *t = typed(&c, 1, "targets", napi_int32_array, rows, false);
  float *losses = f32(&c, 5, "losses", rows), *lse = f32(&c, 6, "lse", rows);
  if (c.failed || !targets_ok(&c, t, rows, cols, ignore)) return NULL;
  ft_cross_entropy_forward(x, t, (size_t)rows, (size_t)cols, ignore, losses, lse);
  return undefined(env);
}

static napi_value js_xent_backward(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "crossEntropyBackward", 8)) return NULL;
  double rows = count(&c, 4, "rows", MAX_INDEX), cols = count(&c, 5, "cols", MAX_INDEX);
  int32_t ignore = (int32_t)number(&c, 6, "ignoreIndex");
  const float *x = f32(&c, 0, "logits", rows * cols);
  const int32_t *t = typed(&c, 1, "targets", napi_int32_array, rows, false);
  const float *lse = f32(&c, 2, "lse", rows), *scale = f32(&c, 3, "rowScale", rows);
  float *dx = f32(&c, 7, "dLogits", rows * cols);
  if (c.failed || !targets_ok(&c, t, rows, cols, ignore)) return NULL;
  ft_cross_entropy_backward(x, t, lse, scale, (size_t)rows, (size_t)cols, ignore, dx);
  return undefined(env);
}

static napi_value js_set_threads(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "setThreads", 1)) return NULL;
  double n = count(&c, 0, "threads", 256);
  if (!c.failed && n < 1) fail(&c, false, "threads must be at least 1");
  if (c.failed) return NULL;
  ft_set_threads((int)n);
  return undefined(env);
}

/* fn(name) with the string argument 0 as the name, returned as a JS boolean (a kernel or library selection). */
static napi_value select_by_name(napi_env env, napi_callback_info info, const char *fn, bool (*select)(const char *)) {
  call c;
  if (!begin(env, info, &c, fn, 1)) return NULL;
  char which[32] = "";
  size_t len;
  if (napi_get_value_string_utf8(env, c.argv[0], which, sizeof which, &len) != napi_ok) {
    fail(&c, true, "expected a string");
    return NULL;
  }
  napi_value ok;
  napi_get_boolean(env, select(which), &ok);
  return ok;
}

/* selectGemm("blas" | "builtin" | "generic" | "avx2" | "avx512") -> whether it is available here. */
static napi_value js_select_gemm(napi_env env, napi_callback_info info) {
  return select_by_name(env, info, "selectGemm", ft_gemm_select);
}

/* selectBf16Gemm("avx512bf16" | "avx2" | "generic") -> whether this CPU runs it. */
static napi_value js_select_bf16_gemm(napi_env env, napi_callback_info info) {
  return select_by_name(env, info, "selectBf16Gemm", ft_bf16_select);
}

static napi_value string(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

/* peakGflops("fp32" | "bf16", seconds) -> { gflops, isa }, or null where the CPU lacks the instruction. */
static napi_value js_peak_gflops(napi_env env, napi_callback_info info) {
  call c;
  if (!begin(env, info, &c, "peakGflops", 2)) return NULL;
  char kind[8] = "";
  size_t len;
  napi_get_value_string_utf8(env, c.argv[0], kind, sizeof kind, &len);
  if (strcmp(kind, "fp32") != 0 && strcmp(kind, "bf16") != 0) fail(&c, false, "kind must be \"fp32\" or \"bf16\"");
  const double seconds = number(&c, 1, "seconds");
  if (!c.failed && !(seconds > 0 && seconds <= 60)) fail(&c, false, "seconds must be in (0, 60], got %g", seconds);
  if (c.failed) return NULL;
  const char *isa = "";
  const double gflops = ft_peak_gflops(kind, seconds, &isa);
  napi_value o, v;
  if (gflops < 0) {
    napi_get_null(env, &o);
    return o;
  }
  napi_create_object(env, &o);
  napi_create_double(env, gflops, &v);
  napi_set_named_property(env, o, "gflops", v);
  napi_set_named_property(env, o, "isa", string(env, isa));
  return o;
}

/* info() -> { blas, blasLibrary, builtinKernel, builtinKernels, threads, bf16Kernel, bf16Kernels } */
static napi_value js_info(napi_env env, napi_callback_info info) {
  const char *names[8];
  int count = ft_builtin_kernels(names, 8);
  napi_value o, list, threads;
  napi_create_object(env, &o);
  napi_create_array_with_length(env, (size_t)count, &list);
  for (int i = 0; i < count; i++) napi_set_element(env, list, (uint32_t)i, string(env, names[i]));
  napi_create_int32(env, ft_threads(), &threads);
  napi_value library;
  if (ft_blas_sgemm()) library = string(env, ft_blas_name());
  else napi_get_null(env, &library);
  napi_set_named_property(env, o, "blas", string(env, ft_gemm_name()));
  napi_set_named_property(env, o, "blasLibrary", library);
  napi_set_named_property(env, o, "builtinKernel", string(env, ft_builtin_name()));
  napi_set_named_property(env, o, "builtinKernels", list);
  napi_set_named_property(env, o, "threads", threads);
  count = ft_bf16_kernels(names, 8);
  napi_create_array_with_length(env, (size_t)count, &list);
  for (int i = 0; i < count; i++) napi_set_element(env, list, (uint32_t)i, string(env, names[i]));
  napi_set_named_property(env, o, "bf16Kernel", string(env, ft_bf16_name()));
  napi_set_named_property(env, o, "bf16Kernels", list);
  return o;
}

/* blasSgemmGflops(<the 20 gemm arguments>, reps) -> median GFLOP/s of cblas_sgemm timed in C, or null
 * without a BLAS library. */
static napi_value js_blas_gflops(napi_env env, napi_callback_info info) {
  call c;
  ft_gemm_args g;
  if (!begin(env, info, &c, "blasSgemmGflops", 21) || !gemm_args(&c, &g)) return NULL;
  double reps = count(&c, 20, "reps", 1e6);
  if (c.failed) return NULL;
  double gflops = ft_blas_gflops(&g, (int)reps);
  napi_value v;
  if (gflops < 0) napi_get_null(env, &v);
  else napi_create_double(env, gflops, &v);
  return v;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Where the builtin micro-kernel is AVX-512 it is the default even beside an AVX-512 BLAS, unless FINETUNE_BLAS
 * names a library. Against OpenBLAS 0.3.21's Haswell kernels (what it picks on AMD Zen 5) it is 1.3-1.8x faster
 * per core. Against its Cooperlake kernels (what it picks on another EPYC host of this workplace) it is as fast
 * on a lone product (DistilBERT's shapes: 201-214 GFLOP/s against 200-210, both cores, bench/gemm.ts), and faster in a model:
 * OpenBLAS's threads keep spinning on sched_yield after each call, taking the cores from the pool's attention
 * and element-wise work between products (a full step 1.49 s against 1.71 s, a forward 409 ms against 497). */
static bool prefer_builtin(void) {
  const char *env = getenv("FINETUNE_BLAS");
  return !(env && *env) && strcmp(ft_builtin_name(), "avx512") == 0;
}

/* Hands freed heap back to the system between unrelated pieces of work (Backend.trimHeap). */
static napi_value js_trim_heap(napi_env env, napi_callback_info info) {
  (void)info;
#ifdef __GLIBC__
  malloc_trim(0);
#endif
  return undefined(env);
}

/* A training step allocates and frees the same activation buffers (0.1-30 MB) every step. glibc serves blocks
 * above its adaptive mmap threshold with fresh mappings, and trims the heap's top as soon as 128 kB are free,
 * so each step faults in (and the kernel zeroes) its activations anew: 7% of a prefix-tuning step in perf.
 * A fixed threshold at glibc's 32 MB maximum and a trim threshold of 1 GB keep those blocks in the heap for
 * reuse. FINETUNE_MALLOC=default leaves glibc's own settings (e.g. to compare, or where memory is tight). */
static void tune_malloc(void) {
#ifdef __GLIBC__
  const char *env = getenv("FINETUNE_MALLOC");
  if (env && strcmp(env, "default") == 0) return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

static void init_once(void) {
  tune_malloc();
  ft_blas_load();
  ft_builtin_select(NULL);
  if (prefer_builtin() || !ft_gemm_select("blas")) ft_gemm_select("builtin");
  /* FINETUNE_BF16_GEMM forces a bf16 kernel (e.g. a widening fallback); one this CPU lacks leaves the best. */
  const char *bf16 = getenv("FINETUNE_BF16_GEMM");
  if (!(bf16 && *bf16 && ft_bf16_select(bf16))) ft_bf16_select(NULL);
  ft_threads();
}

NAPI_MODULE_INIT() {
  pthread_once(&once, init_once);
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
    {"gemm", js_gemm},
    {"gemmBf16", js_gemm_bf16},
    {"selectBf16Gemm", js_select_bf16_gemm},
    {"peakGflops", js_peak_gflops},
    {"softmaxForward", js_softmax_forward},
    {"softmaxBackward", js_softmax_backward},
    {"layerNormForward", js_layernorm_forward},
    {"layerNormBackward", js_layernorm_backward},
    {"addLayerNormForward", js_add_layernorm_forward},
    {"biasGeluForward", js_bias_gelu_forward},
    {"geluForward", js_gelu_forward},
    {"geluBackward", js_gelu_backward},
    {"stridedCopy", js_strided_copy},
    {"rope", js_rope},
    {"rmsNormForward", js_rmsnorm_forward},
    {"rmsNormBackward", js_rmsnorm_backward},
    {"siluForward", js_silu_forward},
    {"siluBackward", js_silu_backward},
    {"adamwStep", js_adamw_step},
    {"crossEntropyForward", js_xent_forward},
    {"crossEntropyBackward", js_xent_backward},
    {"attentionForward", js_attention_forward},
    {"attentionBackward", js_attention_backward},
    {"dropout", js_dropout},
    {"add", js_add},
    {"mul", js_mul},
    {"trimHeap", js_trim_heap},
    {"sumRows", js_sum_rows},
    {"addRows", js_add_rows},
    {"setThreads", js_set_threads},
    {"selectGemm", js_select_gemm},
    {"info", js_info},
    {"blasSgemmGflops", js_blas_gflops},
  };
  for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}
