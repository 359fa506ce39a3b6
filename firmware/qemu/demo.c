/* The firmware demo, shared by the Cortex-M4 build and the host build: every non-CUDA
 * kernel family once, on small built-in data, with the workspace in one static buffer,
 * results printed with enough digits to compare the two builds (compare.py).
 *
 * Each family's demo can be left out at compile time (-DKN_DEMO_<FAMILY>=0), which is
 * how run.sh measures each family's share of flash and RAM. */
#include "demo.h"

#include "kernels.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#ifndef KN_DEMO_SINKHORN
#define KN_DEMO_SINKHORN 1
#endif
#ifndef KN_DEMO_SNS
#define KN_DEMO_SNS 1
#endif
#ifndef KN_DEMO_H2O
#define KN_DEMO_H2O 1
#endif
#ifndef KN_DEMO_LINATTN
#define KN_DEMO_LINATTN 1
#endif
#ifndef KN_DEMO_SOR
#define KN_DEMO_SOR 1
#endif
#ifndef KN_DEMO_PAGING
#define KN_DEMO_PAGING 1
#endif
#ifndef KN_DEMO_CG
#define KN_DEMO_CG 1
#endif

/* One static scratch buffer for every demo: no heap is involved anywhere. The helpers
 * are `static inline` so that a build without some families has no unused ones. */
static unsigned char work[24576];

static int failures = 0;

static void expect(const char *what, kn_status got, kn_status want) {
  if (got != want) {
    ++failures;
    printf("FAIL %s: status %d (%s), expected %d\n", what, (int)got, kn_status_str(got),
           (int)want);
  }
}

/* Asks a size query and checks that the static buffer is large enough. */
/* `bytes` is read here, after the query has run: as an argument beside the query's
 * call it could be read before the call writes it (C leaves the order open). */
static inline int fits(const char *what, kn_status status, const size_t *bytes_out) {
  size_t bytes = *bytes_out;
  expect(what, status, KN_OK);
  if (status != KN_OK || bytes > sizeof work) {
    ++failures;
    printf("FAIL %s: needs %u bytes of workspace, the demo has %u\n", what, (unsigned)bytes,
           (unsigned)sizeof work);
    return 0;
  }
  return 1;
}

static inline void print_floats(const char *name, const float *x, size_t n) {
  printf("%s:", name);
  for (size_t i = 0; i < n; ++i) printf(" %.6g", (double)x[i]);
  printf("\n");
}

static inline void print_doubles(const char *name, const double *x, size_t n) {
  printf("%s:", name);
  for (size_t i = 0; i < n; ++i) printf(" %.10g", x[i]);
  printf("\n");
}

/* Deterministic values in [-1, 1): the same on every target. */
static inline float wave(unsigned i) { return (float)sin(0.7 * i + 0.3); }

static void demo_library(void) {
  printf("version: %u\n", (unsigned)kn_version());
  printf("status: %s\n", kn_status_str(KN_ERR_WORKSPACE));
}

#if KN_DEMO_SINKHORN
static void demo_sinkhorn(void) {
  /* The closed form of the docs: a = b = (.5, .5), C = [[0, 1], [1, 0]], eps = 1. */
  const double C[4] = {0.0, 1.0, 1.0, 0.0};
  const double a[2] = {0.5, 0.5}, b[2] = {0.5, 0.5};
  double f[2] = {0}, g[2] = {0}, plan[4];
  kn_sinkhorn_opts opts = kn_sinkhorn_opts_default();
  opts.reg = 1.0;
  opts.tol = 1e-12;
  opts.check_every = 1;
  kn_report rep;
  size_t bytes = 0;
  if (!fits("sinkhorn work", kn_sinkhorn_work_bytes(2, 2, &bytes), &bytes)) return;
  expect("kn_sinkhorn_f64", kn_sinkhorn_f64(2, 2, C, a, b, &opts, f, g, plan, work, bytes, &rep),
         KN_OK);
  print_doubles("sinkhorn plan", plan, 4);
  printf("sinkhorn cost: %.10g\n", rep.value);

  /* Unbalanced: the same cost against twice the mass, KL penalty 1 on each side. */
  const double b2[2] = {1.0, 1.0};
  double fu[2] = {0}, gu[2] = {0};
  kn_unbalanced_opts uopts = kn_unbalanced_opts_default();
  uopts.reg = 1.0;
  uopts.tol = 1e-12;
  if (!fits("unbalanced work", kn_sinkhorn_unbalanced_work_bytes(2, 2, &bytes), &bytes)) return;
  expect("kn_sinkhorn_unbalanced_f64",
         kn_sinkhorn_unbalanced_f64(2, 2, C, a, b2, &uopts, fu, gu, plan, work, bytes, &rep), KN_OK);
  print_doubles("unbalanced plan", plan, 4);
  printf("unbalanced mass: %.10g\n", plan[0] + plan[1] + plan[2] + plan[3]);

  /* Point clouds: three points on a line against the same moved by 0.1; the cost
     |x - y|^2 is computed on the fly; most mass goes to the neighbour. (f64, as the
     calls above: the f32 log-domain solver would add its own copy of the iteration.) */
  const double px[6] = {0.0, 0.0, 1.0, 0.0, 2.0, 0.0};
  const double py[6] = {0.1, 0.0, 1.1, 0.0, 2.1, 0.0};
  const double pw[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
  double pf[3] = {0}, pg[3] = {0};
  kn_sinkhorn_opts popts = kn_sinkhorn_opts_default();
  popts.reg = 0.5;
  popts.tol = 1e-10;
  if (!fits("points work", kn_sinkhorn_points_work_bytes(3, 3, 2, &bytes), &bytes)) return;
  expect("kn_sinkhorn_points_f64",
         kn_sinkhorn_points_f64(3, 3, 2, px, py, pw, pw, &popts, pf, pg, work, bytes, &rep), KN_OK);
  printf("points cost: %.10g\n", rep.value);

  /* Kernel mode, f32: scale a 3x3 positive matrix to uniform marginals. */
  const float K[9] = {1.0f, 0.5f, 0.25f, 0.5f, 1.0f, 0.5f, 0.25f, 0.5f, 1.0f};
  const float r[3] = {1.0f / 3, 1.0f / 3, 1.0f / 3};
  float u[3] = {0}, v[3] = {0};
  kn_sinkhorn_opts sopts = kn_sinkhorn_opts_default();
  sopts.reg = 1.0;
  sopts.tol = 1e-5;
  sopts.max_iter = 500;
  sopts.check_every = 1;
  if (!fits("scale work", kn_scale_work_bytes(3, 3, &bytes), &bytes)) return;
  expect("kn_scale_f32", kn_scale_f32(3, 3, K, r, r, &sopts, u, v, work, bytes, &rep), KN_OK);
  print_floats("scale u", u, 3);
}
#endif

#if KN_DEMO_SNS
static void demo_sns(void) {
  /* A 6 x 5 problem with eps = 0.05: Sinkhorn warm-up, then Newton steps to 1e-12. */
  enum { N = 6, M = 5 };
  double C[N * M], a[N], b[M], f[N] = {0}, g[M] = {0}, plan[N * M];
  for (unsigned k = 0; k < N * M; ++k) C[k] = 0.5 * (1.0 + sin(0.7 * k + 0.3));
  for (unsigned i = 0; i < N; ++i) a[i] = 1.0 / N;
  for (unsigned j = 0; j < M; ++j) b[j] = 1.0 / M;
  kn_sns_opts opts = kn_sns_opts_default();
  opts.tol = 1e-12;
  opts.sinkhorn_iters = 5;
  opts.max_newton = 50;
  opts.density = 0.5;
  kn_report rep;
  size_t bytes = 0;
  if (!fits("sns work", kn_sns_work_bytes(N, M, opts.density, &bytes), &bytes)) return;
  expect("kn_sns_f64", kn_sns_f64(N, M, C, a, b, &opts, f, g, plan, work, bytes, &rep), KN_OK);
  print_doubles("sns plan row 0", plan, M);
  printf("sns cost: %.10g\n", rep.value);
}
#endif

#if KN_DEMO_H2O
/* float -> bf16 bits, to nearest even (finite values), and back. */
static kn_bf16 to_bf16(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return (kn_bf16)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static float from_bf16(kn_bf16 h) {
  uint32_t u = (uint32_t)h << 16;
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

static void demo_h2o(void) {
  enum { H = 2, KV = 1, SEQ = 8, D = 4 };
  float q[H * SEQ * D], k[KV * SEQ * D], v[KV * SEQ * D], out[H * SEQ * D], scores[KV * SEQ];
  uint8_t keep[KV * SEQ];
  for (unsigned i = 0; i < H * SEQ * D; ++i) q[i] = wave(i);
  for (unsigned i = 0; i < KV * SEQ * D; ++i) k[i] = wave(i + 100), v[i] = wave(i + 200);
  kn_h2o_opts opts = kn_h2o_opts_default(); /* sink 1, heavy 2, recent 2: a budget of 5 of 8 */
  opts.sink = 1;
  opts.heavy = 2;
  opts.recent = 2;
  size_t bytes = 0;
  if (!fits("h2o prefill work", kn_h2o_prefill_work_bytes(H, KV, SEQ, D, &bytes), &bytes)) return;
  expect("kn_h2o_prefill_f32",
         kn_h2o_prefill_f32(H, KV, SEQ, D, q, k, v, &opts, out, scores, keep, work, bytes), KN_OK);
  print_floats("h2o last row", out + (SEQ - 1) * D, D);
  print_floats("h2o scores", scores, SEQ);
  printf("h2o keep:");
  for (unsigned i = 0; i < SEQ; ++i) printf(" %u", (unsigned)keep[i]);
  printf("\n");

  /* Decode the same tokens one at a time through a fixed-budget cache. */
  static float ck[KV * 5 * D], cv[KV * 5 * D], cs[KV * 5];
  static uint64_t cpos[KV * 5];
  kn_h2o_cache cache;
  expect("kn_h2o_cache_init", kn_h2o_cache_init(&cache, KV, D, 1, 2, 2, ck, cv, cs, cpos), KN_OK);
  if (!fits("h2o decode work", kn_h2o_decode_work_bytes(&cache, H, &bytes), &bytes)) return;
  float step[H * D], qt[H * D];
  for (unsigned t = 0; t < SEQ; ++t) {
    for (unsigned h = 0; h < H; ++h)
      for (unsigned j = 0; j < D; ++j) qt[h * D + j] = q[(h * SEQ + t) * D + j];
    expect("kn_h2o_decode_f32",
           kn_h2o_decode_f32(&cache, H, qt, k + t * D, v + t * D, 0.0f, step, work, bytes), KN_OK);
  }
  print_floats("h2o decode last", step, D);
  printf("h2o cache len: %u\n", (unsigned)cache.len);

  /* The same tokens on a bf16 cache (a bf16 is the upper half of a float; no half
   * arithmetic on the Cortex-M4: the library converts in software). */
  static kn_bf16 bk[KV * 5 * D], bv[KV * 5 * D];
  static float bs[KV * 5];
  static uint64_t bpos[KV * 5];
  kn_h2o_cache_bf16 half;
  expect("kn_h2o_cache_init_bf16",
         kn_h2o_cache_init_bf16(&half, KV, D, 1, 2, 2, bk, bv, bs, bpos), KN_OK);
  if (!fits("h2o bf16 decode work", kn_h2o_decode_bf16_work_bytes(&half, H, &bytes), &bytes))
    return;
  kn_bf16 hq[H * D], hk[KV * D], hv[KV * D], hout[H * D];
  for (unsigned t = 0; t < SEQ; ++t) {
    for (unsigned h = 0; h < H; ++h)
      for (unsigned j = 0; j < D; ++j) hq[h * D + j] = to_bf16(q[(h * SEQ + t) * D + j]);
    for (unsigned j = 0; j < KV * D; ++j) hk[j] = to_bf16(k[t * D + j]), hv[j] = to_bf16(v[t * D + j]);
    expect("kn_h2o_decode_bf16",
           kn_h2o_decode_bf16(&half, H, hq, hk, hv, 0.0f, hout, work, bytes), KN_OK);
  }
  for (unsigned j = 0; j < D; ++j) step[j] = from_bf16(hout[j]);
  print_floats("h2o bf16 decode last", step, D);
}
#endif

#if KN_DEMO_LINATTN
/* float -> binary16 bits, to nearest even, for normal values in range (the demo's
 * data); smaller magnitudes become zero. And back, for normal values and zero. */
static kn_f16 to_f16(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  const uint32_t sign = (u >> 16) & 0x8000u, m = u & 0x7fffffu;
  const int32_t e = (int32_t)((u >> 23) & 0xffu) - 127 + 15;
  if (e <= 0) return (kn_f16)sign;
  uint32_t h = ((uint32_t)e << 10) | (m >> 13);
  const uint32_t rest = m & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
  return (kn_f16)(sign | h);
}

static float from_f16(kn_f16 h) {
  const uint32_t e = (h >> 10) & 0x1fu;
  uint32_t u = (uint32_t)(h & 0x8000u) << 16;
  if (e != 0) u |= ((e - 15u + 127u) << 23) | ((uint32_t)(h & 0x3ffu) << 13);
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

static void demo_linattn(void) {
  enum { H = 1, L = 8, DK = 4, DV = 4 };
  float q[H * L * DK], k[H * L * DK], v[H * L * DV], out[H * L * DV], state[H * DK * DV];
  const float decay[H] = {0.9f};
  for (unsigned i = 0; i < H * L * DK; ++i) q[i] = wave(i), k[i] = wave(i + 50);
  for (unsigned i = 0; i < H * L * DV; ++i) v[i] = wave(i + 90);
  size_t bytes = 0;
  if (!fits("linattn work", kn_linattn_work_bytes(H, L, DK, DV, 4, &bytes), &bytes)) return;
  expect("kn_linattn_forward_f32",
         kn_linattn_forward_f32(H, L, DK, DV, q, k, v, decay, 0.0f, NULL, out, state, 4, work,
                                bytes),
         KN_OK);
  print_floats("linattn last row", out + (L - 1) * DV, DV);

  /* Two halves: chunk states, the LASP-2 scan, and the second half from its prefix. */
  float states[2 * DK * DV], prefix[2 * DK * DV], half[(L / 2) * DV];
  const size_t lens[2] = {L / 2, L / 2};
  expect("kn_linattn_chunk_state_f32 (1)",
         kn_linattn_chunk_state_f32(H, L / 2, DK, DV, k, v, decay, states), KN_OK);
  expect("kn_linattn_chunk_state_f32 (2)",
         kn_linattn_chunk_state_f32(H, L / 2, DK, DV, k + (L / 2) * DK, v + (L / 2) * DV, decay,
                                    states + DK * DV),
         KN_OK);
  expect("kn_linattn_state_scan_f32",
         kn_linattn_state_scan_f32(2, H, DK, DV, lens, decay, states, prefix), KN_OK);
  if (!fits("linattn half work", kn_linattn_work_bytes(H, L / 2, DK, DV, 0, &bytes), &bytes)) return;
  expect("kn_linattn_forward_f32 (half)",
         kn_linattn_forward_f32(H, L / 2, DK, DV, q + (L / 2) * DK, k + (L / 2) * DK,
                                v + (L / 2) * DV, decay, 0.0f, prefix + DK * DV, half, NULL, 0,
                                work, bytes),
         KN_OK);
  print_floats("linattn split last row", half + (L / 2 - 1) * DV, DV);

  /* Gated: a log gate per token (exp in double, software on this core), its chunk
   * state and log decay, and the same tokens as two packed varlen sequences. */
  float g[H * L], gstate[H * DK * DV], log_decay[H], gout[H * L * DV];
  for (unsigned t = 0; t < H * L; ++t) g[t] = -0.05f * (float)(t % 5) - 0.01f;
  if (!fits("linattn gated work", kn_linattn_gated_work_bytes(H, L, DK, DV, 4, &bytes), &bytes))
    return;
  expect("kn_linattn_gated_forward_f32",
         kn_linattn_gated_forward_f32(H, L, DK, DV, q, k, v, g, 0.0f, NULL, gout, gstate, 4, work,
                                      bytes),
         KN_OK);
  print_floats("linattn gated last row", gout + (L - 1) * DV, DV);
  expect("kn_linattn_gated_chunk_state_f32",
         kn_linattn_gated_chunk_state_f32(H, L, DK, DV, k, v, g, gstate, log_decay), KN_OK);
  print_floats("linattn gated log decay", log_decay, H);
  const size_t cu[3] = {0, 3, L};
  expect("kn_linattn_gated_forward_varlen_f32",
         kn_linattn_gated_forward_varlen_f32(2, cu, H, L, DK, DV, q, k, v, g, 0.0f, NULL, gout,
                                             NULL, 4, work, bytes),
         KN_OK);
  print_floats("linattn varlen last row", gout + (L - 1) * DV, DV);

  /* The same tokens stored as binary16 (converted in software on this core), states
   * in float. */
  kn_f16 hq[H * L * DK], hk[H * L * DK], hv[H * L * DV], hout[H * L * DV];
  for (unsigned i = 0; i < H * L * DK; ++i) hq[i] = to_f16(q[i]), hk[i] = to_f16(k[i]);
  for (unsigned i = 0; i < H * L * DV; ++i) hv[i] = to_f16(v[i]);
  if (!fits("linattn f16 work", kn_linattn_f16_work_bytes(H, L, DK, DV, 4, &bytes), &bytes))
    return;
  expect("kn_linattn_forward_f16",
         kn_linattn_forward_f16(H, L, DK, DV, hq, hk, hv, decay, 0.0f, NULL, hout, NULL, 4, work,
                                bytes),
         KN_OK);
  float last[DV];
  for (unsigned j = 0; j < DV; ++j) last[j] = from_f16(hout[(L - 1) * DV + j]);
  print_floats("linattn f16 last row", last, DV);
}
#endif

#if KN_DEMO_SOR
static void demo_sor(void) {
  /* 1D Poisson: tridiagonal (-1, 2, -1), n = 8, b = 1, SOR with omega 1.5. */
  enum { N = 8 };
  size_t indptr[N + 1];
  uint32_t indices[3 * N];
  double values[3 * N], b[N], x[N] = {0};
  size_t nnz = 0;
  for (unsigned i = 0; i < N; ++i) {
    indptr[i] = nnz;
    if (i > 0) indices[nnz] = i - 1, values[nnz++] = -1.0;
    indices[nnz] = i, values[nnz++] = 2.0;
    if (i + 1 < N) indices[nnz] = i + 1, values[nnz++] = -1.0;
    b[i] = 1.0;
  }
  indptr[N] = nnz;
  kn_report rep;
  size_t bytes = 0;
  if (!fits("sor solve work", kn_sor_solve_work_bytes(N, &bytes), &bytes)) return;
  expect("kn_sor_solve_csr_f64",
         kn_sor_solve_csr_f64(N, indptr, indices, values, b, x, 1.5, 1e-10, 1000, work, bytes,
                              &rep),
         KN_OK);
  printf("sor iterations: %u\n", (unsigned)rep.iterations);
  print_doubles("sor x", x, 4);

  /* Red-black sweeps on a 4x4 grid, f32. */
  float gb[16], gx[16] = {0};
  for (unsigned i = 0; i < 16; ++i) gb[i] = 1.0f;
  expect("kn_sor_grid2d_f32", kn_sor_grid2d_f32(4, 4, 0.0f, gb, gx, 1.2f, 20), KN_OK);
  print_floats("sor grid", gx, 4);

  /* The tuner learns omega on a toy cost that is smallest near 1.5. */
  static kn_omega_tuner tuner;
  expect("kn_omega_tuner_init", kn_omega_tuner_init(&tuner, 8, 1.0, 1.9, 7), KN_OK);
  double omega = 0.0;
  for (unsigned t = 0; t < 50; ++t) {
    expect("kn_omega_tuner_next", kn_omega_tuner_next(&tuner, 0.0, &omega), KN_OK);
    expect("kn_omega_tuner_feedback",
           kn_omega_tuner_feedback(&tuner, 10.0 + 100.0 * fabs(omega - 1.5)), KN_OK);
  }
  printf("tuner last omega: %.6g\n", omega);
}
#endif

#if KN_DEMO_PAGING
static void demo_paging(void) {
  /* The textbook trace, cache of 3 pages. */
  static const uint64_t pages[] = {7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1};
  enum { LEN = sizeof pages / sizeof pages[0], K = 3 };
  uint8_t discard[LEN], phase[LEN];
  uint64_t opt = 0, faults = 0;
  size_t bytes = 0;
  if (!fits("paging offline work", kn_paging_offline_work_bytes(K, LEN, &bytes), &bytes)) return;
  expect("kn_paging_offline", kn_paging_offline(K, pages, LEN, &opt, discard, phase, work, bytes),
         KN_OK);
  printf("paging belady faults: %u\n", (unsigned)opt);
  if (!fits("pager work", kn_pager_work_bytes(K, &bytes), &bytes)) return;
  const int32_t policies[] = {KN_PAGING_LRU,   KN_PAGING_MARKER,         KN_PAGING_DISCARD,
                              KN_PAGING_DISCARD_RANDOM, KN_PAGING_PHASE, KN_PAGING_DISCARD_ROBUST,
                              KN_PAGING_LEARNED};
  printf("paging faults (lru marker discard discard_random phase discard_robust learned):");
  for (unsigned p = 0; p < 7; ++p) {
    const uint8_t *bits = policies[p] == KN_PAGING_PHASE ? phase : discard;
    expect("kn_paging_simulate",
           kn_paging_simulate(policies[p], K, 1, pages, bits, LEN, &faults, work, bytes), KN_OK);
    printf(" %u", (unsigned)faults);
  }
  printf("\n");
  /* The same LRU run access by access through a pager. */
  kn_pager pager;
  kn_access acc;
  unsigned misses = 0;
  expect("kn_pager_init", kn_pager_init(&pager, KN_PAGING_LRU, K, 1, work, bytes), KN_OK);
  for (unsigned i = 0; i < LEN; ++i) {
    expect("kn_pager_access", kn_pager_access(&pager, pages[i], 0, &acc), KN_OK);
    misses += acc.hit ? 0u : 1u;
  }
  printf("pager lru faults: %u\n", misses);
  /* The learned pager with a context per request (a made-up instruction address),
   * access by access and over the whole trace; and a NULL context array refused. */
  static const uint64_t ctx[] = {1, 2, 3, 2, 1, 3, 1, 2, 2, 3, 1, 3, 2, 3, 2, 1, 3, 1, 1, 3};
  misses = 0;
  expect("kn_pager_init learned", kn_pager_init(&pager, KN_PAGING_LEARNED, K, 1, work, bytes),
         KN_OK);
  for (unsigned i = 0; i < LEN; ++i) {
    expect("kn_pager_access_ctx", kn_pager_access_ctx(&pager, pages[i], ctx[i], &acc), KN_OK);
    misses += acc.hit ? 0u : 1u;
  }
  expect("kn_paging_simulate_ctx",
         kn_paging_simulate_ctx(KN_PAGING_LEARNED, K, 1, pages, NULL, ctx, LEN, &faults, work,
                                bytes),
         KN_OK);
  printf("pager learned faults with contexts: %u (simulated %u)\n", misses, (unsigned)faults);
  expect("kn_paging_simulate_ctx NULL ctx",
         kn_paging_simulate_ctx(KN_PAGING_LEARNED, K, 1, pages, NULL, NULL, LEN, &faults, work,
                                bytes),
         KN_ERR_NULL);
}
#endif

#if KN_DEMO_CG
static void demo_cg(void) {
  /* 1D Poisson: tridiagonal (-1, 2, -1), n = 16, b = 1, each preconditioner (f64). */
  enum { N = 16 };
  size_t indptr[N + 1];
  uint32_t indices[3 * N];
  double values[3 * N], b[N], x[N];
  size_t nnz = 0;
  for (unsigned i = 0; i < N; ++i) {
    indptr[i] = nnz;
    if (i > 0) indices[nnz] = i - 1, values[nnz++] = -1.0;
    indices[nnz] = i, values[nnz++] = 2.0;
    if (i + 1 < N) indices[nnz] = i + 1, values[nnz++] = -1.0;
    b[i] = 1.0;
  }
  indptr[N] = nnz;
  size_t bytes = 0;
  if (!fits("cg work", kn_cg_work_bytes(N, &bytes), &bytes)) return;
  const int32_t pre[3] = {KN_PRECOND_NONE, KN_PRECOND_JACOBI, KN_PRECOND_SSOR};
  printf("cg iterations (none jacobi ssor):");
  for (unsigned k = 0; k < 3; ++k) {
    kn_cg_opts opts = kn_cg_opts_default();
    opts.tol = 1e-10;
    opts.max_iter = 100;
    opts.precond = pre[k];
    opts.omega = 1.5;
    kn_report rep;
    for (unsigned i = 0; i < N; ++i) x[i] = 0.0;
    expect("kn_cg_csr_f64",
           kn_cg_csr_f64(N, indptr, indices, values, b, x, &opts, work, bytes, &rep), KN_OK);
    printf(" %u", (unsigned)rep.iterations);
  }
  printf("\n");
  print_doubles("cg x", x, 4);
}
#endif

int kn_demo_run(void) {
  demo_library();
#if KN_DEMO_SINKHORN
  demo_sinkhorn();
#endif
#if KN_DEMO_SNS
  demo_sns();
#endif
#if KN_DEMO_H2O
  demo_h2o();
#endif
#if KN_DEMO_LINATTN
  demo_linattn();
#endif
#if KN_DEMO_SOR
  demo_sor();
#endif
#if KN_DEMO_PAGING
  demo_paging();
#endif
#if KN_DEMO_CG
  demo_cg();
#endif
  printf("demo: %d failures\n", failures);
  return failures == 0 ? 0 : 1;
}
