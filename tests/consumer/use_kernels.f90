! A Fortran program that uses the installed kernels library through the module
! `kernels`, as README "Use from Fortran" says: entropic optimal transport by Sinkhorn
! and an SPD solve by conjugate gradients, each checked against what it must satisfy.
program use_kernels
  use kernels
  implicit none
  integer, parameter :: n = 6
  integer(c_size_t), parameter :: nn = n
  real(c_double) :: cost(n, n), a(n), b(n), f(n), g(n), plan(n, n)
  real(c_double) :: values(3 * n), rhs(n), x(n), xs(n), err, total
  integer(c_size_t) :: indptr(0:n), bytes
  integer(c_int32_t) :: indices(3 * n), s
  integer(c_int8_t), allocatable :: work(:)
  type(kn_sinkhorn_opts) :: so
  type(kn_cg_opts) :: co
  type(kn_report) :: rep
  integer :: i, j, nnz

  if (kn_version() /= KN_VERSION_MAJOR * 65536 + KN_VERSION_MINOR * 256 + KN_VERSION_PATCH) &
    call die('the module and the library have different versions', KN_OK)

  ! Sinkhorn: uniform marginals on n points of a line, cost (i - j)^2 / n^2. The
  ! C array C[i][j] (row-major) is cost(j, i) here; this cost is symmetric anyway.
  do i = 1, n
    a(i) = 1.0d0 / n
    b(i) = 1.0d0 / n
    do j = 1, n
      cost(j, i) = real((i - j)**2, c_double) / n**2
    end do
  end do
  f = 0
  g = 0
  so = kn_sinkhorn_opts_default()
  so%reg = 0.05d0
  s = kn_sinkhorn_work_bytes(nn, nn, bytes)
  if (s /= KN_OK) call die('kn_sinkhorn_work_bytes', s)
  allocate(work(max(bytes, 1_c_size_t)))
  s = kn_sinkhorn_f64(nn, nn, cost, a, b, so, f, g, plan, work, bytes, rep)
  if (s /= KN_OK) call die('kn_sinkhorn_f64', s)
  ! plan(j, i) is P[i][j]: its row sums (over j) must be a, its column sums b.
  err = sum(abs(sum(plan, dim=1) - a)) + sum(abs(sum(plan, dim=2) - b))
  total = sum(plan * cost)
  if (err > so%tol .or. abs(total - rep%value) > 1d-12 .or. rep%converged /= 1) then
    print *, 'marginal error', err, 'cost', total, 'reported', rep%value
    call die('kn_sinkhorn_f64 gave a wrong plan', s)
  end if
  ! Omitting a required array (here b) is KN_ERR_NULL, not a crash; the optional ones
  ! (plan, rep) may be left out.
  s = kn_sinkhorn_f64(nn, nn, cost, a, opts=so, f=f, g=g, work=work, work_bytes=bytes)
  if (s /= KN_ERR_NULL) call die('an absent b was not KN_ERR_NULL', s)
  deallocate(work)

  ! CG on the 1D Laplacian tridiag(-1, 2, -1) in CSR (0-based indices, as in C),
  ! right-hand side A x* for x* = 1..n.
  nnz = 0
  do i = 1, n
    xs(i) = i
    indptr(i - 1) = nnz
    do j = max(1, i - 1), min(n, i + 1)
      nnz = nnz + 1
      indices(nnz) = j - 1
      values(nnz) = merge(2.0d0, -1.0d0, i == j)
    end do
  end do
  indptr(n) = nnz
  do i = 1, n
    rhs(i) = 0
    do j = int(indptr(i - 1)) + 1, int(indptr(i))
      rhs(i) = rhs(i) + values(j) * xs(indices(j) + 1)
    end do
  end do
  x = 0
  co = kn_cg_opts_default()
  co%tol = 1d-12
  s = kn_cg_work_bytes(nn, bytes)
  if (s /= KN_OK) call die('kn_cg_work_bytes', s)
  allocate(work(max(bytes, 1_c_size_t)))
  s = kn_cg_csr_f64(nn, indptr, indices, values, rhs, x, co, work, bytes, rep)
  if (s /= KN_OK) call die('kn_cg_csr_f64', s)
  if (maxval(abs(x - xs)) > 1d-9) then
    print *, 'x =', x
    call die('kn_cg_csr_f64 gave a wrong solution', s)
  end if

  print '(a, f8.6, a, i0, a)', 'use_kernels (Fortran): sinkhorn cost ', total, &
    ', cg converged in ', rep%iterations, ' iterations'

contains

  ! Prints the library's sentence for `status` and stops with a failure.
  subroutine die(what, status)
    character(*), intent(in) :: what
    integer(c_int32_t), intent(in) :: status
    character(kind=c_char), pointer :: text(:)
    integer :: length
    call c_f_pointer(kn_status_str(status), text, [200])
    length = 0
    do while (text(length + 1) /= c_null_char)
      length = length + 1
    end do
    print '(a, ": ", 200a)', what, text(1:length)
    error stop 1
  end subroutine die
end program use_kernels
