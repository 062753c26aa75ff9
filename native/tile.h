/* The last step every micro-kernel shares: writing its register tile back to C. */
#ifndef FINETUNE_TILE_H
#define FINETUNE_TILE_H

#include <stddef.h>

/* For every loop over a register tile's accumulators: unrolled before the compiler decides where they live.
 * Rolled, gcc kept a copy of them on the stack, zeroed before and stored after every tile (13% of a K = 64
 * product's time). */
#define UNROLL _Pragma("GCC unroll 16")

/* C = alpha * tile + bias + beta * C for the mr x nr corner of an MR x NR tile (row stride NR), bias (the
 * tile's nr columns of a row added to every row) may be NULL; beta == 0 never reads C. */
static inline __attribute__((always_inline)) void update_c(const float *restrict tile, float *restrict c,
    size_t ldc, int mr, int nr, float alpha, const float *restrict bias, float beta, const int MR, const int NR) {
  if (mr == MR && nr == NR) { /* constant bounds: vectorised */
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++)
        c[i * ldc + j] = alpha * tile[i * NR + j] + (bias ? bias[j] : 0.0f) + (beta == 0.0f ? 0.0f : beta * c[i * ldc + j]);
    return;
  }
  for (int i = 0; i < mr; i++)
    for (int j = 0; j < nr; j++)
      c[i * ldc + j] = alpha * tile[i * NR + j] + (bias ? bias[j] : 0.0f) + (beta == 0.0f ? 0.0f : beta * c[i * ldc + j]);
}

#endif
