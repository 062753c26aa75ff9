/* The builtin single-threaded SGEMM, used when no BLAS library is found (gemm.c splits work across
 * threads). It follows the BLIS/GotoBLAS scheme: pack a KC x NC slab of op(B) into NR-wide column panels
 * and an MC x KC block of op(A) into MR-tall row panels, both zero-padded, then let a register-blocked
 * micro-kernel compute each MR x NR tile of C from one panel of each. Packing makes the inner loop read
 * contiguous memory for every transpose combination, and the block sizes keep the A block and one B panel
 * in L2 while it is reused. */
#include <stdlib.h>
#include <string.h>

#include "native.h"
#include "tile.h"

/* Each KC slice of K reads and writes every tile of C once more. 768 rather than the L1-sized 256: the
 * extra passes over C cost ~10% of a DistilBERT-base forward, while L2 feeds a 96 KB B panel fast enough. */
#define KC 768
#define MC 192   /* rounded down to a multiple of MR; the 576 KB A block fits L2 (1 MB on Zen 4/5) */
#define NC 3072  /* KC x NC floats = 9 MB: the packed slab of B lives in L3 */

typedef void (*micro_kernel)(int kc, const float *a, const float *b, float *c, size_t ldc, int mr, int nr,
                             float alpha, float beta);
typedef void (*direct_kernel)(int kc, const float *a, size_t ars, size_t acs, const float *b, float *c, size_t ldc,
                              int mr, int nr, float alpha, float beta);

/* gcc/clang vector types: portable C that maps to SSE, AVX2, AVX-512 or NEON registers. Plain loops
 * would be nicer, but whether they vectorise with the tile in registers depends on the compiler: gcc 12
 * reached peak only for some tile shapes, and clang 14 dropped to 1-2 GFLOP/s, where these run at peak
 * on both. */
typedef float v4f __attribute__((vector_size(16)));
typedef float v8f __attribute__((vector_size(32)));
typedef float v16f __attribute__((vector_size(64)));

/* An MR x (NV vectors) tile of C from a panel of op(B) packed NR wide: the accumulators stay in registers,
 * each step broadcasts one value of A against NV vectors of B. A(i, p) is a[i * ars + p * acs], so one body
 * serves a packed panel of A (ars 1, acs MR: `name`) and A read where it lies (`name##_direct`). */
#define MICRO_KERNEL(name, vec, MR, NV, ...)                                                               \
  enum { name##_mr = MR, name##_nr = NV * (int)(sizeof(vec) / sizeof(float)) };                           \
  __VA_ARGS__ static inline __attribute__((always_inline)) void name##_tile(                              \
      int kc, const float *restrict a, size_t ars, size_t acs, const float *restrict b, float *restrict c, \
      size_t ldc, int mr, int nr, float alpha, float beta) {                                               \
    enum { VL = sizeof(vec) / sizeof(float), NR = VL * NV };                                              \
    vec acc[MR][NV];                                                                                      \
    UNROLL for (int i = 0; i < MR; i++)                                                                   \
      UNROLL for (int v = 0; v < NV; v++) acc[i][v] = (vec){0};                                           \
    for (int p = 0; p < kc; p++, a += acs, b += NR) {                                                     \
      vec bv[NV];                                                                                         \
      UNROLL for (int v = 0; v < NV; v++) memcpy(&bv[v], b + v * VL, sizeof(vec));                        \
      UNROLL for (int i = 0; i < MR; i++)                                                                 \
        UNROLL for (int v = 0; v < NV; v++) acc[i][v] += a[i * ars] * bv[v];                              \
    }                                                                                                     \
    float tile[MR * NR];                                                                                  \
    memcpy(tile, acc, sizeof tile);                                                                       \
    update_c(tile, c, ldc, mr, nr, alpha, NULL, beta, MR, NR);                                            \
  }                                                                                                       \
  __VA_ARGS__ static void name(int kc, const float *a, const float *b, float *c, size_t ldc, int mr, int nr, \
                               float alpha, float beta) {                                                 \
    name##_tile(kc, a, 1, MR, b, c, ldc, mr, nr, alpha, beta);                                            \
  }                                                                                                       \
  __VA_ARGS__ static void name##_direct(int kc, const float *a, size_t ars, size_t acs, const float *b,    \
                                        float *c, size_t ldc, int mr, int nr, float alpha, float beta) {  \
    name##_tile(kc, a, ars, acs, b, c, ldc, mr, nr, alpha, beta);                                         \
  }

MICRO_KERNEL(micro_generic, v4f, 6, 2)
#if defined(__x86_64__) || defined(__i386__)
MICRO_KERNEL(micro_avx2, v8f, 6, 2, __attribute__((target("avx2,fma"))))
MICRO_KERNEL(micro_avx512, v16f, 8, 2, __attribute__((target("avx512f,fma"))))
static int has_avx2(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
static int has_avx512(void) { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"); }
#endif
static int always(void) { return 1; }

typedef struct {
  const char *name;
  int mr, nr;
  micro_kernel fn;
  direct_kernel direct;
  int (*supported)(void);
} kernel;

static const kernel kernels[] = { /* best first */
#if defined(__x86_64__) || defined(__i386__)
  {"avx512", micro_avx512_mr, micro_avx512_nr, micro_avx512, micro_avx512_direct, has_avx512},
  {"avx2", micro_avx2_mr, micro_avx2_nr, micro_avx2, micro_avx2_direct, has_avx2},
#endif
  {"generic", micro_generic_mr, micro_generic_nr, micro_generic, micro_generic_direct, always},
};
#define NKERNELS ((int)(sizeof kernels / sizeof *kernels))
static const kernel *current = &kernels[NKERNELS - 1];

int ft_builtin_kernels(const char **names, int max) {
  int count = 0;
  for (int i = 0; i < NKERNELS && count < max; i++)
    if (kernels[i].supported()) names[count++] = kernels[i].name;
  return count;
}

bool ft_builtin_select(const char *name) {
  for (int i = 0; i < NKERNELS; i++) {
    if ((name == NULL || strcmp(name, kernels[i].name) == 0) && kernels[i].supported()) {
      current = &kernels[i];
      return true;
    }
  }
  return false;
}

const char *ft_builtin_name(void) { return current->name; }
int ft_builtin_mr(void) { return current->mr; }
int ft_builtin_nr(void) { return current->nr; }

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* dst[p * R + i] = s[i * rs + p] for 8 rows i and p < kc: 8 x 8 blocks transposed in registers. The scalar
 * gather this replaces stored one float per cache line it touched, and packing a row-major A or a torch
 * Linear weight (every forward) took as long as a third of the multiply. */
__attribute__((target("avx2"))) static void transpose8(const float *s, size_t rs, int kc, float *dst, int R) {
  int p = 0;
  for (; p + 8 <= kc; p += 8) {
    __m256 r[8], t[8], u[8];
    for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(s + i * rs + p);
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
      u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
      u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
      u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int q = 0; q < 4; q++) {
      _mm256_storeu_ps(dst + (size_t)(p + q) * R, _mm256_permute2f128_ps(u[q], u[q + 4], 0x20));
      _mm256_storeu_ps(dst + (size_t)(p + q + 4) * R, _mm256_permute2f128_ps(u[q], u[q + 4], 0x31));
    }
  }
  for (; p < kc; p++)
    for (int i = 0; i < 8; i++) dst[(size_t)p * R + i] = s[i * rs + p];
}
static int transpose8_ok(void) {
  static int ok = -1;
  if (ok < 0) ok = __builtin_cpu_supports("avx2");
  return ok;
}
#else
static void transpose8(const float *s, size_t rs, int kc, float *dst, int R) { (void)s, (void)rs, (void)kc, (void)dst, (void)R; }
static int transpose8_ok(void) { return 0; }
#endif

/* Packs `count` rows x kc columns of a strided matrix (element (i, p) at src[i*rs + p*cs]) into panels
 * of R rows stored column by column, zero-padding the last panel. Used for op(A) and, transposed, op(B).
 * Source reads follow whichever of rs and cs is 1, so they are sequential in both layouts. */
static void pack(const float *src, size_t rs, size_t cs, int count, int kc, int R, float *dst) {
  for (int i0 = 0; i0 < count; i0 += R, dst += (size_t)kc * R) {
    const int rows = count - i0 < R ? count - i0 : R;
    const float *s = src + i0 * rs;
    if (rs == 1) {
      for (int p = 0; p < kc; p++) memcpy(dst + p * R, s + p * cs, rows * sizeof(float));
    } else {
      int i = 0;
      if (cs == 1 && transpose8_ok())
        for (; i + 8 <= rows; i += 8) transpose8(s + i * rs, rs, kc, dst + i, R);
      for (; i < rows; i++)
        for (int p = 0; p < kc; p++) dst[p * R + i] = s[i * rs + p * cs];
    }
    for (int p = 0; p < kc; p++)
      for (int i = rows; i < R; i++) dst[p * R + i] = 0.0f;
  }
}

static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

int ft_builtin_kc(void) { return KC; }
int ft_builtin_nc(void) { return NC; }

void ft_builtin_pack_b(bool transB, const float *b, int ldb, int p0, int kc, int j0, int count, float *dst) {
  const size_t rsb = transB ? 1 : (size_t)ldb, csb = transB ? (size_t)ldb : 1; /* B(p, j) = b[p*rsb + j*csb] */
  pack(b + p0 * rsb + j0 * csb, csb, rsb, count, kc, current->nr, dst);
}

/* Packing buffers live as long as the thread: every product needs one, and a fresh allocation per call costs
 * page faults on the pool's threads. */
typedef struct {
  float *p;
  size_t floats;
} scratch;
static _Thread_local scratch apack, bpack;

static float *scratch_floats(scratch *s, size_t floats) {
  if (floats > s->floats) {
    free(s->p);
    s->p = aligned_alloc(64, round_up(floats * sizeof(float), 64));
    if (!s->p) abort(); /* as good as any other way to report running out of memory mid-kernel */
    s->floats = floats;
  }
  return s->p;
}

void ft_builtin_block(bool transA, int m, int nc, int kc, float alpha, const float *a, int lda, const float *bslab,
                      float beta, float *c, int ldc) {
  const kernel *kr = current;
  const int MR = kr->mr, NR = kr->nr, mc_max = MC / MR * MR;
  const size_t rsa = transA ? 1 : (size_t)lda, csa = transA ? (size_t)lda : 1;
  float *ap = scratch_floats(&apack, round_up((size_t)(m < mc_max ? m : mc_max), MR) * kc);
  for (int ic = 0; ic < m; ic += mc_max) {
    const int mc = m - ic < mc_max ? m - ic : mc_max;
    pack(a + ic * rsa, rsa, csa, mc, kc, MR, ap);
    for (int jr = 0; jr < nc; jr += NR) {
      const int nr = nc - jr < NR ? nc - jr : NR;
      for (int ir = 0; ir < mc; ir += MR) {
        const int mr = mc - ir < MR ? mc - ir : MR;
        kr->fn(kc, ap + (size_t)ir * kc, bslab + (size_t)jr * kc, c + (size_t)(ic + ir) * ldc + jr, ldc, mr, nr,
               alpha, beta);
      }
    }
  }
}

/* Small products (attention's per-head ones: K is the head size or the key count) read A where it lies: packing
 * it costs a copy of all of op(A) per call, as much memory traffic as the multiply's own reads, and a tile of
 * A rows is used while it sits in L1 anyway. op(B) is still packed, once, since its panels are read by every
 * row tile. Only A's last rows, which must not be read past, are copied (zero-padded). */
#define DIRECT_MAX_B_FLOATS ((size_t)1 << 18) /* 1 MB of packed op(B): the buffer lives as long as the thread */

static void sgemm_direct(bool transA, bool transB, int m, int n, int k, float alpha, const float *a, int lda,
                         const float *b, int ldb, float beta, float *c, int ldc) {
  const kernel *kr = current;
  const int MR = kr->mr, NR = kr->nr, full_rows = m / MR * MR;
  const size_t ars = transA ? 1 : (size_t)lda, acs = transA ? (size_t)lda : 1;
  float *bp = scratch_floats(&bpack, round_up((size_t)n, NR) * k), *edge = NULL;
  ft_builtin_pack_b(transB, b, ldb, 0, k, 0, n, bp);
  if (full_rows < m) {
    edge = scratch_floats(&apack, (size_t)MR * k);
    pack(a + full_rows * ars, ars, acs, m - full_rows, k, MR, edge);
  }
  for (int jr = 0; jr < n; jr += NR) {
    const int nr = n - jr < NR ? n - jr : NR;
    const float *panel = bp + (size_t)jr * k;
    for (int ir = 0; ir < full_rows; ir += MR)
      kr->direct(k, a + ir * ars, ars, acs, panel, c + (size_t)ir * ldc + jr, ldc, MR, nr, alpha, beta);
    if (edge) kr->fn(k, edge, panel, c + (size_t)full_rows * ldc + jr, ldc, m - full_rows, nr, alpha, beta);
  }
}

void ft_builtin_sgemm(bool transA, bool transB, int m, int n, int k, float alpha, const float *a, int lda,
                      const float *b, int ldb, float beta, float *c, int ldc) {
  if (k <= KC && round_up((size_t)n, current->nr) * k <= DIRECT_MAX_B_FLOATS) {
    sgemm_direct(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  const size_t csa = transA ? (size_t)lda : 1;
  const int kc_max = k < KC ? k : KC, nc_max = n < NC ? n : NC;
  float *bp = scratch_floats(&bpack, round_up((size_t)nc_max, current->nr) * kc_max);
  for (int jc = 0; jc < n; jc += NC) {
    const int nc = n - jc < NC ? n - jc : NC;
    for (int pc = 0; pc < k; pc += KC) {
      const int kc = k - pc < KC ? k - pc : KC;
      ft_builtin_pack_b(transB, b, ldb, pc, kc, jc, nc, bp);
      ft_builtin_block(transA, m, nc, kc, alpha, a + pc * csa, lda, bp, pc == 0 ? beta : 1.0f, c + jc, ldc);
    }
  }
}
