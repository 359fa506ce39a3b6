/* Paging from C: a pager driven request by request, whole-trace simulation, the
 * offline optimum with its perfect bits, and bad input leaving outputs untouched.
 * Built with -Wall -Wextra -Werror -pedantic -fsanitize=address,undefined. */
#include "kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* A deterministic trace with locality: a hot set plus a scan, page ids spread over
 * the whole u64 range (0 and UINT64_MAX included). */
static void make_trace(uint64_t *pages, size_t len) {
  uint64_t s = 12345;
  for (size_t i = 0; i < len; ++i) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t r = s >> 33;
    uint64_t id = (r % 4 == 0) ? (uint64_t)(i % 37) : (r % 11);
    pages[i] = id * 0x9e3779b97f4a7c15ull; /* id 0 -> page 0 */
    if (id == 3) pages[i] = UINT64_MAX;
  }
}

static void test_pager_matches_simulate(void) {
  enum { LEN = 3000, CAP = 8 };
  uint64_t *pages = malloc(LEN * sizeof *pages);
  uint8_t *bits = malloc(LEN);
  CHECK(pages != NULL && bits != NULL);
  if (!pages || !bits) return;
  make_trace(pages, LEN);
  for (size_t i = 0; i < LEN; ++i) bits[i] = (uint8_t)(pages[i] % 3 == 0);

  size_t bytes = 0;
  CHECK(kn_pager_work_bytes(CAP, &bytes) == KN_OK && bytes > 0);
  void *work = malloc(bytes);
  void *work2 = malloc(bytes);
  const int32_t policies[] = {KN_PAGING_LRU,   KN_PAGING_MARKER,         KN_PAGING_DISCARD,
                              KN_PAGING_DISCARD_RANDOM, KN_PAGING_PHASE, KN_PAGING_DISCARD_ROBUST,
                              KN_PAGING_LEARNED};
  for (size_t k = 0; k < sizeof policies / sizeof policies[0]; ++k) {
    kn_pager p;
    CHECK(kn_pager_init(&p, policies[k], CAP, 42, work, bytes) == KN_OK);
    uint64_t faults = 0, cached = 0;
    for (size_t i = 0; i < LEN; ++i) {
      kn_access r;
      CHECK(kn_pager_access(&p, pages[i], bits[i], &r) == KN_OK);
      faults += (uint64_t)!r.hit;
      cached += (uint64_t)!r.hit - (uint64_t)r.evicted;
      CHECK(cached <= CAP);
      CHECK(!(r.hit && r.evicted));
    }
    uint64_t sim = 0;
    CHECK(kn_paging_simulate(policies[k], CAP, 42, pages, bits, LEN, &sim, work2, bytes) ==
          KN_OK);
    CHECK(sim == faults);
    printf("  policy %d: %llu faults over %d requests, k = %d\n", (int)policies[k],
           (unsigned long long)faults, LEN, CAP);
  }
  free(work);
  free(work2);
  free(pages);
  free(bits);
}

/* KN_PAGING_LEARNED with a context per request (here a made-up "instruction" that
 * depends on the page), request by request and over the whole trace; and the
 * context entry points' bad input. */
static void test_learned_with_contexts(void) {
  enum { LEN = 4000, CAP = 6 };
  uint64_t *pages = malloc(LEN * sizeof *pages);
  uint64_t *ctx = malloc(LEN * sizeof *ctx);
  CHECK(pages != NULL && ctx != NULL);
  if (!pages || !ctx) return;
  make_trace(pages, LEN);
  for (size_t i = 0; i < LEN; ++i) ctx[i] = 0x400000u + (pages[i] % 5) * 4;
  size_t bytes = 0;
  CHECK(kn_pager_work_bytes(CAP, &bytes) == KN_OK);
  void *work = malloc(bytes);
  kn_pager p;
  CHECK(kn_pager_init(&p, KN_PAGING_LEARNED, CAP, 3, work, bytes) == KN_OK);
  uint64_t faults = 0;
  for (size_t i = 0; i < LEN; ++i) {
    kn_access r;
    CHECK(kn_pager_access_ctx(&p, pages[i], ctx[i], &r) == KN_OK);
    faults += (uint64_t)!r.hit;
  }
  uint64_t sim = 0, lru = 0;
  CHECK(kn_paging_simulate_ctx(KN_PAGING_LEARNED, CAP, 3, pages, NULL, ctx, LEN, &sim, work,
                               bytes) == KN_OK);
  CHECK(sim == faults);
  CHECK(kn_paging_simulate(KN_PAGING_LRU, CAP, 0, pages, NULL, LEN, &lru, work, bytes) == KN_OK);
  printf("  learned with contexts: %llu faults, LRU %llu\n", (unsigned long long)faults,
         (unsigned long long)lru);
  CHECK(faults * 100 <= lru * 105 + 100 * CAP);

  /* Bad input: nothing written. */
  uint64_t out = 555;
  CHECK(kn_paging_simulate_ctx(KN_PAGING_LEARNED, CAP, 3, pages, NULL, NULL, LEN, &out, work,
                               bytes) == KN_ERR_NULL);
  CHECK(kn_paging_simulate_ctx(7, CAP, 3, pages, NULL, ctx, LEN, &out, work, bytes) ==
        KN_ERR_ARGUMENT);
  CHECK(kn_paging_simulate_ctx(KN_PAGING_LEARNED, 0, 3, pages, NULL, ctx, LEN, &out, work,
                               bytes) == KN_ERR_DIMENSION);
  CHECK(kn_paging_simulate_ctx(KN_PAGING_LEARNED, CAP, 3, pages, NULL, ctx, LEN, &out, work,
                               bytes - 1) == KN_ERR_WORKSPACE);
  CHECK(kn_paging_simulate_ctx(KN_PAGING_LEARNED, CAP, 3, pages, NULL, ctx, LEN,
                               (uint64_t *)(void *)ctx, work, bytes) == KN_ERR_ARGUMENT);
  CHECK(out == 555);
  kn_access r;
  memset(&r, 0x5c, sizeof r);
  kn_access r_saved = r;
  CHECK(kn_pager_access_ctx(NULL, 1, 2, &r) == KN_ERR_NULL);
  p.opaque[1] ^= 1; /* a tampered pager (its policy word) */
  CHECK(kn_pager_access_ctx(&p, 1, 2, &r) == KN_ERR_ARGUMENT);
  p.opaque[1] ^= 1;
  CHECK(memcmp(&r, &r_saved, sizeof r) == 0);
  CHECK(kn_pager_access_ctx(&p, 1, 2, &r) == KN_OK);
  free(work);
  free(pages);
  free(ctx);
}

static void test_offline(void) {
  /* The textbook reference string: OPT with 3 frames makes 9 faults. */
  const uint64_t s[] = {7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1};
  const size_t len = sizeof s / sizeof s[0];
  size_t bytes = 0;
  CHECK(kn_paging_offline_work_bytes(3, len, &bytes) == KN_OK);
  void *work = malloc(bytes);
  uint64_t opt = 0;
  uint8_t discard[20], phase[20];
  CHECK(kn_paging_offline(3, s, len, &opt, discard, phase, work, bytes) == KN_OK);
  CHECK(opt == 9);
  /* Perfect discard bits make DISCARD optimal. */
  size_t pbytes = 0;
  CHECK(kn_pager_work_bytes(3, &pbytes) == KN_OK);
  void *pwork = malloc(pbytes);
  uint64_t faults = 0;
  CHECK(kn_paging_simulate(KN_PAGING_DISCARD, 3, 0, s, discard, len, &faults, pwork, pbytes) ==
        KN_OK);
  CHECK(faults == opt);
  CHECK(kn_paging_simulate(KN_PAGING_LRU, 3, 0, s, NULL, len, &faults, pwork, pbytes) == KN_OK);
  CHECK(faults == 12);
  /* Bit arrays are optional. */
  CHECK(kn_paging_offline(3, s, len, &opt, NULL, NULL, work, bytes) == KN_OK && opt == 9);
  free(pwork);
  free(work);
}

static void test_bad_input(void) {
  size_t bytes = 77;
  CHECK(kn_pager_work_bytes(0, &bytes) == KN_ERR_DIMENSION && bytes == 77);
  CHECK(kn_pager_work_bytes(4, NULL) == KN_ERR_NULL);
  CHECK(kn_pager_work_bytes((size_t)KN_PAGER_MAX_CAPACITY + 1, &bytes) == KN_ERR_ARGUMENT);
  CHECK(kn_pager_work_bytes(4, &bytes) == KN_OK);
  void *work = malloc(bytes);

  kn_pager p;
  memset(&p, 0xab, sizeof p);
  kn_pager saved = p;
  CHECK(kn_pager_init(&p, 99, 4, 0, work, bytes) == KN_ERR_ARGUMENT);
  CHECK(kn_pager_init(&p, -1, 4, 0, work, bytes) == KN_ERR_ARGUMENT);
  CHECK(kn_pager_init(&p, KN_PAGING_LRU, 0, 0, work, bytes) == KN_ERR_DIMENSION);
  CHECK(kn_pager_init(&p, KN_PAGING_LRU, 4, 0, work, bytes - 1) == KN_ERR_WORKSPACE);
  CHECK(kn_pager_init(&p, KN_PAGING_LRU, 4, 0, NULL, bytes) == KN_ERR_NULL);
  CHECK(kn_pager_init(NULL, KN_PAGING_LRU, 4, 0, work, bytes) == KN_ERR_NULL);
  CHECK(memcmp(&p, &saved, sizeof p) == 0);

  /* An uninitialised (garbage) pager is refused, and the result is untouched. */
  kn_access r;
  memset(&r, 0x5c, sizeof r);
  kn_access r_saved = r;
  CHECK(kn_pager_access(&p, 1, 0, &r) == KN_ERR_ARGUMENT);
  CHECK(kn_pager_access(NULL, 1, 0, &r) == KN_ERR_NULL);
  CHECK(memcmp(&r, &r_saved, sizeof r) == 0);

  CHECK(kn_pager_init(&p, KN_PAGING_PHASE, 4, 0, work, bytes) == KN_OK);
  CHECK(kn_pager_access(&p, 1, 2, &r) == KN_ERR_ARGUMENT); /* a bit is 0 or 1 */
  CHECK(memcmp(&r, &r_saved, sizeof r) == 0);
  CHECK(kn_pager_access(&p, 1, 1, NULL) == KN_OK);
  p.opaque[3] ^= 1; /* a tampered pager */
  CHECK(kn_pager_access(&p, 1, 0, &r) == KN_ERR_ARGUMENT);
  p.opaque[3] ^= 1;
  CHECK(kn_pager_access(&p, 1, 0, &r) == KN_OK && r.hit == 1);

  const uint64_t pages[4] = {1, 2, 3, 1};
  uint64_t faults = 555;
  CHECK(kn_paging_simulate(KN_PAGING_LRU, 4, 0, NULL, NULL, 4, &faults, work, bytes) ==
        KN_ERR_NULL);
  CHECK(kn_paging_simulate(7, 4, 0, pages, NULL, 4, &faults, work, bytes) == KN_ERR_ARGUMENT);
  CHECK(kn_paging_simulate(KN_PAGING_LRU, 0, 0, pages, NULL, 4, &faults, work, bytes) ==
        KN_ERR_DIMENSION);
  CHECK(kn_paging_simulate(KN_PAGING_LRU, 4, 0, pages, NULL, 4, &faults, work, 8) ==
        KN_ERR_WORKSPACE);
  CHECK(faults == 555);

  size_t obytes = 0;
  CHECK(kn_paging_offline_work_bytes(2, 4, &obytes) == KN_OK);
  void *owork = malloc(obytes);
  uint64_t opt = 555;
  uint8_t d[4] = {9, 9, 9, 9}, ph[4] = {9, 9, 9, 9};
  CHECK(kn_paging_offline(0, pages, 4, &opt, d, ph, owork, obytes) == KN_ERR_DIMENSION);
  CHECK(kn_paging_offline(2, pages, 4, &opt, d, ph, owork, obytes - 1) == KN_ERR_WORKSPACE);
  CHECK(kn_paging_offline(2, pages, 4, NULL, d, ph, owork, obytes) == KN_ERR_NULL);
  CHECK(kn_paging_offline(2, pages, 4, &opt, d, d, owork, obytes) == KN_ERR_ARGUMENT);
  CHECK(opt == 555 && d[0] == 9 && d[3] == 9 && ph[0] == 9 && ph[3] == 9);
  free(owork);
  free(work);
}

int main(void) {
  test_pager_matches_simulate();
  test_learned_with_contexts();
  test_offline();
  test_bad_input();
  printf("test_paging: %d checks, %d failures\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
