/* CG from C: the 2D Poisson matrix with each preconditioner, f32, not converging,
 * indefiniteness, and bad input (status and untouched outputs).
 * Built with -Wall -Wextra -Werror -pedantic -fsanitize=address,undefined. */
#include "kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define NX 12
#define N (NX * NX)

/* Options from the defaults, so that fields added later keep their defaults. */
static kn_cg_opts cg_opts(double tol, uint32_t max_iter, int32_t precond, double omega) {
  kn_cg_opts o = kn_cg_opts_default();
  o.tol = tol;
  o.max_iter = max_iter;
  o.precond = precond;
  o.omega = omega;
  return o;
}

/* 4 I - neighbours on the NX x NX grid, lexicographic. */
static size_t indptr[N + 1];
static uint32_t indices[5 * N];
static double values[5 * N];

static void build_poisson(double diag) {
  size_t k = 0;
  indptr[0] = 0;
  for (size_t i = 0; i < NX; ++i) {
    for (size_t j = 0; j < NX; ++j) {
      size_t p = i * NX + j;
      if (i > 0) { indices[k] = (uint32_t)(p - NX); values[k++] = -1.0; }
      if (j > 0) { indices[k] = (uint32_t)(p - 1); values[k++] = -1.0; }
      indices[k] = (uint32_t)p; values[k++] = diag;
      if (j + 1 < NX) { indices[k] = (uint32_t)(p + 1); values[k++] = -1.0; }
      if (i + 1 < NX) { indices[k] = (uint32_t)(p + NX); values[k++] = -1.0; }
      indptr[p + 1] = k;
    }
  }
}

/* ||b - A x|| / ||b||. */
static double rel_residual(const double *b, const double *x) {
  double s = 0.0, bn = 0.0;
  for (size_t i = 0; i < N; ++i) {
    double r = b[i];
    for (size_t k = indptr[i]; k < indptr[i + 1]; ++k) r -= values[k] * x[indices[k]];
    s += r * r;
    bn += b[i] * b[i];
  }
  return sqrt(s / bn);
}

static unsigned char *work;
static size_t work_bytes;

static void test_solves(void) {
  build_poisson(4.0);
  double b[N], x[N];
  for (size_t i = 0; i < N; ++i) b[i] = (double)(i % 7) - 3.0;
  const int32_t pre[3] = {KN_PRECOND_NONE, KN_PRECOND_JACOBI, KN_PRECOND_SSOR};
  uint32_t iters[3];
  for (int k = 0; k < 3; ++k) {
    kn_cg_opts opts = cg_opts(1e-10, 1000, pre[k], 1.6);
    kn_report rep;
    memset(x, 0, sizeof x);
    CHECK(kn_cg_csr_f64(N, indptr, indices, values, b, x, &opts, work, work_bytes, &rep) == KN_OK);
    CHECK(rep.converged == 1 && rep.error <= 1e-10 && rep.iterations > 0);
    CHECK(rel_residual(b, x) <= 1.0001e-10);
    iters[k] = rep.iterations;
  }
  /* SSOR-PCG needs fewer iterations than Jacobi-PCG on Poisson. */
  CHECK(iters[2] < iters[1]);

  /* A warm start at the solution: zero iterations. NULL rep is allowed. */
  kn_cg_opts opts = cg_opts(1e-8, 1000, KN_PRECOND_JACOBI, 0.0);
  CHECK(kn_cg_csr_f64(N, indptr, indices, values, b, x, &opts, work, work_bytes, NULL) == KN_OK);

  /* Too few iterations: KN_NOT_CONVERGED with the iterate and the report written. */
  kn_report rep;
  opts.max_iter = 3;
  memset(x, 0, sizeof x);
  CHECK(kn_cg_csr_f64(N, indptr, indices, values, b, x, &opts, work, work_bytes, &rep) ==
        KN_NOT_CONVERGED);
  CHECK(rep.converged == 0 && rep.iterations == 3 && rep.error > 1e-8);
  CHECK(fabs(rel_residual(b, x) - rep.error) <= 1e-12);

  /* f32. */
  float vf[5 * N], bf[N], xf[N];
  for (size_t k = 0; k < indptr[N]; ++k) vf[k] = (float)values[k];
  for (size_t i = 0; i < N; ++i) { bf[i] = (float)b[i]; xf[i] = 0.0f; }
  kn_cg_opts o32 = cg_opts(1e-5, 500, KN_PRECOND_SSOR, 1.5);
  CHECK(kn_cg_csr_f32(N, indptr, indices, vf, bf, xf, &o32, work, work_bytes, &rep) == KN_OK);
  CHECK(rep.converged == 1 && rep.error <= 1e-5);
  double xd[N];
  for (size_t i = 0; i < N; ++i) xd[i] = (double)xf[i];
  CHECK(rel_residual(b, xd) <= 2e-5);
}

static void test_indefinite(void) {
  /* Diagonal 1 instead of 4: symmetric, positive diagonal, indefinite. */
  build_poisson(1.0);
  double b[N], x[N];
  for (size_t i = 0; i < N; ++i) { b[i] = 1.0; x[i] = 0.0; }
  kn_cg_opts opts = cg_opts(1e-10, 1000, KN_PRECOND_NONE, 0.0);
  kn_report rep, keep;
  memset(&rep, 0x5a, sizeof rep);
  keep = rep;
  CHECK(kn_cg_csr_f64(N, indptr, indices, values, b, x, &opts, work, work_bytes, &rep) ==
        KN_ERR_NUMERICAL);
  CHECK(memcmp(&rep, &keep, sizeof rep) == 0);
  int finite = 1;
  for (size_t i = 0; i < N; ++i) finite &= isfinite(x[i]) != 0;
  CHECK(finite);
}

static int same(const double *a, const double *b) { return memcmp(a, b, N * sizeof *a) == 0; }

static void test_bad_input(void) {
  build_poisson(4.0);
  double b[N], x[N], keep[N];
  for (size_t i = 0; i < N; ++i) { b[i] = 1.0; x[i] = keep[i] = 0.5 * (double)i; }
  kn_report rep, rep_keep;
  memset(&rep, 0x5a, sizeof rep);
  rep_keep = rep;
  kn_cg_opts good = cg_opts(1e-8, 100, KN_PRECOND_JACOBI, 1.0);
#define RUN(o) kn_cg_csr_f64(N, indptr, indices, values, b, x, (o), work, work_bytes, &rep)

  /* Options. */
  const kn_cg_opts bad[] = {
      cg_opts(0.0, 100, KN_PRECOND_NONE, 1.0),  cg_opts(-1.0, 100, KN_PRECOND_NONE, 1.0),
      cg_opts(NAN, 100, KN_PRECOND_NONE, 1.0),  cg_opts(INFINITY, 100, KN_PRECOND_NONE, 1.0),
      cg_opts(1e-8, 0, KN_PRECOND_JACOBI, 1.0), cg_opts(1e-8, 100, 3, 1.0),
      cg_opts(1e-8, 100, -1, 1.0),              cg_opts(1e-8, 100, KN_PRECOND_SSOR, 0.0),
      cg_opts(1e-8, 100, KN_PRECOND_SSOR, 2.0), cg_opts(1e-8, 100, KN_PRECOND_SSOR, NAN),
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; ++k) CHECK(RUN(&bad[k]) == KN_ERR_ARGUMENT);

  /* Malformed CSR: unsorted columns (row 1 holds 0, 1, 2, NX+1), a column out of
   * range, a decreasing indptr, a missing diagonal. */
  uint32_t t = indices[3];
  indices[3] = indices[4];
  indices[4] = t;
  CHECK(RUN(&good) == KN_ERR_ARGUMENT);
  indices[4] = indices[3];
  indices[3] = t;
  uint32_t last = indices[indptr[N] - 1];
  indices[indptr[N] - 1] = N;
  CHECK(RUN(&good) == KN_ERR_ARGUMENT);
  indices[indptr[N] - 1] = last;
  size_t ip2 = indptr[2];
  indptr[2] = indptr[1] - 1;
  CHECK(RUN(&good) == KN_ERR_ARGUMENT);
  indptr[2] = ip2;
  /* Row 0 holds 0, 1, NX: make it 1, 2, NX. */
  indices[0] = 1;
  indices[1] = 2;
  CHECK(RUN(&good) == KN_ERR_ARGUMENT);
  indices[0] = 0;
  indices[1] = 1;

  /* Values, b, sizes, NULLs, workspace, overlap. */
  values[5] = NAN;
  CHECK(RUN(&good) == KN_ERR_NON_FINITE);
  values[5] = -1.0;
  b[7] = NAN;
  CHECK(RUN(&good) == KN_ERR_NON_FINITE);
  b[7] = 1.0;
  CHECK(kn_cg_csr_f64(0, indptr, indices, values, b, x, &good, work, work_bytes, &rep) ==
        KN_ERR_DIMENSION);
  CHECK(kn_cg_csr_f64(N, NULL, indices, values, b, x, &good, work, work_bytes, &rep) ==
        KN_ERR_NULL);
  CHECK(kn_cg_csr_f64(N, indptr, indices, values, b, NULL, &good, work, work_bytes, &rep) ==
        KN_ERR_NULL);
  CHECK(RUN(NULL) == KN_ERR_NULL);
  CHECK(kn_cg_csr_f64(N, indptr, indices, values, b, x, &good, work, work_bytes - 1, &rep) ==
        KN_ERR_WORKSPACE);
  CHECK(kn_cg_csr_f64(N, indptr, indices, values, b, x, &good, NULL, work_bytes, &rep) ==
        KN_ERR_NULL);
  CHECK(kn_cg_csr_f64(N, indptr, indices, values, x, x, &good, work, work_bytes, &rep) ==
        KN_ERR_ARGUMENT);
  CHECK(kn_cg_csr_f64(N, indptr, indices, values, b, x, &good, work, work_bytes,
                      (kn_report *)(void *)work) == KN_ERR_ARGUMENT);
  /* A negative diagonal entry: not positive definite, found before any write. */
  values[0] = -4.0;
  CHECK(RUN(&good) == KN_ERR_NUMERICAL);
  values[0] = 4.0;
#undef RUN
  CHECK(same(x, keep));
  CHECK(memcmp(&rep, &rep_keep, sizeof rep) == 0);

  size_t bytes = 7;
  CHECK(kn_cg_work_bytes(0, &bytes) == KN_ERR_DIMENSION && bytes == 7);
  CHECK(kn_cg_work_bytes(N, NULL) == KN_ERR_NULL);
}

int main(void) {
  CHECK(kn_cg_work_bytes(N, &work_bytes) == KN_OK && work_bytes >= 5 * N * sizeof(double));
  work = malloc(work_bytes);
  if (work == NULL) return 1;
  test_solves();
  test_indefinite();
  test_bad_input();
  free(work);
  printf("C cg test: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
