/* Internal interfaces shared by the native backend's C files. Matrices are row-major; "trans" means the
 * stored matrix is the transpose of the operand. Sizes are int because that is what CBLAS takes. */
#ifndef FINETUNE_NATIVE_H
#define FINETUNE_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* threads.c: a persistent pool. fn(ctx, part, nparts) is called once for every part in [0, nparts);
 * the caller runs part 0 itself and returns when all parts are done. */
typedef void (*ft_task)(void *ctx, int part, int nparts);
int ft_threads(void);
void ft_set_threads(int n);
void ft_parallel(ft_task fn, void *ctx, int nparts);
/* [*begin, *end) is part `part` of [0, n) split into `nparts` nearly equal pieces, each a multiple of
 * `align` except the last. */
void ft_split(size_t n, size_t align, int part, int nparts, size_t *begin, size_t *end);

/* blas.c: an optimised CBLAS found with dlopen at load time, or none. */
typedef void (*ft_cblas_sgemm)(int order, int transA, int transB, int m, int n, int k, float alpha,
                               const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
enum { FT_ROW_MAJOR = 101, FT_NO_TRANS = 111, FT_TRANS = 112 };
void ft_blas_load(void);
ft_cblas_sgemm ft_blas_sgemm(void); /* NULL when no library was found */
const char *ft_blas_name(void);
void ft_blas_set_threads(int n);

/* gemm.c: C = alpha * op(A) op(B) + beta * C for `batch` matrices, through the BLAS or the builtin GEMM. */
typedef struct {
  bool transA, transB;
  int m, n, k;
  float alpha, beta;
  const float *a, *b;
  float *c;
  int lda, ldb, ldc;
  int batch;
  size_t strideA, strideB, strideC;
} ft_gemm_args;
void ft_gemm(const ft_gemm_args *g);
/* Selects the GEMM: "blas", "builtin" (the best builtin kernel), or a builtin kernel by name. */
bool ft_gemm_select(const char *which);
const char *ft_gemm_name(void);
double ft_blas_gflops(const ft_gemm_args *g, int reps);

/* gemm_fallback.c: the builtin GEMM on one thread, and its micro-kernels ("generic", "avx2", "avx512"). */
int ft_builtin_kernels(const char **names, int max);
bool ft_builtin_select(const char *name); /* NULL selects the best one for this CPU */
const char *ft_builtin_name(void);
void ft_builtin_sgemm(bool transA, bool transB, int m, int n, int k, float alpha, const float *a, int lda,
                      const float *b, int ldb, float beta, float *c, int ldc);
/* Multiples that thread splits should respect so tiles are not cut. */
int ft_builtin_mr(void);
int ft_builtin_nr(void);
/* The same GEMM in pieces, so threads can share one packing of op(B): for each slab of at most NC columns
 * and KC rows of op(B) (ft_builtin_nc/kc), pack it (ft_builtin_pack_b: `count` columns from j0, rows from p0,
 * into NR-wide panels at dst; a part of the slab's columns goes to the panel (j0 - slab start) * kc) and run
 * ft_builtin_block on any rows of A: C[:, slab] (+)= alpha * op(A)[:, p0 : p0 + kc] * slab. */
int ft_builtin_kc(void);
int ft_builtin_nc(void);
void ft_builtin_pack_b(bool transB, const float *b, int ldb, int p0, int kc, int j0, int count, float *dst);
void ft_builtin_block(bool transA, int m, int nc, int kc, float alpha, const float *a, int lda, const float *bslab,
                      float beta, float *c, int ldc);

/* gemv.c: the builtin GEMM's form for one item with at most FT_GEMV_MAX_ROWS rows, B streamed unpacked. */
#define FT_GEMV_MAX_ROWS 4
void ft_gemv(const ft_gemm_args *g);

/* gemm_bf16.c: C = alpha * A W^T + bias + beta * C (ft_gemm_bf16) or alpha * A W + bias + beta * C
 * (ft_gemm_bf16_nt), bias (a row added to every row of C, in the kernel's write of C) or NULL, for
 * a weight W [n, k] packed once in bf16: panels of FT_BF16_PANEL rows of W, each stored pair of columns by
 * pair of columns, the two bf16 of a row's pair adjacent (the even column first), zero-padded to whole
 * panels and an even k. Element (j, p) is at (j / P) * P * kp + (p / 2) * 2P + (j % P) * 2 + p % 2. */
#define FT_BF16_PANEL 32
size_t ft_bf16_packed_size(int n, int k);
void ft_gemm_bf16(int m, int n, int k, float alpha, const float *a, int lda, const uint16_t *w, const float *bias,
                  float beta, float *c, int ldc);
void ft_gemm_bf16_nt(int m, int n, int k, float alpha, const float *g, int ldg, const uint16_t *w, const float *bias,
                     float beta, float *c, int ldc);
/* Micro-kernels: "avx512bf16" (vdpbf16ps), "avx2" and "generic" (widening to fp32). */
int ft_bf16_kernels(const char **names, int max);
bool ft_bf16_select(const char *name); /* NULL selects the best one for this CPU */
const char *ft_bf16_name(void);

/* peak.c: GFLOP/s of multiply-adds on every pool thread, "fp32" (FMA) or "bf16" (vdpbf16ps; -1 when the
 * CPU lacks it); *isa names the instructions measured. */
double ft_peak_gflops(const char *kind, double seconds, const char **isa);

/* kernels.c: row-wise and elementwise kernels (see src/backend/backend.ts for the contracts). */
void ft_softmax_forward(const float *x, float *y, size_t rows, size_t cols);
void ft_softmax_backward(const float *y, const float *dy, float *dx, size_t rows, size_t cols);
void ft_layernorm_forward(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                          size_t rows, size_t cols, float eps);
void ft_layernorm_backward(const float *dy, const float *x, const float *w, const float *mean, const float *rstd,
                           float *dx, float *dw, float *db, size_t rows, size_t cols);
void ft_gelu_forward(const float *x, float *y, size_t n, bool approximate);
void ft_bias_gelu_forward(float *x, const float *bias, float *y, size_t rows, size_t cols, bool approximate);
void ft_add_layernorm_forward(const float *x, const float *x2, const float *w, const float *b, float *y, float *sum,
                              float *mean, float *rstd, size_t rows, size_t cols, float eps);
void ft_gelu_backward(const float *x, const float *dy, float *dx, size_t n, bool approximate);
void ft_silu_forward(const float *x, float *y, size_t n);
void ft_strided_copy(const float *src, float *dst, const int32_t *shape, const int32_t *strides, int nd);
void ft_rmsnorm_forward(const float *x, const float *w, float *y, float *rstd, size_t rows, size_t cols, float eps);
void ft_rmsnorm_backward(const float *dy, const float *x, const float *w, const float *rstd, float *dx, float *dw,
                         size_t rows, size_t cols);
void ft_silu_backward(const float *x, const float *dy, float *dx, size_t n);
void ft_rope(const float *x, float *y, const float *cos, const float *sin, size_t batch, size_t heads, size_t len,
             size_t head_dim, size_t rotary_dim, size_t table_rows, int sign);
void ft_adamw_step(float *p, const float *g, float *m, float *v, size_t n, double lr, double beta1, double beta2,
                   double eps, double weight_decay, double step);
void ft_cross_entropy_forward(const float *logits, const int32_t *targets, size_t rows, size_t cols,
                              int32_t ignore_index, float *losses, float *lse);
void ft_cross_entropy_backward(const float *logits, const int32_t *targets, const float *lse, const float *scale,
                               size_t rows, size_t cols, int32_t ignore_index, float *dlogits);

/* attention.c: fused attention, forward and backward (the formulas are at the top of the file). */
typedef struct {
  const float *q, *k, *v;
  const float *mask; /* additive, [batch, mask_rows, keys] with mask_rows 1 or queries; NULL for none */
  float *out;
  float *probs;      /* softmax output [batch, heads, queries, keys]: written forward, read backward; NULL
                        when no backward will run (forward keeps one block of query rows at a time) */
  const float *dout;
  float *dq, *dk, *dv; /* NULL where no gradient is needed */
  int batch, heads, queries, keys, dim, mask_rows;
  int kv_rows;       /* rows each (batch, head) of k and v is allocated with, >= keys ([batch, heads, seq, dim]
                        layout): a generation cache's spare rows sit after the keys in use */
  bool heads_inner;  /* q, k, v, out are [batch, seq, heads, dim]; else [batch, heads, seq, dim] */
  float scale;
  bool dropout;      /* on P before the product with V: kept with scale keep_scale, see ft_keep */
  float keep_scale;
  uint32_t threshold, seed0, seed1;
} ft_attention_args;
void ft_attention_forward(const ft_attention_args *a);
void ft_attention_backward(const ft_attention_args *a);

/* fused.c: elementwise kernels (see src/backend/backend.ts for the contracts). */
void ft_dropout(const float *x, float *y, size_t n, uint32_t threshold, float scale, uint32_t seed0, uint32_t seed1);
void ft_add(const float *a, const float *b, float *out, size_t n);
void ft_mul(const float *a, const float *b, float *out, size_t n);
void ft_sum_rows(const float *x, float *out, size_t rows, size_t cols);
void ft_add_rows(float *x, const float *row, size_t rows, size_t cols);

#endif
