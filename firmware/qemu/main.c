/* Firmware entry: the demo of every kernel family on a Cortex-M4F, printing over
 * semihosting. Built with arm-none-eabi-gcc against the no_std build of libkernels.a
 * and run on qemu-system-arm -M mps2-an386 (see run.sh). Returning from main exits
 * QEMU with the status. */
#include "demo.h"

#include <stdint.h>

/* Called by the startup code before main: enable the FPU (CP10 and CP11 full access
 * in CPACR), which must happen before any floating-point instruction runs. */
void SystemInit(void) {
  volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
  *cpacr |= (0xFu << 20);
  __asm volatile("dsb\n\tisb" ::: "memory");
}

int main(void) { return kn_demo_run(); }
