/* kn_scale_* and kn_sinkhorn_*: the 2x2 closed form, a converging random problem,
 * warm starts, and every bad-input class (status and untouched outputs);
 * kn_sinkhorn_unbalanced_* and kn_sinkhorn_batch_* against them.
 * Built with -Wall -Wextra -Werror -pedantic -fsanitize=address,undefined. */
#include "kernels.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Options from the defaults, so that fields added later keep their defaults. */
static kn_sinkhorn_opts opts(double reg, double tol, uint32_t max_iter, uint32_t check_every) {
  kn_sinkhorn_opts o = kn_sinkhorn_opts_default();
  o.reg = reg;
  o.tol = tol;
  o.max_iter = max_iter;
  o.check_every = check_every;
  return o;
}

static const double PLAN_2X2[4] = {0.36552929, 0.13447071, 0.13447071, 0.36552929};

static void *workspace(kn_status (*query)(size_t, size_t, size_t *), size_t n, size_t m,
                       size_t *bytes) {
  CHECK(query(n, m, bytes) == KN_OK);
  /* One byte of offset: any alignment must be accepted. */
  unsigned char *w = malloc(*bytes + 1);
  return w;
}

static void test_closed_form(void) {
  const double C[4] = {0.0, 1.0, 1.0, 0.0};
  const double half[2] = {0.5, 0.5};
  double f[2] = {0}, g[2] = {0}, plan[4];
  kn_sinkhorn_opts o = opts(1.0, 1e-13, 1000, 1);
  size_t bytes;
  unsigned char *w = workspace(kn_sinkhorn_work_bytes, 2, 2, &bytes);
  kn_report rep;
  CHECK(kn_sinkhorn_f64(2, 2, C, half, half, &o, f, g, plan, w + 1, bytes, &rep) == KN_OK);
  CHECK(rep.converged == 1 && rep.error <= 1e-13 && rep.iterations > 0);
  for (int k = 0; k < 4; ++k) CHECK(fabs(plan[k] - PLAN_2X2[k]) < 1e-8);
  CHECK(fabs(rep.value - 2 * 0.13447071) < 1e-8);

  /* f32, plan NULL, report NULL. */
  const float Cf[4] = {0.0f, 1.0f, 1.0f, 0.0f};
  const float halff[2] = {0.5f, 0.5f};
  float ff[2] = {0}, gf[2] = {0};
  o.tol = 1e-6;
  CHECK(kn_sinkhorn_f32(2, 2, Cf, halff, halff, &o, ff, gf, NULL, w, bytes, NULL) == KN_OK);
  CHECK(fabsf(expf(ff[0] + gf[0]) - 0.36552929f) < 1e-6f);
  free(w);

  /* Kernel mode on K = exp(-C). */
  const double e = exp(-1.0);
  const double K[4] = {1.0, e, e, 1.0};
  double u[2] = {0}, v[2] = {0};
  w = workspace(kn_scale_work_bytes, 2, 2, &bytes);
  o.tol = 1e-13;
  CHECK(kn_scale_f64(2, 2, K, half, half, &o, u, v, w + 1, bytes, &rep) == KN_OK);
  CHECK(rep.converged == 1 && rep.value == 0.0);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) CHECK(fabs(u[i] * K[2 * i + j] * v[j] - PLAN_2X2[2 * i + j]) < 1e-8);
  const float Kf[4] = {1.0f, (float)e, (float)e, 1.0f};
  float uf[2] = {0}, vf[2] = {0};
  o.tol = 1e-6;
  CHECK(kn_scale_f32(2, 2, Kf, halff, halff, &o, uf, vf, w, bytes, NULL) == KN_OK);
  CHECK(fabsf(uf[0] * vf[0] - 0.36552929f) < 1e-6f);
  free(w);
}

/* A random 50 x 40 problem to 1e-10, then a warm start from the result. */
static void test_random_and_warm_start(void) {
  enum { N = 50, M = 40 };
  static double C[N * M], plan[N * M];
  double a[N], b[M], f[N] = {0}, g[M] = {0};
  uint64_t s = 12345;
  for (int k = 0; k < N * M; ++k) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    C[k] = (double)(s >> 11) / 9007199254740992.0;
  }
  for (int i = 0; i < N; ++i) a[i] = 1.0 / N;
  for (int j = 0; j < M; ++j) b[j] = 1.0 / M;
  kn_sinkhorn_opts o = opts(0.05, 1e-10, 10000, 10);
  size_t bytes;
  unsigned char *w = workspace(kn_sinkhorn_work_bytes, N, M, &bytes);
  kn_report rep;
  CHECK(kn_sinkhorn_f64(N, M, C, a, b, &o, f, g, plan, w, bytes, &rep) == KN_OK);
  CHECK(rep.converged && rep.iterations % 10 == 0);
  double err = 0.0, cost = 0.0;
  for (int i = 0; i < N; ++i) {
    double r = 0.0;
    for (int j = 0; j < M; ++j) r += plan[i * M + j], cost += plan[i * M + j] * C[i * M + j];
    err += fabs(r - a[i]);
  }
  for (int j = 0; j < M; ++j) {
    double c = 0.0;
    for (int i = 0; i < N; ++i) c += plan[i * M + j];
    err += fabs(c - b[j]);
  }
  CHECK(err <= 1e-10 + 1e-14 && fabs(err - rep.error) < 1e-13);
  CHECK(fabs(cost - rep.value) < 1e-12);
  CHECK(kn_sinkhorn_f64(N, M, C, a, b, &o, f, g, NULL, w, bytes, &rep) == KN_OK);
  CHECK(rep.iterations == 10);
  free(w);
}

/* The methods (0.3): absorption and the log domain reach the same potentials and
   plan on a random problem at a small reg; epsilon scaling reaches it too. */
static void test_methods(void) {
  enum { N = 30, M = 20 };
  static double C[N * M], plan[3][N * M];
  double a[N], b[M], f[3][N], g[3][M];
  uint64_t s = 777;
  for (int k = 0; k < N * M; ++k) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    C[k] = (double)(s >> 11) / 9007199254740992.0;
  }
  for (int i = 0; i < N; ++i) a[i] = 1.0 / N;
  for (int j = 0; j < M; ++j) b[j] = 1.0 / M;
  size_t bytes;
  unsigned char *w = workspace(kn_sinkhorn_work_bytes, N, M, &bytes);
  kn_report rep[3];
  const int method[3] = {KN_SINKHORN_LOG, KN_SINKHORN_ABSORB, KN_SINKHORN_AUTO};
  for (int r = 0; r < 3; ++r) {
    kn_sinkhorn_opts o = opts(0.02, 1e-10, 100000, 10);
    o.method = method[r];
    o.eps_scaling = r == 2 ? 0.5 : 0.0;
    o.overrelax = r == 2 ? KN_SINKHORN_OVERRELAX_AUTO : 0.0;
    memset(f[r], 0, sizeof f[r]);
    memset(g[r], 0, sizeof g[r]);
    CHECK(kn_sinkhorn_f64(N, M, C, a, b, &o, f[r], g[r], plan[r], w, bytes, &rep[r]) == KN_OK);
    CHECK(rep[r].converged);
  }
  CHECK(rep[0].iterations == rep[1].iterations);
  double fmax = 0.0, pmax = 0.0, df = 0.0, dp = 0.0, dp2 = 0.0;
  for (int i = 0; i < N; ++i) fmax = fmax > fabs(f[0][i]) ? fmax : fabs(f[0][i]);
  for (int i = 0; i < N; ++i) df = df > fabs(f[1][i] - f[0][i]) ? df : fabs(f[1][i] - f[0][i]);
  for (int k = 0; k < N * M; ++k) {
    pmax = pmax > plan[0][k] ? pmax : plan[0][k];
    dp = dp > fabs(plan[1][k] - plan[0][k]) ? dp : fabs(plan[1][k] - plan[0][k]);
    dp2 = dp2 > fabs(plan[2][k] - plan[0][k]) ? dp2 : fabs(plan[2][k] - plan[0][k]);
  }
  CHECK(df <= 1e-9 * fmax && dp <= 1e-9 * pmax && dp2 <= 1e-7 * pmax);
  free(w);
}

static int same(const double *x, const double *y, size_t n) {
  return memcmp(x, y, n * sizeof *x) == 0;
}

/* Every bad-input class: the status, and f, g, plan, u, v, rep untouched. */
static void test_bad_input(void) {
  double C[6] = {0, 1, 2, 1, 0, 1}, a[2] = {0.5, 0.5}, b[3] = {0.25, 0.25, 0.5};
  const double f0[2] = {0.125, 0.125}, g0[3] = {-0.25, -0.25, -0.25};
  double f[2], g[3], plan[6], u[2], v[3];
  const double plan0[6] = {7, 7, 7, 7, 7, 7};
  kn_sinkhorn_opts o = opts(0.5, 1e-9, 100, 1);
  size_t bytes, sbytes;
  unsigned char *w = workspace(kn_sinkhorn_work_bytes, 2, 3, &bytes);
  unsigned char *sw = workspace(kn_scale_work_bytes, 2, 3, &sbytes);
  kn_report rep, rep0;
  memset(&rep0, 0x5a, sizeof rep0);

#define RESET()                                   \
  do {                                            \
    memcpy(f, f0, sizeof f);                      \
    memcpy(g, g0, sizeof g);                      \
    memcpy(plan, plan0, sizeof plan);             \
    memcpy(u, f0, sizeof u);                      \
    for (int k = 0; k < 3; ++k) v[k] = 0.5;       \
    rep = rep0;                                   \
  } while (0)
#define UNTOUCHED()                                                                  \
  (same(f, f0, 2) && same(g, g0, 3) && same(plan, plan0, 6) && same(u, f0, 2) &&     \
   v[0] == 0.5 && v[1] == 0.5 && v[2] == 0.5 && memcmp(&rep, &rep0, sizeof rep) == 0)
#define EXPECT_LOG(code, n, m, Cp, ap, bp, op, wp, wb)                               \
  do {                                                                               \
    RESET();                                                                         \
    CHECK(kn_sinkhorn_f64(n, m, Cp, ap, bp, op, f, g, plan, wp, wb, &rep) == (code));            \
    CHECK(UNTOUCHED());                                                              \
  } while (0)
#define EXPECT_SCALE(code, n, m, Kp, ap, bp, op, wp, wb)                             \
  do {                                                                               \
    RESET();                                                                         \
    CHECK(kn_scale_f64(n, m, Kp, ap, bp, op, u, v, wp, wb, &rep) == (code));         \
    CHECK(UNTOUCHED());                                                              \
  } while (0)

  /* NULL pointers. */
  EXPECT_LOG(KN_ERR_NULL, 2, 3, NULL, a, b, &o, w, bytes);
  EXPECT_LOG(KN_ERR_NULL, 2, 3, C, NULL, b, &o, w, bytes);
  EXPECT_LOG(KN_ERR_NULL, 2, 3, C, a, b, NULL, w, bytes);
  EXPECT_LOG(KN_ERR_NULL, 2, 3, C, a, b, &o, NULL, bytes);
  EXPECT_SCALE(KN_ERR_NULL, 2, 3, C, a, NULL, &o, sw, sbytes);
  RESET();
  CHECK(kn_sinkhorn_f64(2, 3, C, a, b, &o, NULL, g, plan, w, bytes, &rep) == KN_ERR_NULL);
  CHECK(kn_scale_f64(2, 3, C, a, b, &o, u, NULL, sw, sbytes, &rep) == KN_ERR_NULL);
  CHECK(UNTOUCHED());
  CHECK(kn_sinkhorn_work_bytes(2, 3, NULL) == KN_ERR_NULL);

  /* Dimensions: zero and overflowing n * m. */
  EXPECT_LOG(KN_ERR_DIMENSION, 0, 3, C, a, b, &o, w, bytes);
  EXPECT_SCALE(KN_ERR_DIMENSION, 2, 0, C, a, b, &o, sw, sbytes);
  EXPECT_LOG(KN_ERR_DIMENSION, SIZE_MAX / 2, 3, C, a, b, &o, w, bytes);
  EXPECT_SCALE(KN_ERR_DIMENSION, 3, SIZE_MAX / 2, C, a, b, &o, sw, sbytes);
  size_t q = 0;
  CHECK(kn_sinkhorn_work_bytes(SIZE_MAX / 2, 3, &q) == KN_ERR_DIMENSION && q == 0);
  CHECK(kn_scale_work_bytes(0, 3, &q) == KN_ERR_DIMENSION);

  /* Workspace too small. */
  EXPECT_LOG(KN_ERR_WORKSPACE, 2, 3, C, a, b, &o, w, bytes - 1);
  EXPECT_SCALE(KN_ERR_WORKSPACE, 2, 3, C, a, b, &o, sw, sbytes - 1);

  /* Options out of range. */
  kn_sinkhorn_opts bad = o;
  bad.reg = 0.0;
  EXPECT_LOG(KN_ERR_ARGUMENT, 2, 3, C, a, b, &bad, w, bytes);
  bad = o;
  bad.tol = 0.0;
  EXPECT_LOG(KN_ERR_ARGUMENT, 2, 3, C, a, b, &bad, w, bytes);
  EXPECT_SCALE(KN_ERR_ARGUMENT, 2, 3, C, a, b, &bad, sw, sbytes);
  bad = o;
  bad.max_iter = 0;
  EXPECT_SCALE(KN_ERR_ARGUMENT, 2, 3, C, a, b, &bad, sw, sbytes);
  /* The method and epsilon-scaling options (0.3): bad values, an unknown method,
     and absorption without a plan buffer. */
  const double bad_scaling[] = {-0.5, NAN, 1.0, 1.5, INFINITY};
  for (int k = 0; k < 5; ++k) {
    bad = o;
    bad.eps_scaling = bad_scaling[k];
    EXPECT_LOG(KN_ERR_ARGUMENT, 2, 3, C, a, b, &bad, w, bytes);
  }
  const double bad_start[] = {-1.0, NAN, INFINITY};
  for (int k = 0; k < 3; ++k) {
    bad = o;
    bad.eps_scaling = 0.5;
    bad.reg_start = bad_start[k];
    EXPECT_LOG(KN_ERR_ARGUMENT, 2, 3, C, a, b, &bad, w, bytes);
  }
  const double bad_relax[] = {-0.5, -2.0, NAN, 2.0, INFINITY};
  for (int k = 0; k < 5; ++k) {
    bad = o;
    bad.overrelax = bad_relax[k];
    EXPECT_LOG(KN_ERR_ARGUMENT, 2, 3, C, a, b, &bad, w, bytes);
  }
  bad = o;
  bad.method = 3;
  EXPECT_LOG(KN_ERR_ARGUMENT, 2, 3, C, a, b, &bad, w, bytes);
  bad.method = -1;
  EXPECT_LOG(KN_ERR_ARGUMENT, 2, 3, C, a, b, &bad, w, bytes);
  bad.method = KN_SINKHORN_ABSORB;
  RESET();
  CHECK(kn_sinkhorn_f64(2, 3, C, a, b, &bad, f, g, NULL, w, bytes, &rep) == KN_ERR_ARGUMENT);
  CHECK(UNTOUCHED());

  /* Non-finite values. */
  C[4] = NAN;
  EXPECT_LOG(KN_ERR_NON_FINITE, 2, 3, C, a, b, &o, w, bytes);
  EXPECT_SCALE(KN_ERR_NON_FINITE, 2, 3, C, a, b, &o, sw, sbytes);
  C[4] = 0.0;
  a[1] = INFINITY;
  EXPECT_LOG(KN_ERR_NON_FINITE, 2, 3, C, a, b, &o, w, bytes);
  a[1] = 0.5;
  b[2] = -INFINITY;
  EXPECT_SCALE(KN_ERR_NON_FINITE, 2, 3, C, a, b, &o, sw, sbytes);
  b[2] = 0.5;

  /* Marginals with different sums. */
  b[2] = 0.4;
  EXPECT_LOG(KN_ERR_ARGUMENT, 2, 3, C, a, b, &o, w, bytes);
  EXPECT_SCALE(KN_ERR_ARGUMENT, 2, 3, C, a, b, &o, sw, sbytes);
  b[2] = 0.5;

  /* A zero row of K. */
  double K[6] = {0, 0, 0, 1, 1, 1};
  EXPECT_SCALE(KN_ERR_NUMERICAL, 2, 3, K, a, b, &o, sw, sbytes);

  /* An output overlapping an input. */
  RESET();
  CHECK(kn_sinkhorn_f64(2, 3, C, a, b, &o, f, g, C, w, bytes, &rep) == KN_ERR_ARGUMENT);
  CHECK(UNTOUCHED());

  /* And the same call with good arguments succeeds. */
  RESET();
  CHECK(kn_sinkhorn_f64(2, 3, C, a, b, &o, f, g, plan, w, bytes, &rep) == KN_OK);
  RESET();
  CHECK(kn_scale_f64(2, 3, C, a, b, &o, u, v, sw, sbytes, &rep) == KN_OK && rep.converged == 1);
  free(w);
  free(sw);
}

/* Unbalanced with infinite penalties is kn_sinkhorn_f64 bit for bit; finite penalties
 * against twice the target mass give a plan mass in between. A batch of three
 * problems is three kn_sinkhorn_f64 calls bit for bit. */
static void test_unbalanced_and_batch(void) {
  const double C[4] = {0.0, 1.0, 1.0, 0.0};
  const double half[2] = {0.5, 0.5}, one[2] = {1.0, 1.0};
  double f[2] = {0}, g[2] = {0}, plan[4], fu[2] = {0}, gu[2] = {0}, planu[4];
  size_t bytes, ubytes;
  unsigned char *w = workspace(kn_sinkhorn_work_bytes, 2, 2, &bytes);
  unsigned char *uw = workspace(kn_sinkhorn_unbalanced_work_bytes, 2, 2, &ubytes);
  kn_sinkhorn_opts o = opts(1.0, 1e-300, 25, 5);
  kn_unbalanced_opts u = kn_unbalanced_opts_default();
  CHECK(u.size == sizeof(kn_unbalanced_opts) && u.reg_m1 == 1.0 && u.reg_m2 == 1.0);
  u.reg = 1.0;
  u.reg_m1 = u.reg_m2 = INFINITY;
  u.tol = 1e-300;
  u.max_iter = 25;
  u.check_every = 5;
  kn_report rep, urep;
  const kn_status s = kn_sinkhorn_f64(2, 2, C, half, half, &o, f, g, plan, w + 1, bytes, &rep);
  CHECK(s == KN_OK || s == KN_NOT_CONVERGED);
  CHECK(kn_sinkhorn_unbalanced_f64(2, 2, C, half, half, &u, fu, gu, planu, uw + 1, ubytes,
                                   &urep) == s);
  CHECK(memcmp(f, fu, sizeof f) == 0 && memcmp(g, gu, sizeof g) == 0);
  CHECK(memcmp(plan, planu, sizeof plan) == 0 && rep.value == urep.value);
  u.reg_m1 = u.reg_m2 = 1.0;
  u.tol = 1e-12;
  u.max_iter = 1000;
  CHECK(kn_sinkhorn_unbalanced_f64(2, 2, C, half, one, &u, fu, gu, planu, uw, ubytes, &urep) ==
        KN_OK);
  const double mass = planu[0] + planu[1] + planu[2] + planu[3];
  CHECK(mass > 1.0 && mass < 2.0 && urep.error <= 1e-12);
  /* A negative penalty: refused, nothing written. */
  u.reg_m2 = -1.0;
  double keep[2] = {7.0, 7.0};
  CHECK(kn_sinkhorn_unbalanced_f64(2, 2, C, half, one, &u, keep, gu, NULL, uw, ubytes, NULL) ==
        KN_ERR_ARGUMENT);
  CHECK(keep[0] == 7.0 && keep[1] == 7.0);
  free(uw);

  enum { B = 3 };
  double Cb[B * 4], ab[B * 2], bb[B * 2], fb[B * 2] = {0}, gb[B * 2] = {0}, pb[B * 4];
  kn_report reps[B];
  for (int k = 0; k < B * 4; ++k) Cb[k] = 0.5 * (1.0 + sin(0.9 * k));
  for (int k = 0; k < B * 2; ++k) ab[k] = bb[k] = 0.5;
  size_t bbytes;
  CHECK(kn_sinkhorn_batch_work_bytes(B, 2, 2, &bbytes) == KN_OK);
  CHECK(kn_sinkhorn_batch_work_bytes(0, 2, 2, &bbytes) == KN_ERR_DIMENSION);
  unsigned char *bw = malloc(bbytes + 1);
  o = opts(0.2, 1e-12, 1000, 3);
  CHECK(kn_sinkhorn_batch_f64(B, 2, 2, Cb, ab, bb, &o, fb, gb, pb, bw + 1, bbytes, reps) == KN_OK);
  for (int k = 0; k < B; ++k) {
    double fk[2] = {0}, gk[2] = {0}, pk[4];
    CHECK(kn_sinkhorn_f64(2, 2, Cb + 4 * k, half, half, &o, fk, gk, pk, w, bytes, &rep) == KN_OK);
    CHECK(memcmp(fk, fb + 2 * k, sizeof fk) == 0 && memcmp(gk, gb + 2 * k, sizeof gk) == 0);
    CHECK(memcmp(pk, pb + 4 * k, sizeof pk) == 0);
    CHECK(rep.iterations == reps[k].iterations && rep.value == reps[k].value);
  }
  free(bw);
  free(w);
}

/* Point clouds: the same iterates as kn_sinkhorn_f64 on the explicit cost |x - y|^2
   (exact here: differences of small integers and halves), the plan never stored. */
static void test_points(void) {
  enum { N = 3, M = 4, D = 2 };
  const double x[N * D] = {0.0, 0.0, 1.0, 0.0, 0.0, 1.0};
  const double y[M * D] = {0.5, 0.5, 1.5, 0.0, 0.0, 1.5, 1.0, 1.0};
  const double a[N] = {1.0 / 3, 1.0 / 3, 1.0 / 3}, b[M] = {0.25, 0.25, 0.25, 0.25};
  double C[N * M];
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < M; ++j) {
      const double dx = x[i * D] - y[j * D], dy = x[i * D + 1] - y[j * D + 1];
      C[i * M + j] = dx * dx + dy * dy;
    }
  size_t bytes, pbytes;
  unsigned char *w = workspace(kn_sinkhorn_work_bytes, N, M, &bytes);
  CHECK(kn_sinkhorn_points_work_bytes(N, M, D, &pbytes) == KN_OK);
  CHECK(kn_sinkhorn_points_work_bytes(N, M, 0, &pbytes) == KN_ERR_DIMENSION);
  unsigned char *pw = malloc(pbytes + 3);
  kn_sinkhorn_opts o = opts(0.3, 1e-12, 1000, 4);
  double f[N] = {0}, g[M] = {0}, fp[N] = {0}, gp[M] = {0};
  kn_report rep, prep;
  CHECK(kn_sinkhorn_f64(N, M, C, a, b, &o, f, g, NULL, w, bytes, &rep) == KN_OK);
  CHECK(kn_sinkhorn_points_f64(N, M, D, x, y, a, b, &o, fp, gp, pw + 3, pbytes, &prep) == KN_OK);
  CHECK(memcmp(f, fp, sizeof f) == 0 && memcmp(g, gp, sizeof g) == 0);
  CHECK(rep.iterations == prep.iterations && rep.value == prep.value);
  /* NaN in a point: refused, nothing written. */
  double bad[N * D] = {0.0, 0.0, 1.0, NAN, 0.0, 1.0};
  double keep[N] = {7.0, 7.0, 7.0};
  CHECK(kn_sinkhorn_points_f64(N, M, D, bad, y, a, b, &o, keep, gp, pw, pbytes, NULL) ==
        KN_ERR_NON_FINITE);
  CHECK(keep[0] == 7.0 && keep[1] == 7.0 && keep[2] == 7.0);
  free(pw);
  free(w);
}

int main(void) {
  test_closed_form();
  test_random_and_warm_start();
  test_bad_input();
  test_methods();
  test_unbalanced_and_batch();
  test_points();
  printf("test_sinkhorn: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
