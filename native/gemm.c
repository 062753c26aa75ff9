/* GEMM dispatch: the BLAS library when one was found (it threads itself), else the builtin kernel spread
 * over the pool, either one batch item per thread or one stripe of C per thread. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "native.h"

static bool use_blas;

bool ft_gemm_select(const char *which) {
  if (strcmp(which, "blas") == 0) {
    if (!ft_blas_sgemm()) return false;
    use_blas = true;
    return true;
  }
  if (!ft_builtin_select(strcmp(which, "builtin") == 0 ? NULL : which)) return false;
  use_blas = false;
  return true;
}

const char *ft_gemm_name(void) { return use_blas ? ft_blas_name() : "builtin"; }

static const float *item_a(const ft_gemm_args *g, int i) { return g->a + (size_t)i * g->strideA; }
static const float *item_b(const ft_gemm_args *g, int i) { return g->b + (size_t)i * g->strideB; }
static float *item_c(const ft_gemm_args *g, int i) { return g->c + (size_t)i * g->strideC; }

/* k == 0 or alpha == 0: C = beta * C, where beta == 0 must clear NaN garbage rather than multiply it. */
static void scale_c(const ft_gemm_args *g) {
  for (int i = 0; i < g->batch; i++) {
    float *c = item_c(g, i);
    for (int r = 0; r < g->m; r++, c += g->ldc)
      for (int j = 0; j < g->n; j++) c[j] = g->beta == 0.0f ? 0.0f : g->beta * c[j];
  }
}

static void blas_gemm(ft_cblas_sgemm sgemm, const ft_gemm_args *g) {
  for (int i = 0; i < g->batch; i++)
    sgemm(FT_ROW_MAJOR, g->transA ? FT_TRANS : FT_NO_TRANS, g->transB ? FT_TRANS : FT_NO_TRANS, g->m, g->n, g->k,
          g->alpha, item_a(g, i), g->lda, item_b(g, i), g->ldb, g->beta, item_c(g, i), g->ldc);
}

static void builtin_item(const ft_gemm_args *g, int i) {
  ft_builtin_sgemm(g->transA, g->transB, g->m, g->n, g->k, g->alpha, item_a(g, i), g->lda, item_b(g, i), g->ldb,
                   g->beta, item_c(g, i), g->ldc);
}

static void batch_part(void *ctx, int part, int nparts) {
  const ft_gemm_args *g = ctx;
  size_t begin, end;
  ft_split((size_t)g->batch, 1, part, nparts, &begin, &end);
  for (size_t i = begin; i < end; i++) builtin_item(g, (int)i);
}

typedef struct {
  const ft_gemm_args *g;
  int item;
} stripe_job;

/* A stripe of C's columns: each thread packs the A it needs (all of it) and its own columns of B. For short A. */
static void column_part(void *ctx, int part, int nparts) {
  const stripe_job *s = ctx;
  const ft_gemm_args *g = s->g;
  size_t begin, end;
  ft_split((size_t)g->n, (size_t)ft_builtin_nr(), part, nparts, &begin, &end);
  if (end > begin)
    ft_builtin_sgemm(g->transA, g->transB, g->m, (int)(end - begin), g->k, g->alpha, item_a(g, s->item), g->lda,
                     item_b(g, s->item) + begin * (g->transB ? (size_t)g->ldb : 1), g->ldb, g->beta,
                     item_c(g, s->item) + begin, g->ldc);
}

/* Columns jc.. of op(B), rows p0..p1 (whole KC slabs), shared by the threads: they pack it together, then
 * each multiplies its stripe of A's rows by it. Packing B in every thread instead would repeat the weight's
 * transposing copy once per thread; packing many slabs per phase keeps the waits for the slowest thread few. */
typedef struct {
  const ft_gemm_args *g;
  int item, jc, nc, p0, p1;
  size_t ncpad; /* floats per row of a slab: nc rounded up to whole panels */
  float *slabs; /* slab of rows pc.. at (pc - p0) * ncpad */
} slab_job;

static void pack_part(void *ctx, int part, int nparts) {
  const slab_job *s = ctx;
  const int KC = ft_builtin_kc();
  size_t begin, end;
  ft_split((size_t)s->nc, (size_t)ft_builtin_nr(), part, nparts, &begin, &end);
  for (int pc = s->p0; pc < s->p1 && end > begin; pc += KC) {
    const int kc = s->p1 - pc < KC ? s->p1 - pc : KC;
    ft_builtin_pack_b(s->g->transB, item_b(s->g, s->item), s->g->ldb, pc, kc, s->jc + (int)begin, (int)(end - begin),
                      s->slabs + (size_t)(pc - s->p0) * s->ncpad + begin * (size_t)kc);
  }
}

static void row_part(void *ctx, int part, int nparts) {
  const slab_job *s = ctx;
  const ft_gemm_args *g = s->g;
  const int KC = ft_builtin_kc();
  size_t begin, end;
  ft_split((size_t)g->m, (size_t)ft_builtin_mr(), part, nparts, &begin, &end);
  for (int pc = s->p0; pc < s->p1 && end > begin; pc += KC) {
    const int kc = s->p1 - pc < KC ? s->p1 - pc : KC;
    const float *a = item_a(g, s->item) + begin * (g->transA ? 1 : (size_t)g->lda) +
                     (size_t)pc * (g->transA ? (size_t)g->lda : 1);
    ft_builtin_block(g->transA, (int)(end - begin), s->nc, kc, g->alpha, a, g->lda,
                     s->slabs + (size_t)(pc - s->p0) * s->ncpad, pc == 0 ? g->beta : 1.0f,
                     item_c(g, s->item) + begin * (size_t)g->ldc + s->jc, g->ldc);
  }
}

static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

#define SHARED_B_FLOATS ((size_t)4 << 20) /* 16 MB: every slab of a layer's weight in one phase */

static void shared_b_item(const ft_gemm_args *g, int item, int nparts) {
  const int KC = ft_builtin_kc(), NC = ft_builtin_nc();
  const size_t ncpad_max = round_up((size_t)(g->n < NC ? g->n : NC), (size_t)ft_builtin_nr());
  size_t rows = SHARED_B_FLOATS / ncpad_max / (size_t)KC * (size_t)KC; /* rows of op(B) per phase */
  if (rows < (size_t)KC) rows = (size_t)KC;
  if (rows > (size_t)g->k) rows = (size_t)g->k;
  float *slabs = aligned_alloc(64, round_up(ncpad_max * rows * sizeof(float), 64));
  if (!slabs) abort();
  for (int jc = 0; jc < g->n; jc += NC)
    for (int p0 = 0; p0 < g->k; p0 += (int)rows) {
      const int nc = g->n - jc < NC ? g->n - jc : NC;
      slab_job s = {g, item, jc, nc, p0, g->k - p0 < (int)rows ? g->k : p0 + (int)rows,
                    round_up((size_t)nc, (size_t)ft_builtin_nr()), slabs};
      ft_parallel(pack_part, &s, nparts);
      ft_parallel(row_part, &s, nparts);
    }
  free(slabs);
}

/* Below about 2 MFLOP per thread, waking a thread costs more than it saves. */
static int useful_threads(double flops, size_t max_parts) {
  double by_work = floor(flops / 2e6);
  int t = ft_threads();
  if (by_work < t) t = by_work < 1 ? 1 : (int)by_work;
  return (size_t)t > max_parts ? (int)max_parts : t;
}

void ft_gemm(const ft_gemm_args *g) {
  if (g->m == 0 || g->n == 0 || g->batch == 0) return;
  if (g->k == 0 || g->alpha == 0.0f) {
    scale_c(g);
    return;
  }
  if (use_blas) {
    blas_gemm(ft_blas_sgemm(), g);
    return;
  }
  if (g->batch == 1 && g->m <= FT_GEMV_MAX_ROWS) {
    ft_gemv(g);
    return;
  }
  const double flops = 2.0 * g->m * g->n * g->k;
  /* Items may only run concurrently when their C matrices do not overlap. */
  const bool disjoint = g->strideC >= (size_t)(g->m - 1) * g->ldc + g->n;
  if (g->batch > 1 && disjoint && g->batch >= ft_threads()) {
    ft_parallel(batch_part, (void *)g, useful_threads(flops * g->batch, (size_t)g->batch));
    return;
  }
  /* Rows of C split with one shared packing of B, unless A is too short to give each thread a few tiles. */
  const bool split_rows = g->m > g->n || g->m >= 4 * ft_builtin_mr() * ft_threads();
  const size_t align = split_rows ? (size_t)ft_builtin_mr() : (size_t)ft_builtin_nr();
  const size_t units = ((split_rows ? g->m : g->n) + align - 1) / align;
  const int nparts = useful_threads(flops, units);
  for (int i = 0; i < g->batch; i++) {
    if (split_rows && nparts > 1) {
      shared_b_item(g, i, nparts);
    } else {
      stripe_job s = {g, i};
      ft_parallel(column_part, &s, nparts);
    }
  }
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare_doubles(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* The bench's yardstick: median GFLOP/s of `reps` timed runs of cblas_sgemm on the caller's matrices, with
 * no JS in between. Returns -1 when no BLAS library was found. */
double ft_blas_gflops(const ft_gemm_args *g, int reps) {
  ft_cblas_sgemm sgemm = ft_blas_sgemm();
  if (!sgemm || reps < 1) return -1;
  double *times = malloc(sizeof(double) * (size_t)reps);
  if (!times) abort();
  for (int r = 0; r < reps; r++) {
    double t = now();
    blas_gemm(sgemm, g);
    times[r] = now() - t;
  }
  qsort(times, (size_t)reps, sizeof(double), compare_doubles);
  double median = reps % 2 ? times[reps / 2] : 0.5 * (times[reps / 2 - 1] + times[reps / 2]);
  free(times);
  return 2.0 * g->m * g->n * g->k * g->batch / median * 1e-9;
}
