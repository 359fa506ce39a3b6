/* Linear attention through the C ABI: the chunked forward against a plain recurrence,
 * a sequence split in three parts finished from the LASP-2 prefix, the gated forward
 * with gates ln(decay) against the same recurrence, a packed varlen batch against
 * separate calls, and every class of bad input (status code, outputs untouched).
 * Built with -Wall -Wextra -Werror -fsanitize=address,undefined against libkernels.a. */
#include "kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum { H = 2, N = 37, DK = 5, DV = 3 };

static float q[H * N * DK], k[H * N * DK], v[H * N * DV];
static const float decay[H] = {0.9f, 1.0f};

static unsigned long long rng = 12345;
static float uniform(void) {
  rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* o_t = scale q_t S_t with S_t = g S_{t-1} + k_t^T v_t, in double. */
static void reference(double *out, double *state) {
  const double scale = 1.0 / sqrt((double)DK);
  memset(state, 0, sizeof(double) * H * DK * DV);
  for (int h = 0; h < H; ++h) {
    double *s = state + h * DK * DV;
    for (int t = 0; t < N; ++t) {
      const float *qt = q + (h * N + t) * DK, *kt = k + (h * N + t) * DK;
      const float *vt = v + (h * N + t) * DV;
      for (int a = 0; a < DK; ++a)
        for (int b = 0; b < DV; ++b) s[a * DV + b] = decay[h] * s[a * DV + b] + kt[a] * vt[b];
      for (int b = 0; b < DV; ++b) {
        double acc = 0;
        for (int a = 0; a < DK; ++a) acc += qt[a] * s[a * DV + b];
        out[(h * N + t) * DV + b] = scale * acc;
      }
    }
  }
}

static double max_err(const float *got, const double *want, size_t n) {
  double e = 0;
  for (size_t i = 0; i < n; ++i) {
    double d = fabs((double)got[i] - want[i]);
    if (d > e) e = d;
  }
  return e;
}

static void *workspace(size_t chunk, size_t *bytes) {
  CHECK(kn_linattn_work_bytes(H, N, DK, DV, chunk, bytes) == KN_OK);
  return malloc(*bytes + 1);
}

static void test_forward(void) {
  static double want[H * N * DV], want_state[H * DK * DV];
  static float out[H * N * DV], state[H * DK * DV];
  reference(want, want_state);
  const size_t chunks[] = {0, 1, 4, 16, 100};
  for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; ++c) {
    size_t bytes = 0;
    unsigned char *work = workspace(chunks[c], &bytes);
    /* Any alignment of the workspace is accepted. */
    CHECK(kn_linattn_forward_f32(H, N, DK, DV, q, k, v, decay, 0.0f, NULL, out, state,
                                 chunks[c], work + 1, bytes) == KN_OK);
    CHECK(max_err(out, want, H * N * DV) < 1e-5);
    CHECK(max_err(state, want_state, H * DK * DV) < 1e-5);
    free(work);
  }
  /* A workspace for more threads than heads: the chunks of each head run at once
     (where the build has threads), with the same bits as on the minimum one. */
  static float out_min[H * N * DV], state_min[H * DK * DV];
  size_t min_bytes = 0, bytes = 0;
  unsigned char *min_work = workspace(4, &min_bytes);
  CHECK(kn_linattn_forward_f32(H, N, DK, DV, q, k, v, decay, 0.0f, NULL, out_min,
                               state_min, 4, min_work, min_bytes) == KN_OK);
  CHECK(kn_linattn_threads_work_bytes(H, N, DK, DV, 4, 4 * H, &bytes) == KN_OK);
  CHECK(bytes > 4 * H * min_bytes);
  unsigned char *work = malloc(bytes);
  size_t threads_before = kn_num_threads();
  int had_threads = kn_set_num_threads(4 * H) == KN_OK;
  CHECK(kn_linattn_forward_f32(H, N, DK, DV, q, k, v, decay, 0.0f, NULL, out, state, 4,
                               work, bytes) == KN_OK);
  CHECK(memcmp(out, out_min, sizeof out) == 0);
  CHECK(memcmp(state, state_min, sizeof state) == 0);
  if (had_threads) CHECK(kn_set_num_threads(threads_before) == KN_OK);
  CHECK(kn_linattn_threads_work_bytes(H, N, DK, DV, 4, 0, NULL) == KN_ERR_NULL);
  CHECK(kn_linattn_threads_work_bytes(H, (size_t)-1, (size_t)-1, DV, 4, 2, &bytes) ==
        KN_ERR_DIMENSION);
  free(work);
  free(min_work);
}

/* Splits the sequence into parts of 10, 20 and 7 tokens: chunk states, scan, finish. */
static void test_split(void) {
  static double want[H * N * DV], want_state[H * DK * DV];
  reference(want, want_state);
  const size_t lens[3] = {10, 20, 7};
  static float states[3 * H * DK * DV], prefix[3 * H * DK * DV];
  static float pk[H * N * DK], pv[H * N * DV], pq[H * N * DK], out[H * N * DV];
  static float final_state[H * DK * DV];
  size_t t0 = 0;
  for (int c = 0; c < 3; ++c) {
    for (int h = 0; h < H; ++h) {
      memcpy(pk + h * lens[c] * DK, k + (h * N + t0) * DK, sizeof(float) * lens[c] * DK);
      memcpy(pv + h * lens[c] * DV, v + (h * N + t0) * DV, sizeof(float) * lens[c] * DV);
    }
    CHECK(kn_linattn_chunk_state_f32(H, lens[c], DK, DV, pk, pv, decay,
                                     states + c * H * DK * DV) == KN_OK);
    t0 += lens[c];
  }
  CHECK(kn_linattn_state_scan_f32(3, H, DK, DV, lens, decay, states, prefix) == KN_OK);
  t0 = 0;
  double err = 0;
  for (int c = 0; c < 3; ++c) {
    for (int h = 0; h < H; ++h) {
      memcpy(pq + h * lens[c] * DK, q + (h * N + t0) * DK, sizeof(float) * lens[c] * DK);
      memcpy(pk + h * lens[c] * DK, k + (h * N + t0) * DK, sizeof(float) * lens[c] * DK);
      memcpy(pv + h * lens[c] * DV, v + (h * N + t0) * DV, sizeof(float) * lens[c] * DV);
    }
    size_t bytes = 0;
    void *work = NULL;
    CHECK(kn_linattn_work_bytes(H, lens[c], DK, DV, 8, &bytes) == KN_OK);
    work = malloc(bytes);
    CHECK(kn_linattn_forward_f32(H, lens[c], DK, DV, pq, pk, pv, decay, 0.0f,
                                 prefix + c * H * DK * DV, out, final_state, 8, work,
                                 bytes) == KN_OK);
    free(work);
    for (int h = 0; h < H; ++h)
      for (size_t i = 0; i < lens[c] * DV; ++i) {
        double d = fabs((double)out[h * lens[c] * DV + i] - want[(h * N + t0) * DV + i]);
        if (d > err) err = d;
      }
    t0 += lens[c];
  }
  CHECK(err < 1e-5);
  CHECK(max_err(final_state, want_state, H * DK * DV) < 1e-5);
}

/* Gates ln(decay) per token give the constant decay's recurrence; the gated varlen
 * call on sequences of 10, 0 and 27 tokens equals separate gated calls bit for bit. */
static void test_gated_and_varlen(void) {
  static double want[H * N * DV], want_state[H * DK * DV];
  static float g[H * N], out[H * N * DV], state[H * DK * DV];
  static float packed[H * N * DV], states[3 * H * DK * DV];
  reference(want, want_state);
  for (int h = 0; h < H; ++h)
    for (int t = 0; t < N; ++t) g[h * N + t] = logf(decay[h]);
  size_t bytes = 0;
  CHECK(kn_linattn_gated_work_bytes(H, N, DK, DV, 8, &bytes) == KN_OK);
  unsigned char *work = malloc(bytes);
  CHECK(kn_linattn_gated_forward_f32(H, N, DK, DV, q, k, v, g, 0.0f, NULL, out, state, 8, work,
                                     bytes) == KN_OK);
  CHECK(max_err(out, want, H * N * DV) < 1e-5);
  CHECK(max_err(state, want_state, H * DK * DV) < 1e-5);

  const size_t cu[4] = {0, 10, 10, N};
  CHECK(kn_linattn_gated_forward_varlen_f32(3, cu, H, N, DK, DV, q, k, v, g, 0.0f, NULL, packed,
                                            states, 8, work, bytes) == KN_OK);
  /* The third sequence alone: tokens 10..N of each head, gathered. */
  enum { L = N - 10 };
  static float sq[H * L * DK], sk[H * L * DK], sv[H * L * DV], sg[H * L], so[H * L * DV],
      ss[H * DK * DV];
  for (int h = 0; h < H; ++h) {
    memcpy(sq + h * L * DK, q + (h * N + 10) * DK, sizeof(float) * L * DK);
    memcpy(sk + h * L * DK, k + (h * N + 10) * DK, sizeof(float) * L * DK);
    memcpy(sv + h * L * DV, v + (h * N + 10) * DV, sizeof(float) * L * DV);
    memcpy(sg + h * L, g + h * N + 10, sizeof(float) * L);
  }
  CHECK(kn_linattn_gated_forward_f32(H, L, DK, DV, sq, sk, sv, sg, 0.0f, NULL, so, ss, 8, work,
                                     bytes) == KN_OK);
  for (int h = 0; h < H; ++h)
    CHECK(memcmp(packed + (h * N + 10) * DV, so + h * L * DV, sizeof(float) * L * DV) == 0);
  CHECK(memcmp(states + 2 * H * DK * DV, ss, sizeof ss) == 0);
  /* The empty second sequence ends in its initial state: zero. */
  for (size_t i = 0; i < H * DK * DV; ++i) CHECK(states[H * DK * DV + i] == 0.0f);

  /* Bad gates and offsets: statuses, nothing written. */
  for (size_t i = 0; i < H * N * DV; ++i) out[i] = 7.0f;
  g[5] = 0.5f;
  CHECK(kn_linattn_gated_forward_f32(H, N, DK, DV, q, k, v, g, 0.0f, NULL, out, NULL, 8, work,
                                     bytes) == KN_ERR_ARGUMENT);
  g[5] = NAN;
  CHECK(kn_linattn_gated_forward_f32(H, N, DK, DV, q, k, v, g, 0.0f, NULL, out, NULL, 8, work,
                                     bytes) == KN_ERR_NON_FINITE);
  g[5] = -0.5f;
  CHECK(kn_linattn_gated_forward_f32(H, N, DK, DV, q, k, v, NULL, 0.0f, NULL, out, NULL, 8, work,
                                     bytes) == KN_ERR_NULL);
  const size_t bad_cu[3][3] = {{1, 10, N}, {0, 20, 10}, {0, 10, N + 1}};
  for (int c = 0; c < 3; ++c)
    CHECK(kn_linattn_forward_varlen_f32(2, bad_cu[c], H, N, DK, DV, q, k, v, decay, 0.0f, NULL,
                                        out, NULL, 8, work, bytes) == KN_ERR_ARGUMENT);
  for (size_t i = 0; i < H * N * DV; ++i) CHECK(out[i] == 7.0f);
  free(work);
}

static int untouched(const float *x, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (x[i] != 7.0f) return 0;
  return 1;
}

static void test_bad_input(void) {
  static float out[H * N * DV], state[H * DK * DV], prefix[2 * H * DK * DV];
  static float states[2 * H * DK * DV], bad_q[H * N * DK];
  size_t bytes = 0;
  unsigned char *work = workspace(8, &bytes);
  const float bad_decay[][H] = {{0.0f, 1.0f}, {-0.5f, 1.0f}, {1.5f, 1.0f}, {NAN, 1.0f}};
  const kn_status bad_decay_status[] = {KN_ERR_ARGUMENT, KN_ERR_ARGUMENT, KN_ERR_ARGUMENT,
                                        KN_ERR_NON_FINITE};
  for (size_t i = 0; i < H * N * DV; ++i) out[i] = 7.0f;
  for (size_t i = 0; i < H * DK * DV; ++i) state[i] = 7.0f;
  for (int d = 0; d < 4; ++d) {
    CHECK(kn_linattn_forward_f32(H, N, DK, DV, q, k, v, bad_decay[d], 0.0f, NULL, out, state,
                                 8, work, bytes) == bad_decay_status[d]);
    CHECK(kn_linattn_chunk_state_f32(H, N, DK, DV, k, v, bad_decay[d], state) ==
          bad_decay_status[d]);
  }
  CHECK(kn_linattn_forward_f32(0, N, DK, DV, q, k, v, decay, 0.0f, NULL, out, state, 8, work,
                               bytes) == KN_ERR_DIMENSION);
  CHECK(kn_linattn_forward_f32(H, N, 0, DV, q, k, v, decay, 0.0f, NULL, out, state, 8, work,
                               bytes) == KN_ERR_DIMENSION);
  CHECK(kn_linattn_forward_f32(H, N, DK, DV, NULL, k, v, decay, 0.0f, NULL, out, state, 8, work,
                               bytes) == KN_ERR_NULL);
  CHECK(kn_linattn_forward_f32(H, N, DK, DV, q, k, v, decay, 0.0f, NULL, out, state, 8, work,
                               bytes - 1) == KN_ERR_WORKSPACE);
  CHECK(kn_linattn_forward_f32(H, N, DK, DV, q, k, v, decay, NAN, NULL, out, state, 8, work,
                               bytes) == KN_ERR_NON_FINITE);
  memcpy(bad_q, q, sizeof q);
  bad_q[17] = INFINITY;
  CHECK(kn_linattn_forward_f32(H, N, DK, DV, bad_q, k, v, decay, 0.0f, NULL, out, state, 8,
                               work, bytes) == KN_ERR_NON_FINITE);
  /* The output overlapping an input. */
  CHECK(kn_linattn_forward_f32(H, N, DK, DV, q, k, out, decay, 0.0f, NULL, out, state, 8, work,
                               bytes) == KN_ERR_ARGUMENT);
  /* A misaligned array. */
  CHECK(kn_linattn_forward_f32(H, N, DK, DV, (const float *)((const char *)q + 1), k, v, decay,
                               0.0f, NULL, out, state, 8, work, bytes) == KN_ERR_ARGUMENT);
  CHECK(kn_linattn_chunk_state_f32(H, 0, DK, DV, k, v, decay, state) == KN_ERR_DIMENSION);
  CHECK(kn_linattn_chunk_state_f32(H, N, DK, DV, k, v, decay, NULL) == KN_ERR_NULL);
  CHECK(untouched(out, H * N * DV));
  CHECK(untouched(state, H * DK * DV));

  for (size_t i = 0; i < 2 * H * DK * DV; ++i) {
    prefix[i] = 7.0f;
    states[i] = 0.25f;
  }
  const size_t zero_len[2] = {4, 0}, overflow[2] = {(size_t)-1, 2}, ok_lens[2] = {4, 5};
  CHECK(kn_linattn_state_scan_f32(2, H, DK, DV, zero_len, decay, states, prefix) ==
        KN_ERR_DIMENSION);
  CHECK(kn_linattn_state_scan_f32(2, H, DK, DV, overflow, decay, states, prefix) ==
        KN_ERR_DIMENSION);
  CHECK(kn_linattn_state_scan_f32(0, H, DK, DV, ok_lens, decay, states, prefix) ==
        KN_ERR_DIMENSION);
  CHECK(kn_linattn_state_scan_f32(2, H, DK, DV, ok_lens, bad_decay[2], states, prefix) ==
        KN_ERR_ARGUMENT);
  CHECK(kn_linattn_state_scan_f32(2, H, DK, DV, NULL, decay, states, prefix) == KN_ERR_NULL);
  CHECK(kn_linattn_state_scan_f32(2, H, DK, DV, ok_lens, decay, states, states) ==
        KN_ERR_ARGUMENT);
  CHECK(untouched(prefix, 2 * H * DK * DV));
  CHECK(kn_linattn_work_bytes(H, N, DK, DV, 8, NULL) == KN_ERR_NULL);
  CHECK(kn_linattn_work_bytes(H, (size_t)-1, (size_t)-1, DV, 8, &bytes) == KN_ERR_DIMENSION);
  free(work);
}

int main(void) {
  for (size_t i = 0; i < H * N * DK; ++i) q[i] = uniform(), k[i] = uniform();
  for (size_t i = 0; i < H * N * DV; ++i) v[i] = uniform();
  test_forward();
  test_split();
  test_gated_and_varlen();
  test_bad_input();
  printf("test_linattn: %d checks, %d failures\n", checks, failures);
  return failures != 0;
}
