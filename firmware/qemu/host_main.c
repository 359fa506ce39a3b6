/* The same demo on the host, for comparing the firmware's printed results. */
#include "demo.h"
#include "kernels.h"

/* One thread, as on the Cortex-M4: with more, the workspace queries of the threaded
 * kernels size for one scratch slot per thread, more than the demo's fixed buffer
 * (sized for the firmware) holds. */
int main(void) {
  if (kn_set_num_threads(1) != KN_OK) return 1;
  return kn_demo_run();
}
