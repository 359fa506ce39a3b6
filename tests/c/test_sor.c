/* SOR from C: sweeps, solve, red-black grid, the omega tuner, and bad input.
 * Built with -Wall -Wextra -Werror -pedantic -fsanitize=address,undefined. */
#include "kernels.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

#define NX 6
#define NY 5
#define N (NX * NY)

/* (4 + shift) I - neighbours on the NX x NY grid, lexicographic. */
static size_t indptr[N + 1];
static uint32_t indices[5 * N];
static double values[5 * N];

static void build_grid(double shift) {
  size_t k = 0;
  indptr[0] = 0;
  for (size_t i = 0; i < NY; ++i) {
    for (size_t j = 0; j < NX; ++j) {
      size_t p = i * NX + j;
      if (i > 0) { indices[k] = (uint32_t)(p - NX); values[k++] = -1.0; }
      if (j > 0) { indices[k] = (uint32_t)(p - 1); values[k++] = -1.0; }
      indices[k] = (uint32_t)p; values[k++] = 4.0 + shift;
      if (j + 1 < NX) { indices[k] = (uint32_t)(p + 1); values[k++] = -1.0; }
      if (i + 1 < NY) { indices[k] = (uint32_t)(p + NX); values[k++] = -1.0; }
      indptr[p + 1] = k;
    }
  }
}

static double residual(const double *b, const double *x) {
  double s = 0.0;
  for (size_t i = 0; i < N; ++i) {
    double r = b[i];
    for (size_t k = indptr[i]; k < indptr[i + 1]; ++k) r -= values[k] * x[indices[k]];
    s += r * r;
  }
  return sqrt(s);
}

static void test_sweeps_and_solve(void) {
  build_grid(0.5);
  double b[N], x[N], y[N];
  for (size_t i = 0; i < N; ++i) b[i] = (double)(i % 7) - 3.0;
  memset(x, 0, sizeof x);
  CHECK(kn_sor_csr_f64(N, indptr, indices, values, b, x, 1.5, KN_SWEEP_SYMMETRIC, 30) == KN_OK);
  CHECK(residual(b, x) < 1e-6);

  size_t bytes = 99;
  CHECK(kn_sor_solve_work_bytes(N, &bytes) == KN_OK);
  unsigned char work[16];
  kn_report rep;
  memset(y, 0, sizeof y);
  CHECK(kn_sor_solve_csr_f64(N, indptr, indices, values, b, y, 1.3, 1e-10, 1000, work, bytes,
                             &rep) == KN_OK);
  CHECK(rep.converged == 1 && rep.iterations > 0 && rep.error <= 1e-10);
  double bn = 0.0;
  for (size_t i = 0; i < N; ++i) bn += b[i] * b[i];
  CHECK(residual(b, y) <= 1e-10 * sqrt(bn) * 1.0001);
  /* Too few sweeps: KN_NOT_CONVERGED with the iterate and report written. */
  memset(y, 0, sizeof y);
  CHECK(kn_sor_solve_csr_f64(N, indptr, indices, values, b, y, 1.3, 1e-14, 3, NULL, 0, &rep) ==
        KN_NOT_CONVERGED);
  CHECK(rep.converged == 0 && rep.iterations == 3);

  /* f32 forward sweeps. */
  float vf[5 * N], bf[N], xf[N];
  for (size_t k = 0; k < indptr[N]; ++k) vf[k] = (float)values[k];
  for (size_t i = 0; i < N; ++i) { bf[i] = (float)b[i]; xf[i] = 0.0f; }
  CHECK(kn_sor_csr_f32(N, indptr, indices, vf, bf, xf, 1.2f, KN_SWEEP_FORWARD, 60) == KN_OK);
  for (size_t i = 0; i < N; ++i) CHECK(fabs((double)xf[i] - x[i]) < 1e-4);
}

static void test_grid(void) {
  /* Red-black grid sweeps converge to the CSR solution of the same matrix. */
  build_grid(0.5);
  double b[N], x[N], g[N];
  for (size_t i = 0; i < N; ++i) b[i] = (double)(i % 5) - 2.0;
  memset(x, 0, sizeof x);
  memset(g, 0, sizeof g);
  CHECK(kn_sor_csr_f64(N, indptr, indices, values, b, x, 1.4, KN_SWEEP_FORWARD, 200) == KN_OK);
  CHECK(kn_sor_grid2d_f64(NX, NY, 0.5, b, g, 1.4, 200) == KN_OK);
  for (size_t i = 0; i < N; ++i) CHECK(fabs(x[i] - g[i]) < 1e-10);
  float bf[N], gf[N];
  for (size_t i = 0; i < N; ++i) { bf[i] = (float)b[i]; gf[i] = 0.0f; }
  CHECK(kn_sor_grid2d_f32(NX, NY, 0.5f, bf, gf, 1.4f, 100) == KN_OK);
  for (size_t i = 0; i < N; ++i) CHECK(fabs((double)gf[i] - x[i]) < 1e-4);
}

static int same(const double *a, const double *b) { return memcmp(a, b, N * sizeof *a) == 0; }

static void test_bad_input(void) {
  build_grid(0.0);
  double b[N], x[N], keep[N];
  for (size_t i = 0; i < N; ++i) { b[i] = 1.0; x[i] = keep[i] = (double)i; }
  const double omegas[] = {0.0, 2.0, -0.5, NAN};
  for (size_t k = 0; k < 4; ++k) {
    CHECK(kn_sor_csr_f64(N, indptr, indices, values, b, x, omegas[k], KN_SWEEP_FORWARD, 1) ==
          KN_ERR_ARGUMENT);
    CHECK(kn_sor_grid2d_f64(NX, NY, 0.0, b, x, omegas[k], 1) == KN_ERR_ARGUMENT);
    CHECK(kn_sor_solve_csr_f64(N, indptr, indices, values, b, x, omegas[k], 1e-8, 10, NULL, 0,
                               NULL) == KN_ERR_ARGUMENT);
  }
  CHECK(same(x, keep));
  CHECK(kn_sor_csr_f64(N, indptr, indices, values, b, x, 1.0, 7, 1) == KN_ERR_ARGUMENT);
  CHECK(kn_sor_csr_f64(N, NULL, indices, values, b, x, 1.0, KN_SWEEP_FORWARD, 1) == KN_ERR_NULL);
  CHECK(kn_sor_csr_f64(0, indptr, indices, values, b, x, 1.0, KN_SWEEP_FORWARD, 1) ==
        KN_ERR_DIMENSION);
  /* Zero diagonal. */
  values[0] = 0.0; /* row 0: diagonal first */
  CHECK(kn_sor_csr_f64(N, indptr, indices, values, b, x, 1.0, KN_SWEEP_FORWARD, 1) ==
        KN_ERR_ARGUMENT);
  values[0] = 4.0;
  /* Missing diagonal: row 0 without its diagonal entry, as a 2x2 matrix. */
  size_t ip2[3] = {0, 1, 3};
  uint32_t ix2[3] = {1, 0, 1};
  double v2[3] = {1.0, 1.0, 2.0}, b2[2] = {1.0, 1.0}, x2[2] = {5.0, 6.0};
  CHECK(kn_sor_csr_f64(2, ip2, ix2, v2, b2, x2, 1.0, KN_SWEEP_FORWARD, 1) == KN_ERR_ARGUMENT);
  CHECK(x2[0] == 5.0 && x2[1] == 6.0);
  /* Malformed CSR: unsorted columns in row 0. */
  uint32_t tmp = indices[0];
  indices[0] = indices[1];
  indices[1] = tmp;
  CHECK(kn_sor_csr_f64(N, indptr, indices, values, b, x, 1.0, KN_SWEEP_FORWARD, 1) ==
        KN_ERR_ARGUMENT);
  indices[1] = indices[0];
  indices[0] = tmp;
  /* NaN in b. */
  b[3] = NAN;
  CHECK(kn_sor_csr_f64(N, indptr, indices, values, b, x, 1.0, KN_SWEEP_FORWARD, 1) ==
        KN_ERR_NON_FINITE);
  CHECK(kn_sor_grid2d_f64(NX, NY, 0.0, b, x, 1.0, 1) == KN_ERR_NON_FINITE);
  kn_report rep;
  memset(&rep, 0x5a, sizeof rep);
  kn_report rep_keep = rep;
  CHECK(kn_sor_solve_csr_f64(N, indptr, indices, values, b, x, 1.0, 1e-8, 10, NULL, 0, &rep) ==
        KN_ERR_NON_FINITE);
  CHECK(memcmp(&rep, &rep_keep, sizeof rep) == 0);
  b[3] = 1.0;
  /* Output overlapping an input. */
  CHECK(kn_sor_grid2d_f64(NX, NY, 0.0, x, x, 1.0, 1) == KN_ERR_ARGUMENT);
  CHECK(kn_sor_grid2d_f64(NX, NY, -4.0, b, x, 1.0, 1) == KN_ERR_ARGUMENT);
  CHECK(same(x, keep));
}

static void test_tuner(void) {
  kn_omega_tuner t, u;
  double w = 0.0;
  CHECK(sizeof t.opaque == KN_OMEGA_TUNER_WORDS * sizeof(uint64_t));
  CHECK(kn_omega_tuner_init(&t, 20, 1.0, 1.95, 11) == KN_OK);
  CHECK(kn_omega_tuner_feedback(&t, 5.0) == KN_ERR_ARGUMENT); /* feedback without next */
  /* A stationary problem: the cost is smallest at omega = 1.6. */
  int near = 0;
  for (int round = 0; round < 3000; ++round) {
    CHECK(kn_omega_tuner_next(&t, 0.0, &w) == KN_OK);
    CHECK(w >= 1.0 && w <= 1.95);
    if (round >= 2000 && fabs(w - 1.6) < 0.06) ++near;
    CHECK(kn_omega_tuner_feedback(&t, 60.0 + 300.0 * fabs(w - 1.6)) == KN_OK);
  }
  CHECK(near > 600);
  CHECK(kn_omega_tuner_next(&t, 0.0, &w) == KN_OK);
  double w2 = -1.0;
  CHECK(kn_omega_tuner_next(&t, 0.0, &w2) == KN_ERR_ARGUMENT && w2 == -1.0);
  CHECK(kn_omega_tuner_feedback(&t, NAN) == KN_ERR_NON_FINITE);
  CHECK(kn_omega_tuner_feedback(&t, 1.0) == KN_OK);

  /* Contextual tuner; garbage and bad ranges. */
  CHECK(kn_omega_tuner_init_contextual(&u, 20, 1.0, 1.95, -0.15, 0.45, 3) == KN_OK);
  CHECK(kn_omega_tuner_next(&u, 0.1, &w) == KN_OK);
  CHECK(kn_omega_tuner_feedback(&u, 80.0) == KN_OK);
  CHECK(kn_omega_tuner_next(&u, NAN, &w) == KN_ERR_NON_FINITE);
  memset(&u, 0xab, sizeof u);
  kn_omega_tuner copy = u;
  CHECK(kn_omega_tuner_next(&u, 0.0, &w) == KN_ERR_ARGUMENT);
  CHECK(kn_omega_tuner_feedback(&u, 1.0) == KN_ERR_ARGUMENT);
  CHECK(memcmp(&u, &copy, sizeof u) == 0);
  CHECK(kn_omega_tuner_init(&u, 1, 1.0, 1.9, 0) == KN_ERR_ARGUMENT);
  CHECK(kn_omega_tuner_init(&u, KN_OMEGA_TUNER_MAX_ARMS + 1, 1.0, 1.9, 0) == KN_ERR_ARGUMENT);
  CHECK(kn_omega_tuner_init(&u, 8, 1.5, 1.2, 0) == KN_ERR_ARGUMENT);
  CHECK(kn_omega_tuner_init_contextual(&u, 8, 1.0, 1.9, 1.0, 0.0, 0) == KN_ERR_ARGUMENT);
  CHECK(memcmp(&u, &copy, sizeof u) == 0);
  CHECK(kn_omega_tuner_init(NULL, 8, 1.0, 1.9, 0) == KN_ERR_NULL);
  CHECK(kn_omega_tuner_next(&t, 0.0, NULL) == KN_ERR_NULL);
}

int main(void) {
  test_sweeps_and_solve();
  test_grid();
  test_bad_input();
  test_tuner();
  printf("C sor test: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
