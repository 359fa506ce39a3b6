/* Option structs that can grow: kn_*_opts_default() values and size, and the size
 * rule of every kn_*_opts (size 0, below the first version, above what the library
 * knows: KN_ERR_ARGUMENT with outputs untouched; a caller's own sizeof: accepted).
 * Built with -Wall -Wextra -Werror -pedantic -fsanitize=address,undefined. */
#include "kernels.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* The sizes to refuse for a struct of `size` bytes: 0, too small, too large. */
#define BAD_SIZES(T) {0u, (uint32_t)sizeof(uint32_t), (uint32_t)sizeof(T) - 1u, (uint32_t)sizeof(T) + 8u}

static int all(const double *x, size_t n, double v) {
  for (size_t i = 0; i < n; ++i)
    if (x[i] != v) return 0;
  return 1;
}

static int allf(const float *x, size_t n, float v) {
  for (size_t i = 0; i < n; ++i)
    if (x[i] != v) return 0;
  return 1;
}

static void test_defaults(void) {
  kn_sinkhorn_opts s = kn_sinkhorn_opts_default();
  CHECK(s.size == sizeof(kn_sinkhorn_opts));
  CHECK(s.reg == 0.05 && s.tol == 1e-9 && s.max_iter == 1000 && s.check_every == 10);
  kn_sns_opts n = kn_sns_opts_default();
  CHECK(n.size == sizeof(kn_sns_opts));
  CHECK(n.reg == 0.05 && n.tol == 1e-9 && n.sinkhorn_iters == 20 && n.max_newton == 100);
  CHECK(n.density == 0.0 && n.cg_max_iter == 0 && n.cg_tol == 0.0);
  kn_cg_opts c = kn_cg_opts_default();
  CHECK(c.size == sizeof(kn_cg_opts));
  CHECK(c.tol == 1e-8 && c.max_iter == 1000 && c.precond == KN_PRECOND_JACOBI && c.omega == 1.0);
  kn_h2o_opts h = kn_h2o_opts_default();
  CHECK(h.size == sizeof(kn_h2o_opts));
  CHECK(h.sink == 4 && h.heavy == 60 && h.recent == 64 && h.scale == 0.0f);
}

/* The 2x2 transport problem of test_sinkhorn.c, by kn_sinkhorn_f64 and kn_sns_f64. */
static void test_sinkhorn_and_sns(void) {
  const double C[4] = {0.0, 1.0, 1.0, 0.0};
  const double half[2] = {0.5, 0.5};
  double f[2], g[2], plan[4];
  kn_report rep;
  size_t bytes, sns_bytes;
  CHECK(kn_sinkhorn_work_bytes(2, 2, &bytes) == KN_OK);
  CHECK(kn_sns_work_bytes(2, 2, 0.0, &sns_bytes) == KN_OK);
  if (sns_bytes > bytes) bytes = sns_bytes;
  void *work = malloc(bytes);

  kn_sinkhorn_opts so = kn_sinkhorn_opts_default();
  so.reg = 1.0;
  kn_sns_opts no = kn_sns_opts_default();
  no.reg = 1.0;
  const uint32_t bad_s[] = BAD_SIZES(kn_sinkhorn_opts), bad_n[] = BAD_SIZES(kn_sns_opts);
  for (size_t k = 0; k < 4; ++k) {
    kn_sinkhorn_opts s = so;
    kn_sns_opts n = no;
    s.size = bad_s[k];
    n.size = bad_n[k];
    f[0] = f[1] = g[0] = g[1] = 7.0;
    plan[0] = plan[1] = plan[2] = plan[3] = 7.0;
    memset(&rep, 0x5a, sizeof rep);
    CHECK(kn_sinkhorn_f64(2, 2, C, half, half, &s, f, g, plan, work, bytes, &rep) ==
          KN_ERR_ARGUMENT);
    CHECK(kn_sns_f64(2, 2, C, half, half, &n, f, g, plan, work, bytes, &rep) == KN_ERR_ARGUMENT);
    CHECK(kn_scale_f64(2, 2, C, half, half, &s, f, g, work, bytes, &rep) == KN_ERR_ARGUMENT);
    CHECK(all(f, 2, 7.0) && all(g, 2, 7.0) && all(plan, 4, 7.0) && rep.iterations == 0x5a5a5a5au);
  }

  /* A caller's own sizeof (the first version's size), set by hand: accepted. */
  kn_sinkhorn_opts s = {sizeof(kn_sinkhorn_opts), 1.0, 1e-12, 1000, 1, KN_SINKHORN_AUTO, 0, 0.0, 0.0, 0.0};
  memset(f, 0, sizeof f);
  memset(g, 0, sizeof g);
  CHECK(kn_sinkhorn_f64(2, 2, C, half, half, &s, f, g, plan, work, bytes, &rep) == KN_OK);
  CHECK(rep.error <= 1e-12);
  /* A 0.2 caller (its struct ended at check_every, 32 bytes): the fields after it
     are not read, whatever they hold. */
  s.size = 32;
  s.method = 99;
  s.eps_scaling = -1.0;
  s.overrelax = 5.0;
  memset(f, 0, sizeof f);
  memset(g, 0, sizeof g);
  CHECK(kn_sinkhorn_f64(2, 2, C, half, half, &s, f, g, plan, work, bytes, &rep) == KN_OK);
  CHECK(rep.error <= 1e-12);
  memset(f, 0, sizeof f);
  memset(g, 0, sizeof g);
  CHECK(kn_sns_f64(2, 2, C, half, half, &no, f, g, plan, work, bytes, &rep) == KN_OK);
  free(work);
}

static void test_cg(void) {
  const size_t indptr[3] = {0, 2, 4};
  const uint32_t indices[4] = {0, 1, 0, 1};
  const double values[4] = {4.0, 1.0, 1.0, 3.0}, b[2] = {1.0, 2.0};
  double x[2];
  size_t bytes;
  CHECK(kn_cg_work_bytes(2, &bytes) == KN_OK);
  void *work = malloc(bytes);
  kn_report rep;
  const uint32_t bad[] = BAD_SIZES(kn_cg_opts);
  for (size_t k = 0; k < 4; ++k) {
    kn_cg_opts o = kn_cg_opts_default();
    o.size = bad[k];
    x[0] = x[1] = 7.0;
    memset(&rep, 0x5a, sizeof rep);
    CHECK(kn_cg_csr_f64(2, indptr, indices, values, b, x, &o, work, bytes, &rep) ==
          KN_ERR_ARGUMENT);
    CHECK(all(x, 2, 7.0) && rep.iterations == 0x5a5a5a5au);
  }
  kn_cg_opts o = {sizeof(kn_cg_opts), 1e-12, 100, KN_PRECOND_SSOR, 1.2};
  x[0] = x[1] = 0.0;
  CHECK(kn_cg_csr_f64(2, indptr, indices, values, b, x, &o, work, bytes, &rep) == KN_OK);
  CHECK(rep.error <= 1e-12);
  free(work);
}

static void test_h2o(void) {
  enum { NH = 2, NKV = 1, SEQ = 3, D = 2 };
  const float q[NH * SEQ * D] = {1, 0, 0, 1, 1, 1, -1, 0, 0, -1, 1, -1};
  const float k[NKV * SEQ * D] = {1, 2, 0, 1, -1, 0};
  const float v[NKV * SEQ * D] = {1, 0, 0, 1, 1, 1};
  float out[NH * SEQ * D];
  size_t bytes;
  CHECK(kn_h2o_prefill_work_bytes(NH, NKV, SEQ, D, &bytes) == KN_OK);
  void *work = malloc(bytes);
  const uint32_t bad[] = BAD_SIZES(kn_h2o_opts);
  for (size_t i = 0; i < 4; ++i) {
    kn_h2o_opts o = kn_h2o_opts_default();
    o.size = bad[i];
    for (size_t j = 0; j < NH * SEQ * D; ++j) out[j] = 7.0f;
    CHECK(kn_h2o_prefill_f32(NH, NKV, SEQ, D, q, k, v, &o, out, NULL, NULL, work, bytes) ==
          KN_ERR_ARGUMENT);
    CHECK(allf(out, NH * SEQ * D, 7.0f));
  }
  /* The defaults are a valid budget. */
  kn_h2o_opts o = kn_h2o_opts_default();
  CHECK(kn_h2o_prefill_f32(NH, NKV, SEQ, D, q, k, v, &o, out, NULL, NULL, work, bytes) == KN_OK);
  free(work);
}

int main(void) {
  test_defaults();
  test_sinkhorn_and_sns();
  test_cg();
  test_h2o();
  printf("test_opts: %d checks, %d failures\n", checks, failures);
  return failures != 0;
}
