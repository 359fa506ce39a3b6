/* The validated CSR handle from C: kn_csr_init_* checks a matrix once, and the
 * kn_sor_csr_h_*, kn_sor_solve_csr_h_* and kn_cg_csr_h_* functions then give exactly
 * what the array-taking functions give; a bad matrix, a handle init did not write, a
 * handle of the other element type or a corrupted one is refused with the outputs
 * untouched.
 * Built with -Wall -Wextra -Werror -pedantic -fsanitize=address,undefined. */
#include "kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define CHECK_STATUS(call, want) CHECK((call) == (want))

#define NX 10
#define N (NX * NX)

/* 4.5 I - neighbours on the NX x NX grid, lexicographic. */
static size_t indptr[N + 1];
static uint32_t indices[5 * N];
static double values[5 * N];
static float values32[5 * N];

static void build(void) {
  size_t k = 0;
  indptr[0] = 0;
  for (size_t i = 0; i < NX; ++i) {
    for (size_t j = 0; j < NX; ++j) {
      size_t p = i * NX + j;
      if (i > 0) { indices[k] = (uint32_t)(p - NX); values[k++] = -1.0; }
      if (j > 0) { indices[k] = (uint32_t)(p - 1); values[k++] = -1.0; }
      indices[k] = (uint32_t)p; values[k++] = 4.5;
      if (j + 1 < NX) { indices[k] = (uint32_t)(p + 1); values[k++] = -1.0; }
      if (i + 1 < NX) { indices[k] = (uint32_t)(p + NX); values[k++] = -1.0; }
      indptr[p + 1] = k;
    }
  }
  for (size_t i = 0; i < k; ++i) values32[i] = (float)values[i];
}

static unsigned char work[64 * N];



/* The handle paths give the same bits as the array paths. */
static void test_same_results(void) {
  kn_csr h, h32;
  CHECK_STATUS(kn_csr_init_f64(&h, N, indptr, indices, values), KN_OK);
  CHECK_STATUS(kn_csr_init_f32(&h32, N, indptr, indices, values32), KN_OK);
  double b[N], x1[N], x2[N];
  float b32[N], y1[N], y2[N];
  for (size_t i = 0; i < N; ++i) {
    b[i] = (double)(i % 5) - 2.0;
    b32[i] = (float)b[i];
  }
  for (int32_t sweep = KN_SWEEP_FORWARD; sweep <= KN_SWEEP_SYMMETRIC; ++sweep) {
    memset(x1, 0, sizeof x1);
    memset(x2, 0, sizeof x2);
    CHECK_STATUS(kn_sor_csr_f64(N, indptr, indices, values, b, x1, 1.3, sweep, 3), KN_OK);
    CHECK_STATUS(kn_sor_csr_h_f64(&h, b, x2, 1.3, sweep, 3), KN_OK);
    CHECK(memcmp(x1, x2, sizeof x1) == 0);
    memset(y1, 0, sizeof y1);
    memset(y2, 0, sizeof y2);
    CHECK_STATUS(kn_sor_csr_f32(N, indptr, indices, values32, b32, y1, 1.3f, sweep, 3), KN_OK);
    CHECK_STATUS(kn_sor_csr_h_f32(&h32, b32, y2, 1.3f, sweep, 3), KN_OK);
    CHECK(memcmp(y1, y2, sizeof y1) == 0);
  }
  kn_report r1, r2;
  memset(x1, 0, sizeof x1);
  memset(x2, 0, sizeof x2);
  CHECK_STATUS(kn_sor_solve_csr_f64(N, indptr, indices, values, b, x1, 1.5, 1e-10, 500, work,
                                    sizeof work, &r1),
               KN_OK);
  CHECK_STATUS(kn_sor_solve_csr_h_f64(&h, b, x2, 1.5, 1e-10, 500, work, sizeof work, &r2), KN_OK);
  CHECK(memcmp(x1, x2, sizeof x1) == 0 && r1.iterations == r2.iterations && r1.error == r2.error);
  memset(y1, 0, sizeof y1);
  memset(y2, 0, sizeof y2);
  CHECK_STATUS(kn_sor_solve_csr_h_f32(&h32, b32, y2, 1.5f, 1e-5, 500, work, sizeof work, &r2),
               KN_OK);
  CHECK_STATUS(kn_sor_solve_csr_f32(N, indptr, indices, values32, b32, y1, 1.5f, 1e-5, 500, work,
                                    sizeof work, &r1),
               KN_OK);
  CHECK(memcmp(y1, y2, sizeof y1) == 0 && r1.iterations == r2.iterations);

  const int32_t pre[3] = {KN_PRECOND_NONE, KN_PRECOND_JACOBI, KN_PRECOND_SSOR};
  for (int k = 0; k < 3; ++k) {
    kn_cg_opts o = kn_cg_opts_default();
    o.tol = 1e-10;
    o.precond = pre[k];
    o.omega = 1.4;
    memset(x1, 0, sizeof x1);
    memset(x2, 0, sizeof x2);
    CHECK_STATUS(kn_cg_csr_f64(N, indptr, indices, values, b, x1, &o, work, sizeof work, &r1), KN_OK);
    CHECK_STATUS(kn_cg_csr_h_f64(&h, b, x2, &o, work, sizeof work, &r2), KN_OK);
    CHECK(memcmp(x1, x2, sizeof x1) == 0 && r1.iterations == r2.iterations && r1.error == r2.error);
    o.tol = 1e-5;
    memset(y1, 0, sizeof y1);
    memset(y2, 0, sizeof y2);
    CHECK_STATUS(kn_cg_csr_f32(N, indptr, indices, values32, b32, y1, &o, work, sizeof work, &r1),
                 KN_OK);
    CHECK_STATUS(kn_cg_csr_h_f32(&h32, b32, y2, &o, work, sizeof work, &r2), KN_OK);
    CHECK(memcmp(y1, y2, sizeof y1) == 0 && r1.iterations == r2.iterations);
  }
}

static int untouched(const double *x) {
  for (size_t i = 0; i < N; ++i)
    if (x[i] != 7.0) return 0;
  return 1;
}

/* Bad matrices at init, bad handles at use: refused, nothing written. */
static void test_bad_input(void) {
  kn_csr h, h32, junk;
  memset(&junk, 0xab, sizeof junk);
  kn_csr before = junk;
  /* A zero diagonal entry: init refuses and leaves the handle as it was. */
  values[0] = 0.0;
  CHECK_STATUS(kn_csr_init_f64(&junk, N, indptr, indices, values), KN_ERR_ARGUMENT);
  CHECK(memcmp(&junk, &before, sizeof junk) == 0);
  values[0] = 4.5;
  CHECK_STATUS(kn_csr_init_f64(NULL, N, indptr, indices, values), KN_ERR_NULL);
  CHECK_STATUS(kn_csr_init_f64(&junk, 0, indptr, indices, values), KN_ERR_DIMENSION);
  CHECK_STATUS(kn_csr_init_f64(&junk, N, indptr, indices, NULL), KN_ERR_NULL);
  CHECK(memcmp(&junk, &before, sizeof junk) == 0);

  CHECK_STATUS(kn_csr_init_f64(&h, N, indptr, indices, values), KN_OK);
  CHECK_STATUS(kn_csr_init_f32(&h32, N, indptr, indices, values32), KN_OK);
  double b[N], x[N];
  for (size_t i = 0; i < N; ++i) b[i] = 1.0, x[i] = 7.0;
  kn_cg_opts o = kn_cg_opts_default();
  kn_report rep;
  /* NULL, a handle init never wrote, a handle of the other type. */
  CHECK_STATUS(kn_sor_csr_h_f64(NULL, b, x, 1.3, KN_SWEEP_FORWARD, 1), KN_ERR_NULL);
  CHECK_STATUS(kn_sor_csr_h_f64(&junk, b, x, 1.3, KN_SWEEP_FORWARD, 1), KN_ERR_ARGUMENT);
  CHECK_STATUS(kn_sor_csr_h_f64(&h32, b, x, 1.3, KN_SWEEP_FORWARD, 1), KN_ERR_ARGUMENT);
  CHECK_STATUS(kn_cg_csr_h_f64(&h32, b, x, &o, work, sizeof work, &rep), KN_ERR_ARGUMENT);
  CHECK_STATUS(kn_sor_solve_csr_h_f64(&junk, b, x, 1.5, 1e-8, 10, work, sizeof work, &rep),
               KN_ERR_ARGUMENT);
  /* Every word of a handle is covered by its checksum. */
  for (size_t w = 0; w < KN_CSR_WORDS; ++w) {
    kn_csr bad = h;
    bad.opaque[w] ^= 1u;
    CHECK_STATUS(kn_sor_csr_h_f64(&bad, b, x, 1.3, KN_SWEEP_FORWARD, 1), KN_ERR_ARGUMENT);
    CHECK_STATUS(kn_cg_csr_h_f64(&bad, b, x, &o, work, sizeof work, &rep), KN_ERR_ARGUMENT);
  }
  /* Per-call arguments are still checked: omega, NaN in b, x overlapping the matrix. */
  CHECK_STATUS(kn_sor_csr_h_f64(&h, b, x, 2.5, KN_SWEEP_FORWARD, 1), KN_ERR_ARGUMENT);
  CHECK(untouched(x));
  CHECK_STATUS(kn_sor_csr_h_f64(&h, values, values + 1, 1.3, KN_SWEEP_FORWARD, 1),
               KN_ERR_ARGUMENT);
}

int main(void) {
  build();
  test_same_results();
  test_bad_input();
  printf("C csr handle test: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
