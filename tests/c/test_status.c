/* The C view of the library's conventions: version and status sentences.
 * Built with -Wall -Wextra -Werror -fsanitize=address,undefined against libkernels.a. */
#include "kernels.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

static void test_version(void) {
  uint32_t v = kn_version();
  CHECK(v == ((uint32_t)KN_VERSION_MAJOR << 16 | (uint32_t)KN_VERSION_MINOR << 8 |
              (uint32_t)KN_VERSION_PATCH));
}

static void test_status_strings(void) {
  const kn_status codes[] = {KN_OK,           KN_NOT_CONVERGED,   KN_ERR_NULL,
                             KN_ERR_DIMENSION, KN_ERR_WORKSPACE,  KN_ERR_ARGUMENT,
                             KN_ERR_NON_FINITE, KN_ERR_NUMERICAL, KN_ERR_UNSUPPORTED,
                             KN_ERR_INTERNAL};
  const size_t n = sizeof codes / sizeof codes[0];
  /* The codes themselves are part of the ABI. */
  CHECK(KN_OK == 0 && KN_NOT_CONVERGED == 1 && KN_ERR_NULL == -1 &&
        KN_ERR_DIMENSION == -2 && KN_ERR_WORKSPACE == -3 && KN_ERR_ARGUMENT == -4 &&
        KN_ERR_NON_FINITE == -5 && KN_ERR_NUMERICAL == -6 && KN_ERR_UNSUPPORTED == -7 &&
        KN_ERR_INTERNAL == -8);
  const char *unknown = kn_status_str(12345);
  CHECK(unknown != NULL && strlen(unknown) > 0);
  for (size_t i = 0; i < n; ++i) {
    const char *s = kn_status_str(codes[i]);
    CHECK(s != NULL && strlen(s) > 0);
    CHECK(strcmp(s, unknown) != 0);
    for (size_t j = i + 1; j < n; ++j) CHECK(strcmp(s, kn_status_str(codes[j])) != 0);
    printf("  %3d  %s\n", (int)codes[i], s);
  }
  CHECK(kn_status_str(-9) == unknown || strcmp(kn_status_str(-9), unknown) == 0);
  CHECK(strcmp(kn_status_str(INT32_MIN), unknown) == 0);
}

static void test_report_layout(void) {
  /* kn_report is filled by the iterative kernels; its layout is part of the ABI. */
  kn_report r;
  memset(&r, 0, sizeof r);
  CHECK(sizeof r.iterations == 4 && sizeof r.error == 8 && sizeof r.converged == 4);
}

int main(void) {
  test_version();
  test_status_strings();
  test_report_layout();
  printf("C test: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
