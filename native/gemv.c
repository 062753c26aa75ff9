/* Products with a handful of rows (token-by-token generation: one row per sequence) without packing. The
 * packed GEMM copies op(B) into panels on every call, which for one row of A means reading the whole
 * weight, writing it again and reading the copy: three passes where the product itself needs one. Here B
 * is streamed once, in whichever layout it has:
 *   op(B) = Bᵀ (a torch Linear weight [n, k]): each C(i, j) is a dot product of A's row i with B's row j;
 *   op(B) = B  (a Conv1D weight [k, n]):        C's rows accumulate A(i, p) times B's row p, a block of
 *                                              columns at a time in a local buffer.
 * The work is split across the pool, since a weight this size is read at memory speed and two cores read it
 * faster than one: by columns of C, except for op(B) = B with a narrow C, split by B's rows (see band_gemv). */
#include <stdlib.h>

#include "kernel.h"

#define ROW_BLOCK 1024 /* columns of C accumulated at once in the B-row form: MAX_ROWS x 4 KB in L1 */

INLINE void store(float *c, float s, float alpha, float beta) { *c = alpha * s + (beta == 0.0f ? 0.0f : beta * *c); }

/* C(i, j) for M rows over columns [begin, end), B's row j contiguous: M dot products share each read of B. */
INLINE void dot_rows(const ft_gemm_args *g, const float *a, size_t begin, size_t end, const int M) {
  const size_t k = (size_t)g->k;
  for (size_t j = begin; j < end; j++) {
    const float *restrict bj = g->b + j * (size_t)g->ldb;
    float lane[FT_GEMV_MAX_ROWS][2 * LANES] = {{0}};
    size_t p = 0;
    for (; p + 2 * LANES <= k; p += 2 * LANES)
      for (int i = 0; i < M; i++)
        for (int l = 0; l < 2 * LANES; l++) lane[i][l] += a[i * k + p + l] * bj[p + l];
    for (int i = 0; i < M; i++) {
      float s = 0.0f;
      for (size_t q = p; q < k; q++) s += a[i * k + q] * bj[q];
      for (int l = 0; l < 2 * LANES; l++) s += lane[i][l];
      store(g->c + (size_t)i * g->ldc + j, s, g->alpha, g->beta);
    }
  }
}

/* acc[i][0, w) += sum over p in [p0, p1) of A(i, p) * B(p, j0 + ·), B's row p contiguous: four rows of B per
 * pass over the accumulators. One row per pass loads and stores the accumulators once per row of B and makes
 * each short run of a row a new stream for the prefetcher; four rows per pass read B about 1.5x as fast on
 * one core. */
INLINE void axpy_rows(const ft_gemm_args *g, const float *a, size_t p0, size_t p1, size_t j0, size_t w,
                      float *acc, size_t ldacc, const int M) {
  const size_t k = (size_t)g->k, ldb = (size_t)g->ldb;
  size_t p = p0;
  for (; p + 4 <= p1; p += 4) {
    const float *restrict b0 = g->b + p * ldb + j0, *restrict b1 = b0 + ldb, *restrict b2 = b1 + ldb,
                          *restrict b3 = b2 + ldb;
    for (int i = 0; i < M; i++) {
      float *restrict ci = acc + (size_t)i * ldacc;
      const float x0 = a[i * k + p], x1 = a[i * k + p + 1], x2 = a[i * k + p + 2], x3 = a[i * k + p + 3];
      for (size_t j = 0; j < w; j++) ci[j] += x0 * b0[j] + x1 * b1[j] + x2 * b2[j] + x3 * b3[j];
    }
  }
  for (; p < p1; p++) {
    const float *restrict bp = g->b + p * ldb + j0;
    for (int i = 0; i < M; i++) {
      float *restrict ci = acc + (size_t)i * ldacc;
      const float aip = a[i * k + p];
      for (size_t j = 0; j < w; j++) ci[j] += aip * bp[j];
    }
  }
}

/* Columns [begin, end) of C, ROW_BLOCK at a time, over all of B's rows. */
INLINE void axpy_columns(const ft_gemm_args *g, const float *a, size_t begin, size_t end, const int M) {
  float acc[FT_GEMV_MAX_ROWS][ROW_BLOCK];
  for (size_t j0 = begin; j0 < end; j0 += ROW_BLOCK) {
    const size_t w = end - j0 < ROW_BLOCK ? end - j0 : ROW_BLOCK;
    for (int i = 0; i < M; i++)
      for (size_t j = 0; j < w; j++) acc[i][j] = 0.0f;
    axpy_rows(g, a, 0, (size_t)g->k, j0, w, &acc[0][0], ROW_BLOCK, M);
    for (int i = 0; i < M; i++)
      for (size_t j = 0; j < w; j++) store(g->c + (size_t)i * g->ldc + j0 + j, acc[i][j], g->alpha, g->beta);
  }
}

/* One clone per row count, so M is a constant the loops unroll over. */
#define FORMS(M)                                                                                        \
  FT_CLONES static void dot_##M(const ft_gemm_args *g, const float *a, size_t b, size_t e) { dot_rows(g, a, b, e, M); } \
  FT_CLONES static void axpy_##M(const ft_gemm_args *g, const float *a, size_t b, size_t e) { axpy_columns(g, a, b, e, M); } \
  FT_CLONES static void band_##M(const ft_gemm_args *g, const float *a, size_t p0, size_t p1, float *acc) {        \
    axpy_rows(g, a, p0, p1, 0, (size_t)g->n, acc, (size_t)g->n, M);                                              \
  }
FORMS(1)
FORMS(2)
FORMS(3)
FORMS(4)
typedef void (*form)(const ft_gemm_args *, const float *, size_t, size_t);
typedef void (*band_form)(const ft_gemm_args *, const float *, size_t, size_t, float *);
static const form DOT[FT_GEMV_MAX_ROWS] = {dot_1, dot_2, dot_3, dot_4};
static const form AXPY[FT_GEMV_MAX_ROWS] = {axpy_1, axpy_2, axpy_3, axpy_4};
static const band_form BAND[FT_GEMV_MAX_ROWS] = {band_1, band_2, band_3, band_4};

typedef struct {
  const ft_gemm_args *g;
  const float *a;
  float *partial; /* band form: nparts x m x n sums, one block per thread */
} gemv_job;

static void gemv_part(void *ctx, int part, int nparts) {
  const gemv_job *j = ctx;
  size_t begin, end;
  ft_split((size_t)j->g->n, 16, part, nparts, &begin, &end);
  if (end > begin) (j->g->transB ? DOT : AXPY)[j->g->m - 1](j->g, j->a, begin, end);
}

/* op(B) = B split by rows instead: with C a few thousand columns wide, a thread's share of every row of B is a
 * run of 1.5-6 KB, and a GPT-2 layer's products read B at 21-39 GB/s that way against 45 for the LM head's
 * contiguous rows. A band of whole rows is one contiguous stream; each thread sums its band into its own
 * partial C, and the partials are added afterwards (m x n floats each, nothing beside B). */
#define BAND_MAX_COLUMNS 4096 /* a partial row of C stays in L1/L2: 16 KB per row of A */

static void band_part(void *ctx, int part, int nparts) {
  const gemv_job *j = ctx;
  const size_t mn = (size_t)j->g->m * (size_t)j->g->n;
  float *acc = j->partial + (size_t)part * mn;
  for (size_t q = 0; q < mn; q++) acc[q] = 0.0f;
  size_t begin, end;
  ft_split((size_t)j->g->k, 4, part, nparts, &begin, &end);
  if (end > begin) BAND[j->g->m - 1](j->g, j->a, begin, end, acc);
}

/* Below 256 KB of B per thread, waking a thread costs more than the bandwidth it adds. */
static int gemv_parts(const ft_gemm_args *g, size_t split) {
  size_t parts = (size_t)g->n * (size_t)g->k * sizeof(float) / (256 * 1024), threads = (size_t)ft_threads();
  if (parts > threads) parts = threads;
  if (parts > split / 16) parts = split / 16;
  return parts < 1 ? 1 : (int)parts;
}

static void band_gemv(gemv_job *j) {
  const ft_gemm_args *g = j->g;
  const size_t m = (size_t)g->m, n = (size_t)g->n;
  const int nparts = gemv_parts(g, (size_t)g->k);
  j->partial = malloc((size_t)nparts * m * n * sizeof(float));
  if (!j->partial) abort();
  ft_parallel(band_part, j, nparts);
  for (size_t i = 0; i < m; i++)
    for (size_t c = 0; c < n; c++) {
      float s = 0.0f;
      for (int part = 0; part < nparts; part++) s += j->partial[((size_t)part * m + i) * n + c];
      store(g->c + i * (size_t)g->ldc + c, s, g->alpha, g->beta);
    }
  free(j->partial);
}

void ft_gemv(const ft_gemm_args *g) {
  const size_t m = (size_t)g->m, k = (size_t)g->k;
  float *copy = NULL;
  const float *a = g->a;
  if (g->transA || g->lda != g->k) { /* op(A)'s rows made contiguous: m x k floats, small by definition */
    copy = malloc(m * k * sizeof(float));
    if (!copy) abort();
    for (size_t i = 0; i < m; i++)
      for (size_t p = 0; p < k; p++) copy[i * k + p] = g->transA ? g->a[p * (size_t)g->lda + i] : g->a[i * (size_t)g->lda + p];
    a = copy;
  }
  gemv_job j = {g, a, NULL};
  if (!g->transB && g->n <= BAND_MAX_COLUMNS && gemv_parts(g, (size_t)g->k) > 1) band_gemv(&j);
  else ft_parallel(gemv_part, &j, gemv_parts(g, (size_t)g->n));
  free(copy);
}
