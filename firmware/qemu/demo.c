/* The firmware demo, shared by the Cortex-M4 build and the host build: every kernel
 * family once, small built-in data, workspace in a static buffer, results printed
 * with enough digits to compare the two builds. Each family adds a function here. */
#include "demo.h"

#include "kernels.h"

#include <stdio.h>

/* One static scratch buffer for all demos: no heap is involved anywhere. */
static unsigned char work[16384];

static int failures = 0;

static void expect(const char *what, kn_status got, kn_status want) {
  if (got != want) {
    ++failures;
    printf("FAIL %s: status %d (%s), expected %d\n", what, (int)got, kn_status_str(got),
           (int)want);
  }
}

static void demo_library(void) {
  printf("version: %u\n", (unsigned)kn_version());
  printf("status: %s\n", kn_status_str(KN_ERR_WORKSPACE));
  expect("version", (kn_status)(kn_version() >> 16), (kn_status)KN_VERSION_MAJOR);
  (void)work;
}

int kn_demo_run(void) {
  demo_library();
  printf("demo: %d failures\n", failures);
  return failures == 0 ? 0 : 1;
}
