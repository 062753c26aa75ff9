/* Thread count and a small persistent pthread pool. Between jobs a worker polls for the next one for a short
 * while (SPIN_NS) before it sleeps on a condition variable, and the caller polls for the workers' parts before
 * it sleeps: token-by-token generation runs about fifty parallel products per token, tens of microseconds
 * apart, and on this VM waking a sleeping vCPU costs about as much as a small product's share of work. The
 * poll is bounded, so a worker never holds a core through a longer stretch of JavaScript or another
 * library's threads. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif
#ifdef __linux__
#include <sched.h>
#endif

#include "native.h"

#define MAX_THREADS 256

static int thread_count; /* 0 until first use */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;
/* Held for a whole job; a second caller (another worker_thread's isolate) runs its job inline instead. */
static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER;
static int workers;
static unsigned long generation;
static unsigned long seen[MAX_THREADS];
static ft_task job_fn;
static void *job_ctx;
static int job_parts;
static unsigned long pending;

#define SPIN_NS 50000

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Polls *value until it is (or, with equal false, is no longer) `target`, or SPIN_NS pass; the reads are atomic,
 * so the poll takes no lock. */
static void spin(const unsigned long *value, unsigned long target, bool equal) {
  long long until = now_ns() + SPIN_NS;
  for (int i = 1; (__atomic_load_n(value, __ATOMIC_ACQUIRE) == target) != equal; i++) {
    CPU_RELAX();
    if ((i & 63) == 0 && now_ns() > until) return;
  }
}

static int default_threads(void) {
  const char *env = getenv("FINETUNE_NUM_THREADS");
  if (env && atoi(env) > 0) return atoi(env);
#ifdef __linux__
  /* The affinity mask, unlike sysconf, honours taskset and container cpusets. */
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

int ft_threads(void) {
  if (thread_count == 0) ft_set_threads(default_threads());
  return thread_count;
}

void ft_set_threads(int n) {
  thread_count = n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
  ft_blas_set_threads(thread_count);
}

static void *worker(void *arg) {
  int id = (int)(intptr_t)arg;
  pthread_mutex_lock(&lock);
  for (;;) {
    if (seen[id] == generation) {
      pthread_mutex_unlock(&lock);
      spin(&generation, seen[id], false);
      pthread_mutex_lock(&lock);
    }
    while (seen[id] == generation) pthread_cond_wait(&wake, &lock);
    seen[id] = generation;
    if (id >= job_parts) continue;
    ft_task fn = job_fn;
    void *ctx = job_ctx;
    int parts = job_parts;
    pthread_mutex_unlock(&lock);
    fn(ctx, id, parts);
    pthread_mutex_lock(&lock);
    if (__atomic_sub_fetch(&pending, 1, __ATOMIC_RELEASE) == 0) pthread_cond_signal(&done);
  }
  return NULL;
}

/* Called with `lock` held. Returns how many workers exist, which may be fewer than asked. */
static int ensure_workers(int wanted) {
  while (workers < wanted) {
    int id = workers + 1; /* part 0 belongs to the caller */
    seen[id] = generation;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int err = pthread_create(&t, &attr, worker, (void *)(intptr_t)id);
    pthread_attr_destroy(&attr);
    if (err) break;
    workers++;
  }
  return workers;
}

void ft_parallel(ft_task fn, void *ctx, int nparts) {
  if (nparts > 1 && pthread_mutex_trylock(&busy) == 0) {
    pthread_mutex_lock(&lock);
    int available = ensure_workers(nparts - 1) + 1;
    if (nparts > available) nparts = available;
    job_fn = fn;
    job_ctx = ctx;
    job_parts = nparts;
    __atomic_store_n(&pending, (unsigned long)(nparts - 1), __ATOMIC_RELAXED);
    __atomic_store_n(&generation, generation + 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
    fn(ctx, 0, nparts);
    spin(&pending, 0, true);
    pthread_mutex_lock(&lock);
    while (pending > 0) pthread_cond_wait(&done, &lock);
    pthread_mutex_unlock(&lock);
    pthread_mutex_unlock(&busy);
    return;
  }
  for (int p = 0; p < nparts; p++) fn(ctx, p, nparts);
}

void ft_split(size_t n, size_t align, int part, int nparts, size_t *begin, size_t *end) {
  size_t units = (n + align - 1) / align;
  size_t lo = units * (size_t)part / (size_t)nparts, hi = units * (size_t)(part + 1) / (size_t)nparts;
  *begin = lo * align < n ? lo * align : n;
  *end = hi * align < n ? hi * align : n;
}
