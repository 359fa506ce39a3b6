/* kn_sns_*: the 2x2 closed form, a random problem to 1e-12 with its report, f32,
 * and every bad-input class (status and untouched outputs).
 * Built with -Wall -Wextra -Werror -pedantic -fsanitize=address,undefined. */
#include "kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static const double PLAN_2X2[4] = {0.36552929, 0.13447071, 0.13447071, 0.36552929};

/* Options from the defaults, so that fields added later keep their defaults. */
static kn_sns_opts sns_opts(double reg, double tol, uint32_t sinkhorn_iters, uint32_t max_newton) {
  kn_sns_opts o = kn_sns_opts_default();
  o.reg = reg;
  o.tol = tol;
  o.sinkhorn_iters = sinkhorn_iters;
  o.max_newton = max_newton;
  o.density = 0.0;
  o.cg_max_iter = 0;
  o.cg_tol = 0.0;
  return o;
}

static unsigned char *workspace(size_t n, size_t m, double density, size_t *bytes) {
  CHECK(kn_sns_work_bytes(n, m, density, bytes) == KN_OK);
  /* One byte of offset: any alignment must be accepted. */
  return malloc(*bytes + 1);
}

static void test_closed_form(void) {
  const double C[4] = {0.0, 1.0, 1.0, 0.0};
  const double half[2] = {0.5, 0.5};
  double f[2] = {0}, g[2] = {0}, plan[4];
  kn_sns_opts o = sns_opts(1.0, 1e-13, 2, 20);
  size_t bytes;
  unsigned char *w = workspace(2, 2, 0.0, &bytes);
  kn_report rep;
  CHECK(kn_sns_f64(2, 2, C, half, half, &o, f, g, plan, w + 1, bytes, &rep) == KN_OK);
  CHECK(rep.converged == 1 && rep.error <= 1e-13);
  for (int k = 0; k < 4; ++k) CHECK(fabs(plan[k] - PLAN_2X2[k]) < 1e-8);
  CHECK(fabs(rep.value - 2 * 0.13447071) < 1e-8);

  const float Cf[4] = {0.0f, 1.0f, 1.0f, 0.0f};
  const float halff[2] = {0.5f, 0.5f};
  float ff[2] = {0}, gf[2] = {0}, planf[4];
  o.tol = 1e-6;
  CHECK(kn_sns_f32(2, 2, Cf, halff, halff, &o, ff, gf, planf, w, bytes, NULL) == KN_OK);
  CHECK(fabsf(planf[0] - 0.36552929f) < 1e-6f);
  free(w);
}

/* A random 120 x 100 problem with eps = 1/200 to 1e-12: Newton steps and CG ran. */
static void test_random(void) {
  enum { N = 120, M = 100 };
  static double C[N * M], plan[N * M];
  double a[N], b[M], f[N] = {0}, g[M] = {0};
  uint64_t s = 777;
  for (int k = 0; k < N * M; ++k) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    C[k] = (double)(s >> 11) / 9007199254740992.0;
  }
  for (int i = 0; i < N; ++i) a[i] = 1.0 / N;
  for (int j = 0; j < M; ++j) b[j] = 1.0 / M;
  kn_sns_opts o = sns_opts(1.0 / 200.0, 1e-12, 20, 100);
  size_t bytes;
  unsigned char *w = workspace(N, M, o.density, &bytes);
  kn_report rep;
  CHECK(kn_sns_f64(N, M, C, a, b, &o, f, g, plan, w, bytes, &rep) == KN_OK);
  CHECK(rep.converged == 1 && rep.error <= 1e-12 && rep.iterations > 20);
  CHECK(rep.inner_iterations > 0);
  double err = 0.0;
  for (int i = 0; i < N; ++i) {
    double r = 0.0;
    for (int j = 0; j < M; ++j) r += plan[i * M + j];
    err += fabs(r - a[i]);
  }
  for (int j = 0; j < M; ++j) {
    double c = 0.0;
    for (int i = 0; i < N; ++i) c += plan[i * M + j];
    err += fabs(c - b[j]);
  }
  CHECK(err <= 2e-12);
  /* Not converging within the caps still writes everything. */
  double f2[N] = {0}, g2[M] = {0};
  o.sinkhorn_iters = 2;
  o.max_newton = 1;
  CHECK(kn_sns_f64(N, M, C, a, b, &o, f2, g2, plan, w, bytes, &rep) == KN_NOT_CONVERGED);
  CHECK(rep.converged == 0 && rep.iterations == 3 && rep.error > 1e-12);
  free(w);
}

static int untouched(const double *x, size_t n, double v) {
  for (size_t k = 0; k < n; ++k)
    if (x[k] != v) return 0;
  return 1;
}

static void test_bad_input(void) {
  enum { N = 4 };
  double C[N * N], w_[N], f[N], g[N], plan[N * N];
  for (int k = 0; k < N * N; ++k) C[k] = (double)(k % 5) / 4.0;
  for (int i = 0; i < N; ++i) w_[i] = 0.25;
  size_t bytes;
  unsigned char *w = workspace(N, N, 0.0, &bytes);
  kn_sns_opts good = sns_opts(0.1, 1e-9, 5, 5), o;
  kn_report rep;
#define RESET()                                   \
  do {                                            \
    for (int k = 0; k < N; ++k) f[k] = g[k] = 0.5; \
    for (int k = 0; k < N * N; ++k) plan[k] = 7.0; \
    o = good;                                     \
  } while (0)
#define REJECTS(call, code)                                                          \
  do {                                                                               \
    CHECK((call) == (code));                                                         \
    CHECK(untouched(f, N, 0.5) && untouched(g, N, 0.5) && untouched(plan, N * N, 7.0)); \
  } while (0)
  RESET();
  REJECTS(kn_sns_f64(N, N, NULL, w_, w_, &o, f, g, plan, w, bytes, &rep), KN_ERR_NULL);
  REJECTS(kn_sns_f64(N, N, C, w_, w_, NULL, f, g, plan, w, bytes, &rep), KN_ERR_NULL);
  REJECTS(kn_sns_f64(N, N, C, w_, w_, &o, f, g, NULL, w, bytes, &rep), KN_ERR_NULL);
  REJECTS(kn_sns_f64(0, N, C, w_, w_, &o, f, g, plan, w, bytes, &rep), KN_ERR_DIMENSION);
  REJECTS(kn_sns_f64(N, N, C, w_, w_, &o, f, g, plan, w, bytes - 1, &rep), KN_ERR_WORKSPACE);
  o.reg = -1.0;
  REJECTS(kn_sns_f64(N, N, C, w_, w_, &o, f, g, plan, w, bytes, &rep), KN_ERR_ARGUMENT);
  RESET();
  o.density = 2.0;
  REJECTS(kn_sns_f64(N, N, C, w_, w_, &o, f, g, plan, w, bytes, &rep), KN_ERR_ARGUMENT);
  RESET();
  o.sinkhorn_iters = 0;
  o.max_newton = 0;
  REJECTS(kn_sns_f64(N, N, C, w_, w_, &o, f, g, plan, w, bytes, &rep), KN_ERR_ARGUMENT);
  RESET();
  C[3] = NAN;
  REJECTS(kn_sns_f64(N, N, C, w_, w_, &o, f, g, plan, w, bytes, &rep), KN_ERR_NON_FINITE);
  C[3] = 0.5;
  const double heavy[N] = {0.5, 0.25, 0.25, 0.25}; /* sums to 1.25, not 1 */
  REJECTS(kn_sns_f64(N, N, C, heavy, w_, &o, f, g, plan, w, bytes, &rep), KN_ERR_ARGUMENT);
  /* The plan overlapping C. */
  REJECTS(kn_sns_f64(N, N, C, w_, w_, &o, f, g, (double *)C, w, bytes, &rep), KN_ERR_ARGUMENT);
  size_t q;
  CHECK(kn_sns_work_bytes(N, N, -0.5, &q) == KN_ERR_ARGUMENT);
  CHECK(kn_sns_work_bytes(N, 0, 0.0, &q) == KN_ERR_DIMENSION);
  CHECK(kn_sns_work_bytes(N, N, 0.0, NULL) == KN_ERR_NULL);
#undef REJECTS
#undef RESET
  free(w);
}

int main(void) {
  test_closed_form();
  test_random();
  test_bad_input();
  printf("test_sns: ok\n");
  return 0;
}
