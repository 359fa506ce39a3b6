/* H2O attention through the C ABI: prefill with a full budget equals naive causal
 * attention, prefill equals decode steps (outputs, kept set, scores), bad input and a
 * corrupted cache struct give their codes with nothing written.
 * Built with -Wall -Wextra -Werror -pedantic -fsanitize=address,undefined. */
#include "kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum { NH = 4, NKV = 2, SEQ = 40, D = 8 };

static float q[NH * SEQ * D], k[NKV * SEQ * D], v[NKV * SEQ * D];

static void fill(float *x, size_t n, unsigned seed) {
  unsigned s = seed;
  for (size_t i = 0; i < n; ++i) {
    s = s * 1103515245u + 12345u;
    x[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
}

/* Options from the defaults, so that fields added later keep their defaults. */
static kn_h2o_opts h2o_opts(size_t sink, size_t heavy, size_t recent) {
  kn_h2o_opts o = kn_h2o_opts_default();
  o.sink = sink;
  o.heavy = heavy;
  o.recent = recent;
  o.scale = 0.0f;
  return o;
}

/* Plain causal softmax attention in double. */
static void naive(double *out) {
  const size_t group = NH / NKV;
  const double scale = 1.0 / sqrt((double)D);
  for (size_t h = 0; h < NH; ++h) {
    const size_t g = h / group;
    for (size_t t = 0; t < SEQ; ++t) {
      double logit[SEQ], m = -INFINITY, total = 0.0;
      for (size_t j = 0; j <= t; ++j) {
        double s = 0.0;
        for (size_t i = 0; i < D; ++i) s += (double)q[(h * SEQ + t) * D + i] * k[(g * SEQ + j) * D + i];
        logit[j] = scale * s;
        if (logit[j] > m) m = logit[j];
      }
      for (size_t j = 0; j <= t; ++j) total += exp(logit[j] - m);
      for (size_t i = 0; i < D; ++i) {
        double o = 0.0;
        for (size_t j = 0; j <= t; ++j) o += exp(logit[j] - m) / total * v[(g * SEQ + j) * D + i];
        out[(h * SEQ + t) * D + i] = o;
      }
    }
  }
}

static void *work_for_prefill(size_t *bytes) {
  CHECK(kn_h2o_prefill_work_bytes(NH, NKV, SEQ, D, bytes) == KN_OK);
  return malloc(*bytes);
}

static void test_full_budget(void) {
  static float out[NH * SEQ * D];
  static double want[NH * SEQ * D];
  size_t bytes = 0;
  void *work = work_for_prefill(&bytes);
  kn_h2o_opts opts = h2o_opts(2, SEQ, 4);
  uint8_t keep[NKV * SEQ];
  CHECK(kn_h2o_prefill_f32(NH, NKV, SEQ, D, q, k, v, &opts, out, NULL, keep, work, bytes) == KN_OK);
  naive(want);
  double err = 0.0;
  for (size_t i = 0; i < NH * SEQ * D; ++i) err = fmax(err, fabs(out[i] - want[i]));
  printf("  full budget vs naive causal attention: max error %.2e\n", err);
  CHECK(err < 1e-5);
  for (size_t i = 0; i < NKV * SEQ; ++i) CHECK(keep[i] == 1);
  free(work);
}

static void test_prefill_equals_decode(void) {
  static float out[NH * SEQ * D];
  float scores[NKV * SEQ];
  uint8_t keep[NKV * SEQ];
  size_t bytes = 0;
  void *work = work_for_prefill(&bytes);
  kn_h2o_opts opts = h2o_opts(1, 3, 4);
  const size_t budget = 8;
  CHECK(kn_h2o_prefill_f32(NH, NKV, SEQ, D, q, k, v, &opts, out, scores, keep, work, bytes) == KN_OK);
  free(work);

  float ck[NKV * 8 * D], cv[NKV * 8 * D], cs[NKV * 8];
  uint64_t cp[NKV * 8];
  kn_h2o_cache c;
  CHECK(kn_h2o_cache_init(&c, NKV, D, 1, 3, 4, ck, cv, cs, cp) == KN_OK);
  CHECK(c.len == 0 && c.next_pos == 0 && c.k == ck);
  CHECK(kn_h2o_decode_work_bytes(&c, NH, &bytes) == KN_OK);
  work = malloc(bytes);
  int same = 1;
  for (size_t t = 0; t < SEQ; ++t) {
    float qs[NH * D], ks[NKV * D], vs[NKV * D], o[NH * D];
    for (size_t h = 0; h < NH; ++h) memcpy(qs + h * D, q + (h * SEQ + t) * D, sizeof(float) * D);
    for (size_t g = 0; g < NKV; ++g) {
      memcpy(ks + g * D, k + (g * SEQ + t) * D, sizeof(float) * D);
      memcpy(vs + g * D, v + (g * SEQ + t) * D, sizeof(float) * D);
    }
    CHECK(kn_h2o_decode_f32(&c, NH, qs, ks, vs, 0.0f, o, work, bytes) == KN_OK);
    CHECK(c.len <= budget);
    for (size_t h = 0; h < NH; ++h)
      same &= memcmp(o + h * D, out + (h * SEQ + t) * D, sizeof(float) * D) == 0;
  }
  CHECK(same);
  CHECK(c.next_pos == SEQ && c.len == budget);
  size_t kept = 0;
  for (size_t g = 0; g < NKV; ++g)
    for (size_t s = 0; s < budget; ++s) {
      uint64_t p = cp[g * budget + s];
      CHECK(keep[g * SEQ + p] == 1);
      CHECK(memcmp(&cs[g * budget + s], &scores[g * SEQ + p], sizeof(float)) == 0);
    }
  for (size_t i = 0; i < NKV * SEQ; ++i) kept += keep[i];
  CHECK(kept == NKV * budget);
  /* sink 0 and the recent window are kept */
  for (size_t g = 0; g < NKV; ++g) {
    CHECK(keep[g * SEQ] == 1);
    for (size_t t = SEQ - 4; t < SEQ; ++t) CHECK(keep[g * SEQ + t] == 1);
  }
  printf("  prefill equals %d decode steps bit for bit\n", SEQ);

  /* A corrupted struct is refused with nothing written. */
  float qs[NH * D], ks[NKV * D], o[NH * D];
  memset(qs, 0, sizeof qs);
  memset(ks, 0, sizeof ks);
  for (size_t i = 0; i < NH * D; ++i) o[i] = -7.0f;
  kn_h2o_cache bad = c;
  bad.len = budget + 1;
  CHECK(kn_h2o_decode_f32(&bad, NH, qs, ks, ks, 0.0f, o, work, bytes) == KN_ERR_ARGUMENT);
  bad = c;
  bad.next_pos = 3; /* positions from the future */
  CHECK(kn_h2o_decode_f32(&bad, NH, qs, ks, ks, 0.0f, o, work, bytes) == KN_ERR_ARGUMENT);
  bad = c;
  bad.score = NULL;
  CHECK(kn_h2o_decode_f32(&bad, NH, qs, ks, ks, 0.0f, o, work, bytes) == KN_ERR_NULL);
  bad = c;
  bad.k = (float *)((char *)ck + 1);
  CHECK(kn_h2o_decode_f32(&bad, NH, qs, ks, ks, 0.0f, o, work, bytes) == KN_ERR_ARGUMENT);
  bad = c;
  bad.v = ck; /* overlaps k */
  CHECK(kn_h2o_decode_f32(&bad, NH, qs, ks, ks, 0.0f, o, work, bytes) == KN_ERR_ARGUMENT);
  bad = c;
  bad.heavy = 0;
  bad.recent = 0;
  CHECK(kn_h2o_decode_f32(&bad, NH, qs, ks, ks, 0.0f, o, work, bytes) == KN_ERR_ARGUMENT);
  bad = c;
  bad.d = 0;
  CHECK(kn_h2o_decode_f32(&bad, NH, qs, ks, ks, 0.0f, o, work, bytes) == KN_ERR_DIMENSION);
  CHECK(kn_h2o_decode_f32(&c, 3, qs, ks, ks, 0.0f, o, work, bytes) == KN_ERR_DIMENSION);
  qs[1] = NAN;
  CHECK(kn_h2o_decode_f32(&c, NH, qs, ks, ks, 0.0f, o, work, bytes) == KN_ERR_NON_FINITE);
  qs[1] = 0.0f;
  CHECK(kn_h2o_decode_f32(&c, NH, qs, ks, ks, 0.0f, o, work, bytes - 1) == KN_ERR_WORKSPACE);
  CHECK(kn_h2o_decode_f32(NULL, NH, qs, ks, ks, 0.0f, o, work, bytes) == KN_ERR_NULL);
  for (size_t i = 0; i < NH * D; ++i) CHECK(o[i] == -7.0f);
  CHECK(c.next_pos == SEQ && c.len == budget);
  free(work);
}

static void test_bad_prefill(void) {
  static float out[NH * SEQ * D];
  float scores[NKV * SEQ];
  size_t bytes = 0;
  void *work = work_for_prefill(&bytes);
  for (size_t i = 0; i < NH * SEQ * D; ++i) out[i] = -5.0f;
  for (size_t i = 0; i < NKV * SEQ; ++i) scores[i] = -6.0f;
  kn_h2o_opts opts = h2o_opts(1, 3, 4);
  kn_h2o_opts zero = h2o_opts(0, 0, 0);
  /* n_heads not a multiple of n_kv_heads, d = 0, budget 0, NaN in q/k/v */
  CHECK(kn_h2o_prefill_f32(3, NKV, SEQ, D, q, k, v, &opts, out, scores, NULL, work, bytes) ==
        KN_ERR_DIMENSION);
  CHECK(kn_h2o_prefill_f32(NH, NKV, SEQ, 0, q, k, v, &opts, out, scores, NULL, work, bytes) ==
        KN_ERR_DIMENSION);
  CHECK(kn_h2o_prefill_f32(NH, NKV, SEQ, D, q, k, v, &zero, out, scores, NULL, work, bytes) ==
        KN_ERR_ARGUMENT);
  float *inputs[3] = {q, k, v};
  for (int which = 0; which < 3; ++which) {
    float keep_value = inputs[which][5];
    inputs[which][5] = NAN;
    CHECK(kn_h2o_prefill_f32(NH, NKV, SEQ, D, q, k, v, &opts, out, scores, NULL, work, bytes) ==
          KN_ERR_NON_FINITE);
    inputs[which][5] = keep_value;
  }
  CHECK(kn_h2o_prefill_f32(NH, NKV, SEQ, D, NULL, k, v, &opts, out, scores, NULL, work, bytes) ==
        KN_ERR_NULL);
  CHECK(kn_h2o_prefill_f32(NH, NKV, SEQ, D, q, k, v, &opts, out, scores, NULL, work, bytes - 1) ==
        KN_ERR_WORKSPACE);
  CHECK(kn_h2o_prefill_f32(NH, NKV, SEQ, D, q, k, v, &opts, (float *)q, scores, NULL, work,
                           bytes) == KN_ERR_ARGUMENT); /* out overlaps q */
  CHECK(kn_h2o_prefill_work_bytes(NH, 3, SEQ, D, &bytes) == KN_ERR_DIMENSION);
  for (size_t i = 0; i < NH * SEQ * D; ++i) CHECK(out[i] == -5.0f);
  for (size_t i = 0; i < NKV * SEQ; ++i) CHECK(scores[i] == -6.0f);
  free(work);
  kn_h2o_cache c;
  float buf[16];
  uint64_t pos[2];
  memset(&c, 0xab, sizeof c);
  kn_h2o_cache before = c;
  CHECK(kn_h2o_cache_init(&c, 1, 4, 0, 0, 0, buf, buf + 8, buf, pos) == KN_ERR_ARGUMENT);
  CHECK(kn_h2o_cache_init(&c, 1, 4, 0, 1, 1, buf, buf + 8, buf, pos) == KN_ERR_ARGUMENT);
  CHECK(kn_h2o_cache_init(&c, 0, 4, 0, 1, 1, buf, buf + 8, buf, pos) == KN_ERR_DIMENSION);
  CHECK(memcmp(&c, &before, sizeof c) == 0);
}

int main(void) {
  fill(q, NH * SEQ * D, 1);
  fill(k, NKV * SEQ * D, 2);
  fill(v, NKV * SEQ * D, 3);
  test_full_budget();
  test_prefill_equals_decode();
  test_bad_prefill();
  printf("C test h2o: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
