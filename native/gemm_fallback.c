/* The builtin single-threaded SGEMM, used when no BLAS library is found (gemm.c splits work across
 * threads). It follows the BLIS/GotoBLAS scheme: pack a KC x NC slab of op(B) into NR-wide column panels
 * and an MC x KC block of op(A) into MR-tall row panels, both zero-padded, then let a register-blocked
 * micro-kernel compute each MR x NR tile of C from one panel of each. Packing makes the inner loop read
 * contiguous memory for every transpose combination, and the block sizes keep the A block in L2 and one
 * B panel in L1 while it is reused. */
#include <stdlib.h>
#include <string.h>

#include "native.h"
#include "tile.h"

#define KC 256
#define MC 192   /* rounded down to a multiple of MR */
#define NC 3072  /* KC x NC floats = 3 MB: the packed slab of B lives in L3 */

typedef void (*micro_kernel)(int kc, const float *a, const float *b, float *c, size_t ldc, int mr, int nr,
                             float alpha, float beta);

/* gcc/clang vector types: portable C that maps to SSE, AVX2, AVX-512 or NEON registers. Plain loops
 * would be nicer, but whether they vectorise with the tile in registers depends on the compiler: gcc 12
 * reached peak only for some tile shapes, and clang 14 dropped to 1-2 GFLOP/s, where these run at peak
 * on both. */
typedef float v4f __attribute__((vector_size(16)));
typedef float v8f __attribute__((vector_size(32)));
typedef float v16f __attribute__((vector_size(64)));

/* An MR x (NV vectors) tile of C from a packed MR-row panel of A and NV-vector-wide panel of B: the
 * accumulators stay in registers, each step broadcasts one A value against NV vectors of B. */
#define MICRO_KERNEL(name, vec, MR, NV, ...)                                                              \
  enum { name##_mr = MR, name##_nr = NV * (int)(sizeof(vec) / sizeof(float)) };                          \
  __VA_ARGS__ static void name(int kc, const float *restrict a, const float *restrict b, float *restrict c, \
                               size_t ldc, int mr, int nr, float alpha, float beta) {                     \
    enum { VL = sizeof(vec) / sizeof(float), NR = VL * NV };                                             \
    vec acc[MR][NV];                                                                                     \
    for (int i = 0; i < MR; i++)                                                                         \
      for (int v = 0; v < NV; v++) acc[i][v] = (vec){0};                                                 \
    for (int p = 0; p < kc; p++, a += MR, b += NR) {                                                     \
      vec bv[NV];                                                                                        \
      for (int v = 0; v < NV; v++) memcpy(&bv[v], b + v * VL, sizeof(vec));                              \
      for (int i = 0; i < MR; i++)                                                                       \
        for (int v = 0; v < NV; v++) acc[i][v] += a[i] * bv[v];                                          \
    }                                                                                                    \
    float tile[MR * NR];                                                                                 \
    memcpy(tile, acc, sizeof tile);                                                                      \
    update_c(tile, c, ldc, mr, nr, alpha, beta, MR, NR);                                                 \
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
  int (*supported)(void);
} kernel;

static const kernel kernels[] = { /* best first */
#if defined(__x86_64__) || defined(__i386__)
  {"avx512", micro_avx512_mr, micro_avx512_nr, micro_avx512, has_avx512},
  {"avx2", micro_avx2_mr, micro_avx2_nr, micro_avx2, has_avx2},
#endif
  {"generic", micro_generic_mr, micro_generic_nr, micro_generic, always},
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
      for (int i = 0; i < rows; i++)
        for (int p = 0; p < kc; p++) dst[p * R + i] = s[i * rs + p * cs];
    }
    for (int p = 0; p < kc; p++)
      for (int i = rows; i < R; i++) dst[p * R + i] = 0.0f;
  }
}

static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

void ft_builtin_sgemm(bool transA, bool transB, int m, int n, int k, float alpha, const float *a, int lda,
                      const float *b, int ldb, float beta, float *c, int ldc) {
  const kernel *kr = current;
  const int MR = kr->mr, NR = kr->nr, mc_max = MC / MR * MR;
  const size_t rsa = transA ? 1 : (size_t)lda, csa = transA ? (size_t)lda : 1;
  const size_t rsb = transB ? 1 : (size_t)ldb, csb = transB ? (size_t)ldb : 1; /* B(p, j) = b[p*rsb + j*csb] */
  const int kc_max = k < KC ? k : KC, nc_max = n < NC ? n : NC;
  const size_t a_size = round_up(round_up((size_t)(m < mc_max ? m : mc_max), MR) * kc_max, 16); /* 64 bytes */
  const size_t b_size = round_up((size_t)nc_max, NR) * kc_max;
  float *apack = aligned_alloc(64, round_up((a_size + b_size) * sizeof(float), 64));
  if (!apack) abort(); /* as good as any other way to report running out of memory mid-kernel */
  float *bpack = apack + a_size;

  for (int jc = 0; jc < n; jc += NC) {
    const int nc = n - jc < NC ? n - jc : NC;
    for (int pc = 0; pc < k; pc += KC) {
      const int kc = k - pc < KC ? k - pc : KC;
      const float beta_pc = pc == 0 ? beta : 1.0f;
      pack(b + pc * rsb + jc * csb, csb, rsb, nc, kc, NR, bpack);
      for (int ic = 0; ic < m; ic += mc_max) {
        const int mc = m - ic < mc_max ? m - ic : mc_max;
        pack(a + ic * rsa + pc * csa, rsa, csa, mc, kc, MR, apack);
        for (int jr = 0; jr < nc; jr += NR) {
          const int nr = nc - jr < NR ? nc - jr : NR;
          for (int ir = 0; ir < mc; ir += MR) {
            const int mr = mc - ir < MR ? mc - ir : MR;
            kr->fn(kc, apack + (size_t)ir * kc, bpack + (size_t)jr * kc, c + (size_t)(ic + ir) * ldc + jc + jr,
                   ldc, mr, nr, alpha, beta_pc);
          }
        }
      }
    }
  }
  free(apack);
}
