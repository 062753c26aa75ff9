/* Finds an optimised CBLAS at run time. Nothing is linked at build time, so the addon builds with only a C
 * compiler and the same binary uses whatever BLAS the machine it lands on has. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"

static ft_cblas_sgemm sgemm;
static void (*openblas_set_threads)(int);
static void (*blis_set_threads)(long);
static const char *name = "none";

/* Generic names last: libblas.so.3 / libcblas.so.3 may be the netlib reference BLAS, which is far slower
 * than the builtin GEMM, so they are only used when they turn out to be OpenBLAS or BLIS. */
static const char *const candidates[] = {
#ifdef __APPLE__
  "/System/Library/Frameworks/Accelerate.framework/Accelerate",
#endif
  "libopenblas.so.0", "libopenblas.so", "libopenblasp-r0.so", "libopenblaso-r0.so", "libblis.so.4",
  "libcblas.so.3", "libblas.so.3",
};

static int is_generic(const char *lib) {
  return strcmp(lib, "libcblas.so.3") == 0 || strcmp(lib, "libblas.so.3") == 0;
}

static int try_load(const char *lib) {
  void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (!h) return 0;
  ft_cblas_sgemm f = (ft_cblas_sgemm)dlsym(h, "cblas_sgemm");
  void (*oset)(int) = (void (*)(int))dlsym(h, "openblas_set_num_threads");
  void (*bset)(long) = (void (*)(long))dlsym(h, "bli_thread_set_num_threads");
  if (!f || (is_generic(lib) && !oset && !bset)) {
    dlclose(h);
    return 0;
  }
  sgemm = f;
  openblas_set_threads = oset;
  blis_set_threads = bset;
  name = lib;
  return 1; /* the handle stays open for the life of the process */
}

/* FINETUNE_BLAS=builtin skips the search; any other value is a library name or path to use instead. */
void ft_blas_load(void) {
  const char *env = getenv("FINETUNE_BLAS");
  if (env && *env) {
    if (strcmp(env, "builtin") != 0) try_load(env);
    return;
  }
  for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++)
    if (try_load(candidates[i])) return;
}

ft_cblas_sgemm ft_blas_sgemm(void) { return sgemm; }

const char *ft_blas_name(void) { return name; }

void ft_blas_set_threads(int n) {
  if (openblas_set_threads) openblas_set_threads(n);
  if (blis_set_threads) blis_set_threads(n);
}
