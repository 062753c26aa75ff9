/* The machine's arithmetic peak, the yardstick for every GFLOP/s figure the benches print: every pool
 * thread runs a loop of independent multiply-adds with no memory traffic (16 accumulator chains, more than
 * latency x pipes on current x86 cores), and the rate is the flops over the wall time of the slowest thread. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "native.h"

#define CHAINS 16

typedef double (*peak_loop)(long iters, float seed); /* returns flops done, folding the results into a sum */

typedef float v4f __attribute__((vector_size(16)));
static double fma_generic(long iters, float seed) {
  v4f acc[CHAINS], x = {seed, seed, seed, seed}, y = x * 1e-3f;
  for (int j = 0; j < CHAINS; j++) acc[j] = x + (float)j;
  for (long i = 0; i < iters; i++)
    for (int j = 0; j < CHAINS; j++) acc[j] = acc[j] * x + y;
  float s = 0;
  for (int j = 0; j < CHAINS; j++) s += acc[j][0];
  return s == 12345.678f ? 0 : (double)iters * CHAINS * 4 * 2; /* the comparison keeps the loop alive */
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static double fma_avx2(long iters, float seed) {
  __m256 acc[CHAINS], x = _mm256_set1_ps(seed), y = _mm256_set1_ps(seed * 1e-3f);
  for (int j = 0; j < CHAINS; j++) acc[j] = _mm256_set1_ps((float)j);
  for (long i = 0; i < iters; i++)
    for (int j = 0; j < CHAINS; j++) acc[j] = _mm256_fmadd_ps(acc[j], x, y);
  float s = 0;
  for (int j = 0; j < CHAINS; j++) s += _mm256_cvtss_f32(acc[j]);
  return s == 12345.678f ? 0 : (double)iters * CHAINS * 8 * 2;
}

__attribute__((target("avx512f"))) static double fma_avx512(long iters, float seed) {
  __m512 acc[CHAINS], x = _mm512_set1_ps(seed), y = _mm512_set1_ps(seed * 1e-3f);
  for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_set1_ps((float)j);
  for (long i = 0; i < iters; i++)
    for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_fmadd_ps(acc[j], x, y);
  float s = 0;
  for (int j = 0; j < CHAINS; j++) s += _mm512_reduce_add_ps(acc[j]);
  return s == 12345.678f ? 0 : (double)iters * CHAINS * 16 * 2;
}

/* vdpbf16ps: 16 lanes, each two bf16 products added to an fp32 accumulator: 64 flops. */
__attribute__((target("avx512f,avx512bf16"))) static double dp_avx512(long iters, float seed) {
  __m512 acc[CHAINS];
  const __m512bh x = (__m512bh)_mm512_set1_epi32(0x3c003c00), y = (__m512bh)_mm512_set1_epi32(seed > 1 ? 0 : 0x3c003c00);
  for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_set1_ps((float)j);
  for (long i = 0; i < iters; i++)
    for (int j = 0; j < CHAINS; j++) acc[j] = _mm512_dpbf16_ps(acc[j], x, y);
  float s = 0;
  for (int j = 0; j < CHAINS; j++) s += _mm512_reduce_add_ps(acc[j]);
  return s == 12345.678f ? 0 : (double)iters * CHAINS * 16 * 4;
}
#endif

typedef struct {
  peak_loop fn;
  long iters;
  double *flops;
} peak_job;

static void peak_part(void *ctx, int part, int nparts) {
  (void)nparts;
  const peak_job *j = ctx;
  j->flops[part] = j->fn(j->iters, 0.999f);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static peak_loop loop_for(const char *kind, const char **isa) {
#if defined(__x86_64__) || defined(__i386__)
  if (strcmp(kind, "bf16") == 0) {
    *isa = "avx512bf16 vdpbf16ps";
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16") ? dp_avx512 : NULL;
  }
  if (__builtin_cpu_supports("avx512f")) return *isa = "avx512 fma", fma_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return *isa = "avx2 fma", fma_avx2;
#else
  if (strcmp(kind, "bf16") == 0) return *isa = "none", NULL;
#endif
  return *isa = "portable vectors", fma_generic;
}

double ft_peak_gflops(const char *kind, double seconds, const char **isa) {
  peak_loop fn = loop_for(kind, isa);
  if (!fn) return -1;
  const int threads = ft_threads();
  double *flops = calloc((size_t)threads, sizeof(double));
  if (!flops) abort();
  /* Calibrate on one thread to about a third of `seconds`, then take the best of three runs on all of them. */
  long iters = 1 << 14;
  for (;;) {
    double t = now();
    fn(iters, 0.999f);
    if (now() - t > seconds / 3 || iters > (1L << 40)) break;
    iters *= 2;
  }
  double best = 0;
  for (int run = 0; run < 3; run++) {
    peak_job j = {fn, iters, flops};
    double t = now();
    ft_parallel(peak_part, &j, threads);
    double dt = now() - t, total = 0;
    for (int i = 0; i < threads; i++) total += flops[i];
    if (total / dt > best) best = total / dt;
  }
  free(flops);
  return best * 1e-9;
}
