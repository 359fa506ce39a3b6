/* A C program that uses the installed kernels library, as a user's would: built by
 * scripts/consumer-test.sh against an installed prefix with pkg-config (shared and
 * static), exactly as README "Use from C" says. It solves an entropic transport problem
 * and an SPD system and checks the answers. */
#include <kernels.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define N 5

static int fail(const char *what, kn_status s) {
  fprintf(stderr, "use_kernels: %s: %s (%d)\n", what, kn_status_str(s), (int)s);
  return 1;
}

int main(void) {
  if (kn_version() != ((KN_VERSION_MAJOR << 16) | (KN_VERSION_MINOR << 8) | KN_VERSION_PATCH)) {
    fprintf(stderr, "use_kernels: header and library versions differ\n");
    return 1;
  }

  /* Entropic transport between two uniform measures on 5 points, cost (i - j)^2 / 16. */
  double C[N * N], a[N], b[N], f[N] = {0}, g[N] = {0}, plan[N * N];
  for (int i = 0; i < N; i++) {
    a[i] = b[i] = 1.0 / N;
    for (int j = 0; j < N; j++) C[i * N + j] = (double)((i - j) * (i - j)) / 16.0;
  }
  kn_sinkhorn_opts o = kn_sinkhorn_opts_default();
  o.reg = 0.05;
  size_t bytes = 0;
  kn_status s = kn_sinkhorn_work_bytes(N, N, &bytes);
  if (s != KN_OK) return fail("kn_sinkhorn_work_bytes", s);
  void *work = malloc(bytes ? bytes : 1);
  kn_report rep;
  s = kn_sinkhorn_f64(N, N, C, a, b, &o, f, g, plan, work, bytes, &rep);
  free(work);
  if (s != KN_OK) return fail("kn_sinkhorn_f64", s);
  unsigned sinkhorn_iterations = rep.iterations;
  double err = 0, cost = 0;
  for (int i = 0; i < N; i++) {
    double row = 0, col = 0;
    for (int j = 0; j < N; j++) {
      row += plan[i * N + j];
      col += plan[j * N + i];
      cost += plan[i * N + j] * C[i * N + j];
    }
    err += fabs(row - a[i]) + fabs(col - b[i]);
  }
  /* The plan meets its marginals, its cost is the one reported and lies below the
   * independent coupling's (a b^T: sum of C / 25 = 0.25). */
  if (!(err <= 1e-8 && fabs(cost - rep.value) <= 1e-12 && cost < 0.25 && rep.converged == 1)) {
    fprintf(stderr, "use_kernels: sinkhorn: marginal error %g, cost %g (reported %g)\n", err, cost,
            rep.value);
    return 1;
  }

  /* CG on the 1D Laplacian tridiag(-1, 2, -1), b = A x* for x* = 1..N. */
  size_t indptr[N + 1];
  uint32_t indices[3 * N];
  double values[3 * N], rhs[N], x[N] = {0}, xs[N];
  size_t nnz = 0;
  for (int i = 0; i < N; i++) {
    xs[i] = i + 1;
    indptr[i] = nnz;
    for (int j = i - 1; j <= i + 1; j++) {
      if (j < 0 || j >= N) continue;
      indices[nnz] = (uint32_t)j;
      values[nnz++] = i == j ? 2.0 : -1.0;
    }
  }
  indptr[N] = nnz;
  for (int i = 0; i < N; i++) {
    rhs[i] = 0;
    for (size_t k = indptr[i]; k < indptr[i + 1]; k++) rhs[i] += values[k] * xs[indices[k]];
  }
  kn_cg_opts co = kn_cg_opts_default();
  co.tol = 1e-12;
  s = kn_cg_work_bytes(N, &bytes);
  if (s != KN_OK) return fail("kn_cg_work_bytes", s);
  work = malloc(bytes ? bytes : 1);
  s = kn_cg_csr_f64(N, indptr, indices, values, rhs, x, &co, work, bytes, &rep);
  free(work);
  if (s != KN_OK) return fail("kn_cg_csr_f64", s);
  for (int i = 0; i < N; i++) {
    if (fabs(x[i] - xs[i]) > 1e-9) {
      fprintf(stderr, "use_kernels: cg: x[%d] = %.17g, expected %g\n", i, x[i], xs[i]);
      return 1;
    }
  }
  /* Bad input is a status, not a crash. */
  if (kn_cg_csr_f64(N, NULL, indices, values, rhs, x, &co, NULL, 0, NULL) != KN_ERR_NULL) {
    fprintf(stderr, "use_kernels: a NULL indptr was not KN_ERR_NULL\n");
    return 1;
  }
  printf("use_kernels (C): kernels %u.%u.%u, sinkhorn cost %.6f in %u iterations, cg in %u\n",
         kn_version() >> 16, (kn_version() >> 8) & 0xff, kn_version() & 0xff, cost,
         sinkhorn_iterations, rep.iterations);
  return 0;
}
