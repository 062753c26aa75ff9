/* The GEMM of frozen bf16 weights: C = alpha * A W^T + beta * C with A fp32 and W a weight matrix [n, k]
 * stored once in bf16, already in the kernel's panel layout (see FT_BF16_PANEL in native.h), so no call
 * converts or repacks it. A is converted to bf16 as it is packed (round to nearest even), products
 * accumulate in fp32. Three micro-kernels read the same packed operands: AVX-512 BF16 (vdpbf16ps, two
 * bf16 products per fp32 lane per instruction), and AVX2 / portable ones that widen both operands to fp32
 * on the fly (a bf16 is the top half of an fp32), for CPUs without the instruction. The backward product
 * through a frozen weight, G W, repacks W transposed per call (as every GEMM packs B) and runs the same
 * kernel. Blocking as in gemm_fallback.c: one W panel's KC-deep slice and an MC x KC block of A in L2. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "native.h"
#include "tile.h"

#define NR FT_BF16_PANEL
/* K is cut into as few slices as fit KC_MAX, since each slice reads and writes every tile of C once more:
 * 256-deep slices made the DistilBERT-base forward's products 15% slower. The W panel's slice then
 * outgrows L1, but L2 feeds it faster than the kernel reads it. */
#define KC_MAX 4096
#define A_BLOCK_BYTES (512 * 1024) /* the packed block of A stays in L2 (1 MB on Zen 4/5) beside W's panel */
#define MC_MAX 192

/* pairs: kc / 2; a: MR dwords per pair (two bf16 of one row of A); b: NR dwords per pair (two bf16 of one
 * row of W, i.e. one column of C). */
typedef void (*bf16_kernel)(int pairs, const uint32_t *a, const uint32_t *b, float *c, size_t ldc, int mr, int nr,
                            float alpha, const float *bias, float beta);

static inline float widen_lo(uint32_t d) {
  uint32_t u = d << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
static inline float widen_hi(uint32_t d) {
  uint32_t u = d & 0xffff0000u;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* fp32 -> bf16, round to nearest even; a NaN stays a (quiet) NaN instead of rounding into infinity. */
static inline uint32_t to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
  return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

/* The widening kernel: each half-panel (16 columns of C) in NV vectors, so the accumulators, the widened
 * W values and the A broadcasts fit the 16 registers of AVX2. */
#define WIDEN_KERNEL(name, vu, vf, MR, ...)                                                                 \
  enum { name##_mr = MR };                                                                                 \
  __VA_ARGS__ static void name(int pairs, const uint32_t *restrict a, const uint32_t *restrict b,           \
                               float *restrict c, size_t ldc, int mr, int nr, float alpha,                 \
                               const float *restrict bias, float beta) {                                  \
    enum { VL = sizeof(vu) / sizeof(uint32_t), NV = (NR / 2) / VL, HALF = NR / 2 };                      \
    for (int h = 0; h < 2; h++) {                                                                          \
      const int hnr = nr - h * HALF < HALF ? nr - h * HALF : HALF;                                         \
      if (hnr <= 0) break;                                                                                 \
      vf acc[MR][NV];                                                                                      \
      UNROLL for (int i = 0; i < MR; i++)                                                                  \
        UNROLL for (int v = 0; v < NV; v++) acc[i][v] = (vf){0};                                           \
      for (int p = 0; p < pairs; p++) {                                                                    \
        vf lo[NV], hi[NV];                                                                                 \
        for (int v = 0; v < NV; v++) {                                                                     \
          vu w;                                                                                            \
          memcpy(&w, b + (size_t)p * NR + h * HALF + v * VL, sizeof w);                                    \
          lo[v] = (vf)(w << 16);                                                                           \
          hi[v] = (vf)(w & 0xffff0000u);                                                                   \
        }                                                                                                  \
        UNROLL for (int i = 0; i < MR; i++) {                                                              \
          const float a0 = widen_lo(a[p * MR + i]), a1 = widen_hi(a[p * MR + i]);                          \
          UNROLL for (int v = 0; v < NV; v++) acc[i][v] += a0 * lo[v] + a1 * hi[v];                        \
        }                                                                                                  \
      }                                                                                                    \
      float tile[MR * HALF];                                                                               \
      memcpy(tile, acc, sizeof tile);                                                                      \
      update_c(tile, c + h * HALF, ldc, mr, hnr, alpha, bias ? bias + h * HALF : NULL, beta, MR, HALF);     \
    }                                                                                                      \
  }

typedef uint32_t v4u __attribute__((vector_size(16)));
typedef float v4f __attribute__((vector_size(16)));
WIDEN_KERNEL(widen_generic, v4u, v4f, 4)

#if defined(__x86_64__) || defined(__i386__)
typedef uint32_t v8u __attribute__((vector_size(32)));
typedef float v8f __attribute__((vector_size(32)));
WIDEN_KERNEL(widen_avx2, v8u, v8f, 4, __attribute__((target("avx2,fma"))))

/* 12 rows x 32 columns: 24 accumulators, enough independent vdpbf16ps chains to hide their latency on two
 * pipes, plus the two W vectors and a broadcast within AVX-512's 32 registers. */
enum { dp_avx512_mr = 12 };
__attribute__((target("avx512f,avx512bf16"))) static void dp_avx512(int pairs, const uint32_t *restrict a,
    const uint32_t *restrict b, float *restrict c, size_t ldc, int mr, int nr, float alpha, const float *restrict bias,
    float beta) {
  enum { MR = dp_avx512_mr };
  __m512 acc[MR][2];
  UNROLL for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int p = 0; p < pairs; p++, a += MR, b += NR) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16);
    UNROLL for (int i = 0; i < MR; i++) {
      const __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i]);
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
    }
  }
  float tile[MR * NR];
  UNROLL for (int i = 0; i < MR; i++) {
    _mm512_storeu_ps(tile + i * NR, acc[i][0]);
    _mm512_storeu_ps(tile + i * NR + 16, acc[i][1]);
  }
  update_c(tile, c, ldc, mr, nr, alpha, bias, beta, MR, NR);
}

static int has_avx512bf16(void) { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16"); }
static int has_avx2(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#endif
static int always(void) { return 1; }

typedef struct {
  const char *name;
  int mr;
  bf16_kernel fn;
  int (*supported)(void);
} kernel;

static const kernel kernels[] = { /* best first */
#if defined(__x86_64__) || defined(__i386__)
  {"avx512bf16", dp_avx512_mr, dp_avx512, has_avx512bf16},
  {"avx2", widen_avx2_mr, widen_avx2, has_avx2},
#endif
  {"generic", widen_generic_mr, widen_generic, always},
};
#define NKERNELS ((int)(sizeof kernels / sizeof *kernels))
static const kernel *current = &kernels[NKERNELS - 1];

int ft_bf16_kernels(const char **names, int max) {
  int count = 0;
  for (int i = 0; i < NKERNELS && count < max; i++)
    if (kernels[i].supported()) names[count++] = kernels[i].name;
  return count;
}

bool ft_bf16_select(const char *name) {
  for (int i = 0; i < NKERNELS; i++) {
    if ((name == NULL || strcmp(name, kernels[i].name) == 0) && kernels[i].supported()) {
      current = &kernels[i];
      return true;
    }
  }
  return false;
}

const char *ft_bf16_name(void) { return current->name; }

size_t ft_bf16_packed_size(int n, int k) {
  return (size_t)((n + NR - 1) / NR) * NR * (size_t)(k + (k & 1));
}

/* The first pairs of a row as dwords MR apart, 16 pairs per instruction where the CPU converts
 * (vcvtne2ps2bf16 also rounds to nearest even and quiets NaNs, but reads denormals as zero, which no
 * activation notices); returns how many pairs it did. Converted one element at a time, packing A was most
 * of the 6% of a bf16 forward's profile outside the micro-kernel. */
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx512f,avx512bf16"))) static int convert_pairs_avx512(const float *row, int pairs,
                                                                              uint32_t *dst, int stride) {
  int q = 0;
  for (; q + 16 <= pairs; q += 16) {
    uint32_t d[16];
    const __m512 lo = _mm512_loadu_ps(row + 2 * q), hi = _mm512_loadu_ps(row + 2 * q + 16);
    _mm512_storeu_si512(d, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    for (int j = 0; j < 16; j++) dst[(size_t)(q + j) * stride] = d[j];
  }
  return q;
}
#endif

static int convert_pairs(const float *row, int pairs, uint32_t *dst, int stride) {
#if defined(__x86_64__) || defined(__i386__)
  static int ok = -1;
  if (ok < 0) ok = has_avx512bf16();
  if (ok) return convert_pairs_avx512(row, pairs, dst, stride);
#endif
  (void)row, (void)pairs, (void)dst, (void)stride;
  return 0;
}

/* Rows [r0, r0 + rows) and columns [p0, p0 + kc) of A (p0 even) into MR-row panels of bf16 pairs,
 * zero-padded past the matrix. */
static void pack_a(const float *a, int lda, int r0, int rows, int k, int p0, int kc, int MR, uint32_t *dst) {
  const int pairs = kc / 2;
  for (int i0 = 0; i0 < rows; i0 += MR, dst += (size_t)pairs * MR) {
    for (int i = 0; i < MR; i++) {
      if (i0 + i >= rows) {
        for (int q = 0; q < pairs; q++) dst[q * MR + i] = 0;
        continue;
      }
      const float *row = a + (size_t)(r0 + i0 + i) * lda + p0;
      const int full = (k - p0) / 2 < pairs ? (k - p0) / 2 : pairs; /* pairs with both elements inside */
      int q = convert_pairs(row, full, dst + i, MR);
      for (; q < full; q++) dst[q * MR + i] = to_bf16(row[2 * q]) | to_bf16(row[2 * q + 1]) << 16;
      if (q < pairs && p0 + 2 * q < k) dst[q * MR + i] = to_bf16(row[2 * q]), q++;
      for (; q < pairs; q++) dst[q * MR + i] = 0;
    }
  }
}

typedef struct {
  int m, n, k;
  float alpha, beta;
  const float *a;
  int lda;
  const uint16_t *w;
  const float *bias;
  float *c;
  int ldc;
  bool split_rows; /* threads take stripes of rows of C, else of W's panels */
} bf16_job;

static void gemm_range(const bf16_job *g, int m0, int m1, int n0, int n1) {
  const kernel *kr = current;
  const int MR = kr->mr, kp = g->k + (g->k & 1);
  const int slices = (kp + KC_MAX - 1) / KC_MAX, KC = (kp / 2 + slices - 1) / slices * 2; /* even */
  int MC = (int)(A_BLOCK_BYTES / sizeof(uint16_t) / (size_t)KC) / MR * MR;
  MC = MC < MR ? MR : MC > MC_MAX ? MC_MAX / MR * MR : MC;
  if (MC > (m1 - m0 + MR - 1) / MR * MR) MC = (m1 - m0 + MR - 1) / MR * MR; /* a decode step packs one tile */
  uint32_t *apack = malloc(sizeof(uint32_t) * (size_t)(MC / 2) * KC);
  if (!apack) abort(); /* as in gemm_fallback.c */
  for (int pc = 0; pc < kp; pc += KC) {
    const int kc = kp - pc < KC ? kp - pc : KC;
    const float beta = pc == 0 ? g->beta : 1.0f;
    const float *bias = pc == 0 ? g->bias : NULL;
    for (int ic = m0; ic < m1; ic += MC) {
      const int mc = m1 - ic < MC ? m1 - ic : MC;
      pack_a(g->a, g->lda, ic, mc, g->k, pc, kc, MR, apack);
      for (int jr = n0; jr < n1; jr += NR) {
        const int nr = n1 - jr < NR ? n1 - jr : NR;
        const uint32_t *panel = (const uint32_t *)(g->w + (size_t)jr * kp + (size_t)pc * NR);
        for (int ir = 0; ir < mc; ir += MR) {
          const int mr = mc - ir < MR ? mc - ir : MR;
          kr->fn(kc / 2, apack + (size_t)ir * (kc / 2), panel, g->c + (size_t)(ic + ir) * g->ldc + jr, g->ldc, mr,
                 nr, g->alpha, bias ? bias + jr : NULL, beta);
        }
      }
    }
  }
  free(apack);
}

static void gemm_part(void *ctx, int part, int nparts) {
  const bf16_job *g = ctx;
  size_t begin, end;
  if (g->split_rows) {
    ft_split((size_t)g->m, (size_t)current->mr, part, nparts, &begin, &end);
    if (end > begin) gemm_range(g, (int)begin, (int)end, 0, g->n);
  } else {
    ft_split((size_t)g->n, NR, part, nparts, &begin, &end);
    if (end > begin) gemm_range(g, 0, g->m, (int)begin, (int)end);
  }
}

/* Below about 2 MFLOP per thread, waking a thread costs more than it saves (as in gemm.c). */
static int parts_for(double flops, size_t units) {
  double by_work = flops / 2e6;
  size_t t = (size_t)ft_threads();
  if (by_work < (double)t) t = by_work < 1 ? 1 : (size_t)by_work;
  return (int)(t > units ? units : t);
}

void ft_gemm_bf16(int m, int n, int k, float alpha, const float *a, int lda, const uint16_t *w, const float *bias,
                  float beta, float *c, int ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) { /* C = bias + beta * C, where beta == 0 must clear NaN garbage rather than multiply it */
    for (int r = 0; r < m; r++)
      for (int j = 0; j < n; j++)
        c[(size_t)r * ldc + j] = (bias ? bias[j] : 0.0f) + (beta == 0.0f ? 0.0f : beta * c[(size_t)r * ldc + j]);
    return;
  }
  bf16_job g = {m, n, k, alpha, beta, a, lda, w, bias, c, ldc, false};
  const size_t row_units = (size_t)(m + current->mr - 1) / current->mr, panels = (size_t)(n + NR - 1) / NR;
  /* Rows when there are enough of them: each thread then packs only its own rows of A. */
  g.split_rows = row_units >= (size_t)ft_threads() * 4 || row_units >= panels;
  /* A few rows (a generation step) are bound by reading W, not by the arithmetic: as in gemv.c, a thread per
   * 256 KB of W, since two cores stream it faster than one. */
  const double work = m <= FT_GEMV_MAX_ROWS ? (double)n * k * sizeof(uint16_t) / (256 * 1024) * 2e6 : 2.0 * m * n * k;
  ft_parallel(gemm_part, &g, parts_for(work, g.split_rows ? row_units : panels));
}

typedef struct {
  const uint16_t *w;
  uint16_t *wt;
  int n, k;
} transpose_job;

/* Panels of the transposed matrix [k, n] from the packed [n, k] one, a stripe of panels per thread. Both
 * layouts hold a pair of bf16 in one dword: W's rows q, q + 1 at columns j, j + 1 are two adjacent dwords
 * (a, b) of W's panel, and become the dwords (j: a.lo b.lo) and (j + 1: a.hi b.hi) of the transpose's row
 * pair, written in order. */
static void transpose_part(void *ctx, int part, int nparts) {
  const transpose_job *t = ctx;
  const int kp = t->k + (t->k & 1), np = t->n + (t->n & 1), panels = (t->k + NR - 1) / NR;
  const uint32_t *src = (const uint32_t *)t->w;
  size_t begin, end;
  ft_split((size_t)panels, 1, part, nparts, &begin, &end);
  for (size_t panel = begin; panel < end; panel++) {
    uint32_t *dst = (uint32_t *)(t->wt + panel * NR * (size_t)np);
    const int left = (kp - (int)panel * NR) / 2, jpairs = left < NR / 2 ? left : NR / 2; /* W's column pairs here */
    for (int q = 0; q < np; q += 2) {
      /* dword of (q, pair jp) in W's panel of row q; the panel's rows are padded with zeros, so q + 1 = n is 0 */
      const uint32_t *s = src + (size_t)(q / NR) * NR * (kp / 2) + (size_t)panel * (NR / 2) * NR + q % NR;
      uint32_t *d = dst + (size_t)(q / 2) * NR;
      int jp = 0;
      for (; jp < jpairs; jp++) {
        const uint32_t a = s[(size_t)jp * NR], b = s[(size_t)jp * NR + 1];
        d[2 * jp] = (a & 0xffffu) | b << 16;
        d[2 * jp + 1] = a >> 16 | (b & 0xffff0000u);
      }
      for (; jp < NR / 2; jp++) d[2 * jp] = d[2 * jp + 1] = 0;
    }
  }
}

void ft_gemm_bf16_nt(int m, int n, int k, float alpha, const float *g, int ldg, const uint16_t *w, const float *bias,
                     float beta, float *c, int ldc) {
  if (m == 0 || k == 0) return;
  uint16_t *wt = malloc(sizeof(uint16_t) * ft_bf16_packed_size(k, n));
  if (!wt) abort();
  transpose_job t = {w, wt, n, k};
  ft_parallel(transpose_part, &t, parts_for((double)n * k * 64, (size_t)(k + NR - 1) / NR));
  ft_gemm_bf16(m, k, n, alpha, g, ldg, wt, bias, beta, c, ldc);
  free(wt);
}
