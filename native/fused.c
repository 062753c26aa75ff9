/* Elementwise kernels the autograd layer would otherwise run as JavaScript loops: dropout by hashed mask,
 * sums, a bias added to every row, and the column sums of a bias gradient. Each spreads across the pool like the kernels in
 * kernels.c. */
#include <stdlib.h>

#include "kernel.h"

typedef struct {
  const float *x, *b;
  float *y;
  double *sums;
  size_t rows, cols;
  uint32_t threshold, seed0, seed1;
  float scale;
} elementwise_args;

FT_CLONES static void dropout_range(const void *args, size_t begin, size_t end, int part) {
  const elementwise_args *a = args;
  const float *x = a->x, scale = a->scale;
  float *y = a->y;
  const uint32_t seed0 = a->seed0, seed1 = a->seed1, threshold = a->threshold;
  for (size_t i = begin; i < end; i++) y[i] = x[i] * (ft_keep((uint32_t)i, seed0, seed1, threshold) ? scale : 0.0f);
}

void ft_dropout(const float *x, float *y, size_t n, uint32_t threshold, float scale, uint32_t seed0, uint32_t seed1) {
  elementwise_args a = {.x = x, .y = y, .threshold = threshold, .scale = scale, .seed0 = seed0, .seed1 = seed1};
  run_elements(dropout_range, &a, n);
}

FT_CLONES static void add_range(const void *args, size_t begin, size_t end, int part) {
  const elementwise_args *a = args;
  for (size_t i = begin; i < end; i++) a->y[i] = a->x[i] + a->b[i];
}

void ft_add(const float *a, const float *b, float *out, size_t n) {
  elementwise_args e = {.x = a, .b = b, .y = out};
  run_elements(add_range, &e, n);
}

FT_CLONES static void mul_range(const void *args, size_t begin, size_t end, int part) {
  const elementwise_args *a = args;
  for (size_t i = begin; i < end; i++) a->y[i] = a->x[i] * a->b[i];
}

void ft_mul(const float *a, const float *b, float *out, size_t n) {
  elementwise_args e = {.x = a, .b = b, .y = out};
  run_elements(mul_range, &e, n);
}

FT_CLONES static void add_rows_range(const void *args, size_t begin, size_t end, int part) {
  const elementwise_args *a = args;
  const size_t cols = a->cols;
  const float *restrict b = a->b;
  for (size_t r = begin; r < end; r++) {
    float *restrict y = a->y + r * cols;
    for (size_t j = 0; j < cols; j++) y[j] += b[j];
  }
}

void ft_add_rows(float *x, const float *row, size_t rows, size_t cols) {
  elementwise_args a = {.b = row, .y = x, .cols = cols};
  run_rows(add_rows_range, &a, rows, cols);
}

/* Each part owns a stripe of columns and sums it down all rows in double. */
FT_CLONES static void sum_rows_range(const void *args, size_t begin, size_t end, int part) {
  const elementwise_args *a = args;
  double *s = a->sums + begin;
  const size_t width = end - begin;
  for (size_t j = 0; j < width; j++) s[j] = 0.0;
  for (size_t r = 0; r < a->rows; r++) {
    const float *x = a->x + r * a->cols + begin;
    for (size_t j = 0; j < width; j++) s[j] += x[j];
  }
  for (size_t j = 0; j < width; j++) a->y[begin + j] += (float)s[j];
}

void ft_sum_rows(const float *x, float *out, size_t rows, size_t cols) {
  double *sums = malloc((cols + 1) * sizeof(double));
  if (!sums) abort();
  elementwise_args a = {.x = x, .y = out, .sums = sums, .rows = rows, .cols = cols};
  run(sum_rows_range, &a, cols, 16, parts_for(rows * cols, (cols + 15) / 16));
  free(sums);
}
