// A C++ program that uses the installed kernels library through CMake's
// find_package(kernels CONFIG): entropic transport (f32) and red-black SOR on a grid,
// checked against direct computations.
#include <kernels.h>

#include <cmath>
#include <cstdio>
#include <vector>

namespace {

int fail(const char *what, kn_status s) {
  std::fprintf(stderr, "use_kernels_cpp: %s: %s (%d)\n", what, kn_status_str(s), int(s));
  return 1;
}

}  // namespace

int main() {
  // Entropic transport, f32: 3 x 4 points on a line.
  const size_t n = 3, m = 4;
  std::vector<float> C(n * m), a(n, 1.0f / n), b(m, 1.0f / m), f(n), g(m), plan(n * m);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < m; j++) C[i * m + j] = std::fabs(float(i) / 2 - float(j) / 3);
  kn_sinkhorn_opts o = kn_sinkhorn_opts_default();
  o.reg = 0.1;
  o.tol = 1e-5;
  size_t bytes = 0;
  kn_status s = kn_sinkhorn_work_bytes(n, m, &bytes);
  if (s != KN_OK) return fail("kn_sinkhorn_work_bytes", s);
  std::vector<unsigned char> work(bytes);
  kn_report rep{};
  s = kn_sinkhorn_f32(n, m, C.data(), a.data(), b.data(), &o, f.data(), g.data(), plan.data(),
                      work.data(), work.size(), &rep);
  if (s != KN_OK) return fail("kn_sinkhorn_f32", s);
  double err = 0;
  for (size_t i = 0; i < n; i++) {
    double row = 0;
    for (size_t j = 0; j < m; j++) row += plan[i * m + j];
    err += std::fabs(row - a[i]);
  }
  for (size_t j = 0; j < m; j++) {
    double col = 0;
    for (size_t i = 0; i < n; i++) col += plan[i * m + j];
    err += std::fabs(col - b[j]);
  }
  if (err > 1e-4) {
    std::fprintf(stderr, "use_kernels_cpp: sinkhorn marginal error %g\n", err);
    return 1;
  }

  // Symmetric SOR on the 2D Poisson problem (shift 0): the residual shrinks.
  const size_t nx = 8, ny = 8;
  std::vector<double> rhs(nx * ny, 1.0), x(nx * ny, 0.0);
  auto residual = [&] {
    double r2 = 0;
    for (size_t i = 0; i < ny; i++)
      for (size_t j = 0; j < nx; j++) {
        double ax = 4 * x[i * nx + j];
        if (j > 0) ax -= x[i * nx + j - 1];
        if (j + 1 < nx) ax -= x[i * nx + j + 1];
        if (i > 0) ax -= x[(i - 1) * nx + j];
        if (i + 1 < ny) ax -= x[(i + 1) * nx + j];
        r2 += (rhs[i * nx + j] - ax) * (rhs[i * nx + j] - ax);
      }
    return std::sqrt(r2);
  };
  const double r0 = residual();
  s = kn_sor_grid2d_f64(nx, ny, 0.0, rhs.data(), x.data(), 1.5, 100);
  if (s != KN_OK) return fail("kn_sor_grid2d_f64", s);
  const double r1 = residual();
  if (!(r1 < 1e-8 * r0)) {
    std::fprintf(stderr, "use_kernels_cpp: sor residual %g from %g\n", r1, r0);
    return 1;
  }
  std::printf("use_kernels (C++): sinkhorn f32 marginal error %.2e, sor residual %.2e -> %.2e\n",
              err, r0, r1);
  return 0;
}
