/* What the kernel files share: the CPU-specific clones, the range splitter that spreads a kernel over the
 * pool, and the vectorisable helpers every row kernel needs. static inline, so each clone inlines its own
 * vectorised copy. */
#ifndef FINETUNE_KERNEL_H
#define FINETUNE_KERNEL_H

#include <math.h>
#include <string.h>

#include "native.h"

/* The kernels are compiled three times on x86-64 Linux, for the baseline (SSE2), x86-64-v3 (AVX2 + FMA) and
 * x86-64-v4 (AVX-512), and the dynamic loader picks one by CPU: 8-wide vectors make ft_expf and the lane
 * reductions 2-3x faster than 4-wide, 16-wide ones the GELU another 2x on Zen 5. (In target_clones a comma
 * separates clones, so "avx2,fma" would make two clones, neither with both.) */
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__))
#define FT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FT_CLONES
#endif

/* Helpers are inlined so each clone gets its own vectorised copy. */
#define INLINE static inline __attribute__((always_inline))

/* Elements per thread below which a kernel stays on the calling thread (waking a worker costs ~10 us). */
#define MIN_WORK_PER_THREAD 16384
#define LANES 8

typedef void (*range_fn)(const void *args, size_t begin, size_t end, int part);
typedef struct {
  range_fn fn;
  const void *args;
  size_t count, align;
} range_job;

static inline void range_part(void *ctx, int part, int nparts) {
  const range_job *j = ctx;
  size_t begin, end;
  ft_split(j->count, j->align, part, nparts, &begin, &end);
  if (end > begin) j->fn(j->args, begin, end, part);
}

static inline int parts_for(size_t work, size_t count) {
  size_t parts = work / MIN_WORK_PER_THREAD, threads = (size_t)ft_threads();
  if (parts > threads) parts = threads;
  if (parts > count) parts = count;
  return parts < 1 ? 1 : (int)parts;
}

static inline void run(range_fn fn, const void *args, size_t count, size_t align, int nparts) {
  range_job j = {fn, args, count, align};
  ft_parallel(range_part, &j, nparts);
}

static inline void run_rows(range_fn fn, const void *args, size_t rows, size_t cols) {
  run(fn, args, rows, 1, parts_for(rows * cols, rows));
}

/* Elementwise kernels split on 16-float boundaries so two threads never write the same cache line. */
static inline void run_elements(range_fn fn, const void *args, size_t n) { run(fn, args, n, 16, parts_for(n, n)); }

/* exp(x) for x <= 88 (every caller passes x <= 0): 2^n exp(r) with n = round(x / ln2) and |r| <= ln2 / 2
 * (Cody-Waite), exp(r) by Cephes' expf polynomial; within 1.5 ulp of expf. Below -87.3 it gives 0 rather
 * than a denormal. There is deliberately no upper clamp: gcc evaluates both sides of a clamp for every
 * lane, and the saturated side produced denormals whose microcode assists made gelu 4x slower. */
INLINE float ft_expf(float x) {
  x = x < -104.0f ? -104.0f : x; /* keeps n in range below, so -inf gives exactly 0 */
  const float t = x * 1.44269504088896341f + 12582912.0f; /* adding 1.5 * 2^23 rounds to an integer */
  const float n = t - 12582912.0f;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t bits; /* n as an integer, from the low mantissa bits of t */
  memcpy(&bits, &t, sizeof bits);
  int32_t e = bits - 0x4B400000 + 127;
  e = e < 0 ? 0 : e; /* 2^n underflows: scale 0 */
  e <<= 23;
  float scale;
  memcpy(&scale, &e, sizeof scale);
  return p * scale;
}

INLINE float row_max(const float *x, size_t n) {
  float lane[LANES];
  for (int l = 0; l < LANES; l++) lane[l] = -INFINITY;
  size_t j = 0;
  for (; j + LANES <= n; j += LANES)
    for (int l = 0; l < LANES; l++) lane[l] = x[j + l] > lane[l] ? x[j + l] : lane[l];
  float mx = -INFINITY;
  for (; j < n; j++) mx = x[j] > mx ? x[j] : mx;
  for (int l = 0; l < LANES; l++) mx = lane[l] > mx ? lane[l] : mx;
  return mx;
}

/* sum of a[j] * (b ? b[j] : 1) */
INLINE double dot(const float *a, const float *b, size_t n) {
  double lane[LANES] = {0};
  size_t j = 0;
  for (; j + LANES <= n; j += LANES)
    for (int l = 0; l < LANES; l++) lane[l] += (double)a[j + l] * (b ? b[j + l] : 1.0f);
  double s = 0.0;
  for (; j < n; j++) s += (double)a[j] * (b ? b[j] : 1.0f);
  for (int l = 0; l < LANES; l++) s += lane[l];
  return s;
}

/* Dropout's keep decision for element `index` of a tensor: a counter-based hash, so any thread can draw any
 * element, and backward recomputes the mask from the two seed words instead of storing it. Two rounds of
 * Wellons' lowbias32 with a seed word before each, so masks under different seeds are not shifts of one
 * another. Uses only 32-bit integer ops, so src/backend/typescript-fused.ts reproduces it bit for bit. */
INLINE uint32_t ft_mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

/* Kept when the hash is at least `threshold` = round(p * 2^32): dropped with probability p. */
INLINE bool ft_keep(uint32_t index, uint32_t seed0, uint32_t seed1, uint32_t threshold) {
  return ft_mix32(ft_mix32(index ^ seed0) + seed1) >= threshold;
}

#endif
