/* H2O attention through the C ABI: prefill with a full budget equals naive causal
 * attention, prefill agrees with decode steps (outputs and scores to rounding, the
 * same kept set: this data has no near tie between scores), bad input and a
 * corrupted cache struct give their codes with nothing written; the bf16 and f16
 * kernels equal the f32 ones on the upcast data, rounded, and refuse NaN bit patterns.
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
  /* Prefill computes blocks of rows by matrix products, decode one row by dot
   * products: the same rule, summed in another order. */
  double err = 0.0;
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
      for (size_t i = 0; i < D; ++i) err = fmax(err, fabs(o[h * D + i] - out[(h * SEQ + t) * D + i]));
  }
  CHECK(err < 1e-5);
  CHECK(c.next_pos == SEQ && c.len == budget);
  size_t kept = 0;
  for (size_t g = 0; g < NKV; ++g)
    for (size_t s = 0; s < budget; ++s) {
      uint64_t p = cp[g * budget + s];
      CHECK(keep[g * SEQ + p] == 1);
      CHECK(fabs(cs[g * budget + s] - scores[g * SEQ + p]) <= 1e-5 * (1.0 + scores[g * SEQ + p]));
    }
  for (size_t i = 0; i < NKV * SEQ; ++i) kept += keep[i];
  CHECK(kept == NKV * budget);
  /* sink 0 and the recent window are kept */
  for (size_t g = 0; g < NKV; ++g) {
    CHECK(keep[g * SEQ] == 1);
    for (size_t t = SEQ - 4; t < SEQ; ++t) CHECK(keep[g * SEQ + t] == 1);
  }
  printf("  prefill agrees with %d decode steps: same kept set, max output difference %.1e\n", SEQ,
         err);

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

/* bf16 <-> float: a bf16 is the upper half of a float; rounding to nearest even. */
static float bf16_to_float(kn_bf16 h) {
  uint32_t u = (uint32_t)h << 16;
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

static kn_bf16 float_to_bf16(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (kn_bf16)(u >> 16);
}

/* The half kernels: bf16 prefill (evicting) is the f32 prefill on the upcast inputs,
 * rounded to nearest even; bf16 decode steps give prefill's outputs; f16 prefill of
 * exact f16 values (multiples of 1/64 below 2) agrees with f32 to the f16 rounding; a
 * NaN bit pattern is KN_ERR_NON_FINITE with nothing written. */
static void test_half(void) {
  enum { NQ = NH * SEQ * D, NK = NKV * SEQ * D };
  static kn_bf16 qb[NQ], kb[NK], vb[NK], ob[NQ];
  static float qu[NQ], ku[NK], vu[NK], of[NQ];
  for (size_t i = 0; i < NQ; ++i) qu[i] = bf16_to_float(qb[i] = float_to_bf16(q[i]));
  for (size_t i = 0; i < NK; ++i) ku[i] = bf16_to_float(kb[i] = float_to_bf16(k[i]));
  for (size_t i = 0; i < NK; ++i) vu[i] = bf16_to_float(vb[i] = float_to_bf16(v[i]));
  kn_h2o_opts opts = h2o_opts(1, 3, 4);
  float sf[NKV * SEQ], sb[NKV * SEQ];
  size_t bytes = 0, half_bytes = 0;
  void *work = work_for_prefill(&bytes);
  CHECK(kn_h2o_prefill_f32(NH, NKV, SEQ, D, qu, ku, vu, &opts, of, sf, NULL, work, bytes) == KN_OK);
  free(work);
  CHECK(kn_h2o_prefill_bf16_work_bytes(NH, NKV, SEQ, D, &half_bytes) == KN_OK);
  work = malloc(half_bytes);
  CHECK(kn_h2o_prefill_bf16(NH, NKV, SEQ, D, qb, kb, vb, &opts, ob, sb, NULL, work, half_bytes) ==
        KN_OK);
  size_t exact = 0;
  for (size_t i = 0; i < NQ; ++i) {
    float got = bf16_to_float(ob[i]);
    CHECK(fabsf(got - of[i]) <= 0x1p-8f * fabsf(of[i]) + 1e-6f);
    exact += ob[i] == float_to_bf16(of[i]);
  }
  for (size_t i = 0; i < NKV * SEQ; ++i) CHECK(fabsf(sb[i] - sf[i]) <= 1e-5f * (1.0f + fabsf(sf[i])));
  printf("  bf16 prefill: %zu of %d outputs the f32 output rounded exactly\n", exact, (int)NQ);

  /* A NaN bit pattern in k: refused, nothing written. */
  for (size_t i = 0; i < NQ; ++i) ob[i] = 0x1234;
  kn_bf16 saved = kb[7];
  kb[7] = 0x7fc0;
  CHECK(kn_h2o_prefill_bf16(NH, NKV, SEQ, D, qb, kb, vb, &opts, ob, sb, NULL, work, half_bytes) ==
        KN_ERR_NON_FINITE);
  kb[7] = saved;
  for (size_t i = 0; i < NQ; ++i) CHECK(ob[i] == 0x1234);
  CHECK(kn_h2o_prefill_bf16(NH, NKV, SEQ, D, qb, kb, vb, &opts, ob, sb, NULL, work, half_bytes) ==
        KN_OK);
  free(work);

  /* Decode steps on a bf16 cache give prefill's outputs, to one bf16 rounding step
   * (the f32 results differ by rounding, which can cross a bf16 rounding boundary). */
  kn_bf16 ck[NKV * 8 * D], cv[NKV * 8 * D];
  float cs[NKV * 8];
  uint64_t cp[NKV * 8];
  kn_h2o_cache_bf16 c;
  CHECK(kn_h2o_cache_init_bf16(&c, NKV, D, 1, 3, 4, ck, cv, cs, cp) == KN_OK);
  CHECK(kn_h2o_decode_bf16_work_bytes(&c, NH, &bytes) == KN_OK);
  work = malloc(bytes);
  int same = 1;
  for (size_t t = 0; t < SEQ; ++t) {
    kn_bf16 qs[NH * D], ks[NKV * D], vs[NKV * D], o[NH * D];
    for (size_t h = 0; h < NH; ++h) memcpy(qs + h * D, qb + (h * SEQ + t) * D, sizeof(kn_bf16) * D);
    for (size_t g = 0; g < NKV; ++g) {
      memcpy(ks + g * D, kb + (g * SEQ + t) * D, sizeof(kn_bf16) * D);
      memcpy(vs + g * D, vb + (g * SEQ + t) * D, sizeof(kn_bf16) * D);
    }
    CHECK(kn_h2o_decode_bf16(&c, NH, qs, ks, vs, 0.0f, o, work, bytes) == KN_OK);
    for (size_t h = 0; h < NH; ++h)
      for (size_t i = 0; i < D; ++i) {
        float a = bf16_to_float(o[h * D + i]), b = bf16_to_float(ob[(h * SEQ + t) * D + i]);
        same &= fabsf(a - b) <= fabsf(b) / 128.0f;
      }
    if (t == SEQ - 1) {
      /* An infinity in v_new: refused, the cache and out untouched. */
      kn_h2o_cache_bf16 before = c;
      float cs_before[NKV * 8];
      memcpy(cs_before, cs, sizeof cs);
      vs[3] = 0x7f80;
      for (size_t i = 0; i < NH * D; ++i) o[i] = 0x1234;
      CHECK(kn_h2o_decode_bf16(&c, NH, qs, ks, vs, 0.0f, o, work, bytes) == KN_ERR_NON_FINITE);
      CHECK(memcmp(&c, &before, sizeof c) == 0 && memcmp(cs, cs_before, sizeof cs) == 0);
      for (size_t i = 0; i < NH * D; ++i) CHECK(o[i] == 0x1234);
    }
  }
  CHECK(same);
  CHECK(c.next_pos == SEQ && c.len == 8);
  free(work);
  printf("  bf16 prefill agrees with %d bf16 decode steps to one bf16 step\n", SEQ);

  /* f16: values k/64 in [-1, 1) are exact in f16 (0x3c00 = 1.0, exponent bias 15). */
  static kn_f16 qh[NQ], kh[NK], vh[NK], oh[NQ];
  for (size_t i = 0; i < NQ; ++i) qu[i] = 0.0f;
  for (size_t i = 0; i < NK; ++i) ku[i] = vu[i] = 0.0f;
  for (size_t i = 0; i < NQ; ++i) qh[i] = 0;
  for (size_t i = 0; i < NK; ++i) kh[i] = vh[i] = 0;
  for (size_t i = 0; i < NQ; ++i) {
    qh[i] = 0x3c00; /* 1.0 */
    qu[i] = 1.0f;
  }
  for (size_t i = 0; i < NK; ++i) {
    kh[i] = (i % 3 == 0) ? 0xb800 : 0x3800; /* -0.5 or 0.5 */
    ku[i] = (i % 3 == 0) ? -0.5f : 0.5f;
    static const kn_f16 vbits[5] = {0xb800, 0xb400, 0x0000, 0x3400, 0x3800};
    vh[i] = vbits[i % 5]; /* -0.5, -0.25, 0, 0.25, 0.5 */
    vu[i] = 0.25f * (float)((int)(i % 5) - 2);
  }
  opts = h2o_opts(2, SEQ, 4);
  work = work_for_prefill(&bytes);
  CHECK(kn_h2o_prefill_f32(NH, NKV, SEQ, D, qu, ku, vu, &opts, of, NULL, NULL, work, bytes) == KN_OK);
  free(work);
  CHECK(kn_h2o_prefill_f16_work_bytes(NH, NKV, SEQ, D, &half_bytes) == KN_OK);
  work = malloc(half_bytes);
  CHECK(kn_h2o_prefill_f16(NH, NKV, SEQ, D, qh, kh, vh, &opts, oh, NULL, NULL, work, half_bytes) ==
        KN_OK);
  double err = 0.0;
  for (size_t i = 0; i < NQ; ++i) {
    /* f16 -> float for finite values (subnormals: em 2^-24). */
    uint32_t h = oh[i], sign = (h & 0x8000u) << 16, em = h & 0x7fffu;
    uint32_t u = sign | ((em << 13) + (112u << 23));
    float got;
    memcpy(&got, &u, sizeof got);
    if (em < 0x400u) got = (sign ? -1.0f : 1.0f) * (float)em * 0x1p-24f;
    err = fmax(err, fabs(got - of[i]) / (fabs(of[i]) + 1e-3));
  }
  printf("  f16 prefill vs f32 prefill: max relative difference %.2e (f16 rounding 4.9e-4)\n", err);
  CHECK(err <= 0x1p-11 + 1e-6);
  qh[0] = 0x7c00; /* +infinity */
  CHECK(kn_h2o_prefill_f16(NH, NKV, SEQ, D, qh, kh, vh, &opts, oh, NULL, NULL, work, half_bytes) ==
        KN_ERR_NON_FINITE);
  free(work);
}

int main(void) {
  fill(q, NH * SEQ * D, 1);
  fill(k, NKV * SEQ * D, 2);
  fill(v, NKV * SEQ * D, 3);
  test_full_budget();
  test_prefill_equals_decode();
  test_bad_prefill();
  test_half();
  printf("C test h2o: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
