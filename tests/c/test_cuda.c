/* The CUDA entry points from C, in every build.
 *
 * Without a device (kn_cuda_available() == 0: no driver, no GPU, no NVRTC, or a
 * library built without the `cuda` feature): every kn_cuda_* called here returns
 * KN_ERR_UNSUPPORTED and writes nothing, and a loud SKIPPED line says the device part
 * did not run.
 *
 * With a device: device memory comes from the CUDA driver API, loaded with
 * dlopen("libcuda.so.1") (this program links only libkernels), in the primary context
 * of device 0 made current (what the CUDA runtime uses); kn_cuda_sor_grid2d_f64/_f32
 * on the default stream must equal kn_sor_grid2d_f64/_f32 on the host bit for bit,
 * and bad input must be refused with x untouched. KN_REQUIRE_GPU=1 in the environment
 * makes a missing device a failure (scripts/gpu-check.sh sets it).
 * Built with -Wall -Wextra -Werror -pedantic (and sanitizers by scripts/test-all.sh). */
#define _POSIX_C_SOURCE 200809L

#include "kernels.h"

#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define NX 37
#define NY 22
#define N (NX * NY)
#define SWEEPS 5

static void fill(double *v, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; ++i) v[i] = (double)((i * 7919u + seed * 104729u) % 2003u) / 2003.0 - 0.5;
}

static void no_device(void) {
  double b[N], x[N], x0[N];
  float bf[N], xf[N], xf0[N];
  fill(b, N, 1);
  fill(x, N, 2);
  for (size_t i = 0; i < N; ++i) {
    bf[i] = (float)b[i];
    xf[i] = (float)x[i];
  }
  memcpy(x0, x, sizeof x);
  memcpy(xf0, xf, sizeof xf);
  unsigned char work[64] = {0};
  size_t bytes = 777;
  CHECK(kn_cuda_sor_grid2d_work_bytes(NX, NY, &bytes) == KN_ERR_UNSUPPORTED);
  CHECK(bytes == 777);
  CHECK(kn_cuda_sor_grid2d_f32(NX, NY, 0.5f, bf, xf, 1.2f, SWEEPS, work, sizeof work, NULL) ==
        KN_ERR_UNSUPPORTED);
  CHECK(kn_cuda_sor_grid2d_f64(NX, NY, 0.5, b, x, 1.2, SWEEPS, work, sizeof work, NULL) ==
        KN_ERR_UNSUPPORTED);
  /* Even with invalid arguments: the device check comes first. */
  CHECK(kn_cuda_sor_grid2d_f64(0, 0, NAN, NULL, NULL, 7.0, 1, NULL, 0, NULL) == KN_ERR_UNSUPPORTED);
  CHECK(memcmp(x, x0, sizeof x) == 0);
  CHECK(memcmp(xf, xf0, sizeof xf) == 0);
  for (size_t i = 0; i < sizeof work; ++i) CHECK(work[i] == 0);
}

/* The few driver API entry points used, with their C types (cuda.h, 64-bit). */
typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;
typedef unsigned long long CUdeviceptr;

static struct {
  void *lib;
  CUresult (*init)(unsigned);
  CUresult (*device_get)(CUdevice *, int);
  CUresult (*retain)(CUcontext *, CUdevice);
  CUresult (*release)(CUdevice);
  CUresult (*set_current)(CUcontext);
  CUresult (*alloc)(CUdeviceptr *, size_t);
  CUresult (*free_)(CUdeviceptr);
  CUresult (*htod)(CUdeviceptr, const void *, size_t);
  CUresult (*dtoh)(void *, CUdeviceptr, size_t);
} cu;

/* dlsym's object pointer into a function pointer without the cast ISO C forbids. */
static int load(void *fn, size_t fn_size, const char *name) {
  void *sym = dlsym(cu.lib, name);
  if (sym == NULL || fn_size != sizeof sym) {
    fprintf(stderr, "libcuda.so.1: %s not found\n", name);
    return 0;
  }
  memcpy(fn, &sym, sizeof sym);
  return 1;
}

#define LOAD(field, name) load(&cu.field, sizeof cu.field, name)

static int load_driver(void) {
  cu.lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (cu.lib == NULL) {
    fprintf(stderr, "dlopen(libcuda.so.1) failed: %s\n", dlerror());
    return 0;
  }
  return LOAD(init, "cuInit") && LOAD(device_get, "cuDeviceGet") &&
         LOAD(retain, "cuDevicePrimaryCtxRetain") &&
         (LOAD(release, "cuDevicePrimaryCtxRelease_v2") ||
          LOAD(release, "cuDevicePrimaryCtxRelease")) &&
         LOAD(set_current, "cuCtxSetCurrent") && LOAD(alloc, "cuMemAlloc_v2") &&
         LOAD(free_, "cuMemFree_v2") && LOAD(htod, "cuMemcpyHtoD_v2") &&
         LOAD(dtoh, "cuMemcpyDtoH_v2");
}

static void *dev_ptr(CUdeviceptr p) { return (void *)(uintptr_t)p; }

static void with_device(void) {
  CHECK(load_driver());
  if (cu.lib == NULL || cu.dtoh == NULL) return;
  CUdevice dev = 0;
  CUcontext ctx = NULL;
  CHECK(cu.init(0) == 0);
  CHECK(cu.device_get(&dev, 0) == 0);
  CHECK(cu.retain(&ctx, dev) == 0);
  CHECK(cu.set_current(ctx) == 0);

  double b[N], x[N], want[N], got[N];
  float bf[N], xf[N], wantf[N], gotf[N];
  fill(b, N, 3);
  fill(x, N, 4);
  for (size_t i = 0; i < N; ++i) {
    bf[i] = (float)b[i];
    xf[i] = (float)x[i];
  }
  size_t bytes = 0;
  CHECK(kn_cuda_sor_grid2d_work_bytes(NX, NY, &bytes) == KN_OK);
  CHECK(bytes > 0 && bytes <= 64);
  CUdeviceptr db = 0, dx = 0, dbf = 0, dxf = 0, dw = 0;
  CHECK(cu.alloc(&db, sizeof b) == 0);
  CHECK(cu.alloc(&dx, sizeof x) == 0);
  CHECK(cu.alloc(&dbf, sizeof bf) == 0);
  CHECK(cu.alloc(&dxf, sizeof xf) == 0);
  CHECK(cu.alloc(&dw, bytes) == 0);
  if (failures) return;
  CHECK(cu.htod(db, b, sizeof b) == 0);
  CHECK(cu.htod(dx, x, sizeof x) == 0);
  CHECK(cu.htod(dbf, bf, sizeof bf) == 0);
  CHECK(cu.htod(dxf, xf, sizeof xf) == 0);

  /* f64 and f32 against the host, bit for bit. */
  memcpy(want, x, sizeof x);
  CHECK(kn_sor_grid2d_f64(NX, NY, 0.25, b, want, 1.4, SWEEPS) == KN_OK);
  CHECK(kn_cuda_sor_grid2d_f64(NX, NY, 0.25, dev_ptr(db), dev_ptr(dx), 1.4, SWEEPS, dev_ptr(dw),
                               bytes, NULL) == KN_OK);
  CHECK(cu.dtoh(got, dx, sizeof got) == 0);
  CHECK(memcmp(got, want, sizeof got) == 0);

  memcpy(wantf, xf, sizeof xf);
  CHECK(kn_sor_grid2d_f32(NX, NY, 0.25f, bf, wantf, 1.4f, SWEEPS) == KN_OK);
  CHECK(kn_cuda_sor_grid2d_f32(NX, NY, 0.25f, dev_ptr(dbf), dev_ptr(dxf), 1.4f, SWEEPS,
                               dev_ptr(dw), bytes, NULL) == KN_OK);
  CHECK(cu.dtoh(gotf, dxf, sizeof gotf) == 0);
  CHECK(memcmp(gotf, wantf, sizeof gotf) == 0);

  /* Bad input: refused as on the host, device x untouched. */
  CHECK(kn_cuda_sor_grid2d_f64(NX, NY, 0.25, dev_ptr(db), dev_ptr(dx), 2.0, 1, dev_ptr(dw), bytes,
                               NULL) == KN_ERR_ARGUMENT);
  CHECK(kn_cuda_sor_grid2d_f64(NX, NY, -4.0, dev_ptr(db), dev_ptr(dx), 1.0, 1, dev_ptr(dw), bytes,
                               NULL) == KN_ERR_ARGUMENT);
  CHECK(kn_cuda_sor_grid2d_f64(0, NY, 0.25, dev_ptr(db), dev_ptr(dx), 1.0, 1, dev_ptr(dw), bytes,
                               NULL) == KN_ERR_DIMENSION);
  CHECK(kn_cuda_sor_grid2d_f64(NX, NY, 0.25, NULL, dev_ptr(dx), 1.0, 1, dev_ptr(dw), bytes, NULL) ==
        KN_ERR_NULL);
  CHECK(kn_cuda_sor_grid2d_f64(NX, NY, 0.25, dev_ptr(db), dev_ptr(dx), 1.0, 1, dev_ptr(dw), 0,
                               NULL) == KN_ERR_WORKSPACE);
  CHECK(kn_cuda_sor_grid2d_f64(NX, NY, 0.25, dev_ptr(dx), dev_ptr(dx), 1.0, 1, dev_ptr(dw), bytes,
                               NULL) == KN_ERR_ARGUMENT);
  double nan_b[N];
  memcpy(nan_b, b, sizeof b);
  nan_b[N / 3] = NAN;
  CHECK(cu.htod(db, nan_b, sizeof nan_b) == 0);
  CHECK(kn_cuda_sor_grid2d_f64(NX, NY, 0.25, dev_ptr(db), dev_ptr(dx), 1.0, 1, dev_ptr(dw), bytes,
                               NULL) == KN_ERR_NON_FINITE);
  double after[N];
  CHECK(cu.dtoh(after, dx, sizeof after) == 0);
  CHECK(memcmp(after, got, sizeof after) == 0);

  CHECK(cu.free_(db) == 0);
  CHECK(cu.free_(dx) == 0);
  CHECK(cu.free_(dbf) == 0);
  CHECK(cu.free_(dxf) == 0);
  CHECK(cu.free_(dw) == 0);
  CHECK(cu.release(dev) == 0);
  printf("CUDA part of the C tests: kn_cuda_sor_grid2d_f64/_f32 bit-identical to the host "
         "(%dx%d, %d sweeps), bad input refused\n",
         NX, NY, SWEEPS);
}

int main(void) {
  if (kn_cuda_available() == 0) {
    const char *require = getenv("KN_REQUIRE_GPU");
    if (require != NULL && strcmp(require, "1") == 0) {
      fprintf(stderr, "test_cuda: KN_REQUIRE_GPU=1 but kn_cuda_available() == 0 (no driver, "
                      "device or NVRTC, or a library built without the cuda feature)\n");
      return 1;
    }
    no_device();
    printf("SKIPPED: CUDA part of the C tests: no device (kn_cuda_available() == 0); "
           "checked that kn_cuda_sor_grid2d_* return KN_ERR_UNSUPPORTED and write nothing\n");
  } else {
    with_device();
  }
  if (failures) {
    fprintf(stderr, "test_cuda: %d of %d checks failed\n", failures, checks);
    return 1;
  }
  printf("test_cuda: %d checks passed\n", checks);
  return 0;
}
