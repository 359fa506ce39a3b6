/* LASP-2 over MPI: one sequence split across the ranks, with a constant decay per head
 * and again with a log gate per head and token.
 *
 * Each rank holds a contiguous slice of the tokens. It computes its slice's state
 * (kn_linattn_chunk_state_f32; gated: kn_linattn_gated_chunk_state_f32, which also
 * gives the slice's log decay per head), the ranks exchange the fixed-size states (and
 * the slice lengths, or the log decays) in MPI_Allgather, every rank scans them
 * (kn_linattn_state_scan_f32 / kn_linattn_gated_state_scan_f32) and finishes its own
 * outputs from its prefix (kn_linattn_forward_f32 / kn_linattn_gated_forward_f32 with
 * state_in = prefix[rank]). Rank 0 gathers the outputs and the last rank's final state
 * and compares them with a single-process run of the whole sequence: max abs error
 * <= 1e-4.
 *
 *   mpicc -std=c11 -Wall -Wextra -Werror -Iinclude tests/mpi/linattn_mpi.c \
 *     target/debug/libkernels.a -lpthread -ldl -lm -o linattn_mpi
 *   mpirun -np 4 ./linattn_mpi      (as root: --allow-run-as-root; more ranks than
 *                                    cores: --oversubscribe)
 */
#include "kernels.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { H = 4, N = 1000, DK = 32, DV = 16, CHUNK = 64 };
static const float decay[H] = {0.99f, 0.9f, 1.0f, 0.5f};
#define STATE (H * DK * DV)

static unsigned long long rng = 2025;
static float uniform(void) {
  rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  return p;
}

/* The forward pass with its own workspace, gated when `g` is not NULL; returns the
 * status. */
static kn_status forward(size_t len, const float *q, const float *k, const float *v,
                         const float *g, const float *state_in, float *out, float *state_out) {
  size_t bytes = 0;
  kn_status s = g ? kn_linattn_gated_work_bytes(H, len, DK, DV, CHUNK, &bytes)
                  : kn_linattn_work_bytes(H, len, DK, DV, CHUNK, &bytes);
  if (s != KN_OK) return s;
  void *work = xmalloc(bytes);
  s = g ? kn_linattn_gated_forward_f32(H, len, DK, DV, q, k, v, g, 0.0f, state_in, out,
                                       state_out, CHUNK, work, bytes)
        : kn_linattn_forward_f32(H, len, DK, DV, q, k, v, decay, 0.0f, state_in, out, state_out,
                                 CHUNK, work, bytes);
  free(work);
  return s;
}

/* Rows [t0, t0 + len) of every head of x ([H][N][d]) into a contiguous [H][len][d]. */
static void slice(const float *x, size_t d, size_t t0, size_t len, float *dst) {
  for (size_t h = 0; h < H; ++h)
    memcpy(dst + h * len * d, x + (h * N + t0) * d, sizeof(float) * len * d);
}

/* One LASP-2 run over the ranks (gated when `g`, [H][N], is not NULL); on rank 0 it
 * prints the comparison. Returns whether it agreed (on every rank). */
static int lasp2(int rank, int size, const float *q, const float *k, const float *v,
                 const float *g) {
  const size_t t0 = (size_t)rank * N / (size_t)size;
  const size_t len = (size_t)(rank + 1) * N / (size_t)size - t0;
  float *lq = xmalloc(sizeof(float) * H * len * DK), *lk = xmalloc(sizeof(float) * H * len * DK);
  float *lv = xmalloc(sizeof(float) * H * len * DV), *lo = xmalloc(sizeof(float) * H * len * DV);
  float *lg = xmalloc(sizeof(float) * H * len);
  slice(q, DK, t0, len, lq);
  slice(k, DK, t0, len, lk);
  slice(v, DV, t0, len, lv);
  if (g) slice(g, 1, t0, len, lg);

  /* 1. The local state (and log decay); 2. one AllGather of the states, one of the
   * slice lengths or log decays; 3. the scan; 4. the local outputs from this rank's
   * prefix. */
  int failed = 0;
  float local_state[STATE], final_state[STATE], local_log[H];
  failed |= (g ? kn_linattn_gated_chunk_state_f32(H, len, DK, DV, lk, lv, lg, local_state,
                                                  local_log)
               : kn_linattn_chunk_state_f32(H, len, DK, DV, lk, lv, decay, local_state)) != KN_OK;
  float *states = xmalloc(sizeof(float) * STATE * (size_t)size);
  float *prefix = xmalloc(sizeof(float) * STATE * (size_t)size);
  MPI_Allgather(local_state, STATE, MPI_FLOAT, states, STATE, MPI_FLOAT, MPI_COMM_WORLD);
  unsigned long long my_len = len, *all_lens = xmalloc(sizeof(unsigned long long) * size);
  MPI_Allgather(&my_len, 1, MPI_UNSIGNED_LONG_LONG, all_lens, 1, MPI_UNSIGNED_LONG_LONG,
                MPI_COMM_WORLD);
  size_t *lens = xmalloc(sizeof(size_t) * size);
  for (int r = 0; r < size; ++r) lens[r] = (size_t)all_lens[r];
  if (g) {
    float *logs = xmalloc(sizeof(float) * H * (size_t)size);
    MPI_Allgather(local_log, H, MPI_FLOAT, logs, H, MPI_FLOAT, MPI_COMM_WORLD);
    failed |= kn_linattn_gated_state_scan_f32((size_t)size, H, DK, DV, logs, states, prefix) !=
              KN_OK;
    free(logs);
  } else {
    failed |= kn_linattn_state_scan_f32((size_t)size, H, DK, DV, lens, decay, states, prefix) !=
              KN_OK;
  }
  failed |= forward(len, lq, lk, lv, g ? lg : NULL, prefix + (size_t)rank * STATE, lo,
                    final_state) != KN_OK;

  /* Rank 0 gathers the slices and compares with the whole sequence in one process. */
  int *counts = xmalloc(sizeof(int) * size), *displs = xmalloc(sizeof(int) * size);
  for (int r = 0; r < size; ++r) {
    counts[r] = (int)(lens[r] * H * DV);
    displs[r] = r == 0 ? 0 : displs[r - 1] + counts[r - 1];
  }
  float *gathered = rank == 0 ? xmalloc(sizeof(float) * H * N * DV) : NULL;
  MPI_Gatherv(lo, (int)(len * H * DV), MPI_FLOAT, gathered, counts, displs, MPI_FLOAT, 0,
              MPI_COMM_WORLD);
  float last_state[STATE];
  if (size > 1) {
    if (rank == size - 1) MPI_Send(final_state, STATE, MPI_FLOAT, 0, 7, MPI_COMM_WORLD);
    if (rank == 0)
      MPI_Recv(last_state, STATE, MPI_FLOAT, size - 1, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  } else {
    memcpy(last_state, final_state, sizeof last_state);
  }
  int any_failed = 0;
  MPI_Reduce(&failed, &any_failed, 1, MPI_INT, MPI_LOR, 0, MPI_COMM_WORLD);

  int ok = 1;
  if (rank == 0) {
    float *whole = xmalloc(sizeof(float) * H * N * DV), whole_state[STATE];
    any_failed |= forward(N, q, k, v, g, NULL, whole, whole_state) != KN_OK;
    double err = 0, state_err = 0;
    for (int r = 0, t = 0; r < size; t += (int)lens[r], ++r)
      for (size_t h = 0; h < H; ++h)
        for (size_t i = 0; i < lens[r] * DV; ++i) {
          double got = gathered[displs[r] + h * lens[r] * DV + i];
          double d = fabs(got - whole[(h * N + (size_t)t) * DV + i]);
          if (d > err || d != d) err = d;
        }
    for (size_t i = 0; i < STATE; ++i) {
      double d = fabs((double)last_state[i] - whole_state[i]);
      if (d > state_err || d != d) state_err = d;
    }
    ok = !any_failed && err <= 1e-4 && state_err <= 1e-4;
    printf("linattn_mpi (%s): %d ranks, %d tokens, %d heads, dk %d, dv %d: max abs error %.3g "
           "(outputs), %.3g (final state), limit 1e-4: %s\n",
           g ? "gated" : "constant decay", size, N, H, DK, DV, err, state_err,
           ok ? "ok" : "FAILED");
    free(whole);
    free(gathered);
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  free(lq), free(lk), free(lv), free(lo), free(lg);
  free(states), free(prefix), free(all_lens), free(lens), free(counts), free(displs);
  return ok;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size > N) {
    if (rank == 0) fprintf(stderr, "linattn_mpi: more ranks than tokens\n");
    MPI_Finalize();
    return 1;
  }

  /* Every rank generates the same sequence and keeps its slice (a real code would read
   * only its own tokens). Gates: around each head's ln(decay), a -6 now and then. */
  float *q = xmalloc(sizeof(float) * H * N * DK), *k = xmalloc(sizeof(float) * H * N * DK);
  float *v = xmalloc(sizeof(float) * H * N * DV), *g = xmalloc(sizeof(float) * H * N);
  for (size_t i = 0; i < (size_t)H * N * DK; ++i) q[i] = uniform(), k[i] = uniform();
  for (size_t i = 0; i < (size_t)H * N * DV; ++i) v[i] = uniform();
  for (size_t i = 0; i < (size_t)H * N; ++i)
    g[i] = i % 97 == 13 ? -6.0f : logf(decay[i / N]) * (1.0f + uniform()) - 0.001f;
  int ok = lasp2(rank, size, q, k, v, NULL);
  ok &= lasp2(rank, size, q, k, v, g);
  free(q), free(k), free(v), free(g);
  MPI_Finalize();
  return ok ? 0 : 1;
}
