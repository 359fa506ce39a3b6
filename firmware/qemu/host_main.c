/* The same demo on the host, for comparing the firmware's printed results. */
#include "demo.h"

int main(void) { return kn_demo_run(); }
