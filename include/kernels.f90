! kernels.f90: the Fortran interface of the kernels library, module `kernels`.
!
! Generated from include/kernels.h by kernels-ffi/tests/fortran_module; do not edit.
! Regenerate with: KN_BLESS=1 cargo test -p kernels-ffi --test header
!
! ISO_C_BINDING interfaces to every C function of kernels.h, with the same names,
! arguments and documentation (the comments are the header's, in C terms), the
! status codes and other constants as parameters, and the option, report and handle
! structs as bind(C) derived types. The module has no procedures of its own: compiling
! it produces only kernels.mod; link with libkernels (pkg-config --libs kernels).
!
! Fortran notes:
! - Sizes are integer(c_size_t) and go by value: pass int(n, c_size_t). uint32_t and
!   uint64_t arguments and fields are integer(c_int32_t) / integer(c_int64_t).
! - kn_f16 and kn_bf16 (half-precision bit patterns) are integer(c_int16_t): pass the
!   bits, e.g. from TRANSFER of the upper half of a real(c_float) for bf16.
! - Arrays are assumed-size: pass the first element's array (row-major in C terms, so
!   a C matrix [n][m] is a Fortran array (m, n)). An array argument may be omitted
!   where the C function accepts NULL.
! - Workspaces (`void *work`) accept any contiguous array, for example
!   integer(c_int8_t), allocatable :: work(:) with the size the *_work_bytes function
!   reports.
! - kn_csr_init_* and kn_h2o_cache_init keep the addresses of the arrays they are
!   given: those arrays must be contiguous, have the TARGET attribute and outlive the
!   handle.
! - kn_status_str returns a C string (type(c_ptr)); c_f_pointer turns it into a
!   character array.
module kernels
  use, intrinsic :: iso_c_binding
  implicit none

  ! No preconditioner: plain CG.
  integer(c_int32_t), parameter :: KN_PRECOND_NONE = 0
  ! Jacobi: `M = diag(A)`.
  integer(c_int32_t), parameter :: KN_PRECOND_JACOBI = 1
  ! SSOR with relaxation `omega` in (0, 2): a forward then a backward SOR sweep.
  integer(c_int32_t), parameter :: KN_PRECOND_SSOR = 2
  ! Number of words of a [`kn_csr`].
  integer(c_int32_t), parameter :: KN_CSR_WORDS = 8
  ! Policy: least recently used (ignores the bits).
  integer(c_int32_t), parameter :: KN_PAGING_LRU = 0
  ! Policy: random marking (ignores the bits).
  integer(c_int32_t), parameter :: KN_PAGING_MARKER = 1
  ! Policy: evict a page whose latest discard bit is 1 if any, else an unmarked page
  ! (deterministic). With perfect discard bits it makes exactly the optimum's faults.
  integer(c_int32_t), parameter :: KN_PAGING_DISCARD = 2
  ! Policy: as KN_PAGING_DISCARD with uniformly random choices.
  integer(c_int32_t), parameter :: KN_PAGING_DISCARD_RANDOM = 3
  ! Policy: marking; evict a random unmarked page whose phase bit is 0, else a random
  ! unmarked page.
  integer(c_int32_t), parameter :: KN_PAGING_PHASE = 4
  ! Policy: KN_PAGING_DISCARD and KN_PAGING_MARKER simulated side by side on the
  ! pager's own metadata; the cache follows the one with fewer faults so far, switching
  ! lazily (evicting toward the other's content only on faults) when the followed one
  ! exceeds the other by 1/8 plus `capacity` faults. Faults <= (1 + 1/8) x min(DISCARD,
  ! MARKER) + capacity without a switch, and O(min + capacity log(min / capacity))
  ! whatever the bits (kernels-core/src/paging/robust.rs gives the bound); with
  ! perfect bits it is DISCARD, i.e. the optimum.
  integer(c_int32_t), parameter :: KN_PAGING_DISCARD_ROBUST = 5
  ! Policy: produces its own discard bits online (Hawkeye's OPTgen reconstructs the
  ! optimum's decisions over a window of 8 x capacity requests, sampled above 128
  ! pages; a table of 4096 3-bit counters indexed by a hash of the request's context
  ! learns from it) and follows them through the robust combination of
  ! KN_PAGING_DISCARD_ROBUST, with LRU as the partner and a factor of 1/32: at most
  ! (1 + 1/32) x LRU's faults + capacity unless it switches. The context is the page
  ! id, or the caller's through kn_pager_access_ctx and kn_paging_simulate_ctx. The
  ! bits passed by the caller are ignored (but still checked).
  integer(c_int32_t), parameter :: KN_PAGING_LEARNED = 6
  ! Number of words of `kn_pager`.
  integer(c_int32_t), parameter :: KN_PAGER_WORDS = 16
  ! The largest capacity a pager accepts (2^30 pages).
  integer(c_int32_t), parameter :: KN_PAGER_MAX_CAPACITY = 1073741824
  ! `kn_sinkhorn_opts.overrelax`: pick omega from the observed convergence rate.
  real(c_double), parameter :: KN_SINKHORN_OVERRELAX_AUTO = -1.0d0
  ! `kn_sinkhorn_opts.method`: absorption when a plan buffer is given, else the log
  ! domain.
  integer(c_int32_t), parameter :: KN_SINKHORN_AUTO = 0
  ! `kn_sinkhorn_opts.method`: the log-domain iteration.
  integer(c_int32_t), parameter :: KN_SINKHORN_LOG = 1
  ! `kn_sinkhorn_opts.method`: absorption (needs the plan buffer).
  integer(c_int32_t), parameter :: KN_SINKHORN_ABSORB = 2
  ! Sweep rows 0 .. n-1.
  integer(c_int32_t), parameter :: KN_SWEEP_FORWARD = 1
  ! Sweep rows n-1 .. 0.
  integer(c_int32_t), parameter :: KN_SWEEP_BACKWARD = 2
  ! A forward then a backward sweep (SSOR), counted as one sweep.
  integer(c_int32_t), parameter :: KN_SWEEP_SYMMETRIC = 3
  ! Words of a `kn_omega_tuner` (14,464 bytes): room for 64 arms and the contextual
  ! model.
  integer(c_int32_t), parameter :: KN_OMEGA_TUNER_WORDS = 1808
  ! The most arms an omega tuner takes.
  integer(c_int32_t), parameter :: KN_OMEGA_TUNER_MAX_ARMS = 64
  ! Major version; equals the crate version in Cargo.toml (checked by a test).
  integer(c_int32_t), parameter :: KN_VERSION_MAJOR = 0
  ! Minor version.
  integer(c_int32_t), parameter :: KN_VERSION_MINOR = 2
  ! Patch version.
  integer(c_int32_t), parameter :: KN_VERSION_PATCH = 0
  ! Done.
  integer(c_int32_t), parameter :: KN_OK = 0
  ! Outputs written, but the tolerance was not reached within the iteration cap.
  integer(c_int32_t), parameter :: KN_NOT_CONVERGED = 1
  ! A required pointer is NULL.
  integer(c_int32_t), parameter :: KN_ERR_NULL = -1
  ! A size is zero where it may not be, sizes disagree, or a product overflows.
  integer(c_int32_t), parameter :: KN_ERR_DIMENSION = -2
  ! `work_bytes` is smaller than the size query returned.
  integer(c_int32_t), parameter :: KN_ERR_WORKSPACE = -3
  ! A parameter is out of its documented range, or a CSR structure is malformed.
  integer(c_int32_t), parameter :: KN_ERR_ARGUMENT = -4
  ! An input holds NaN or infinity.
  integer(c_int32_t), parameter :: KN_ERR_NON_FINITE = -5
  ! The computation broke down (underflow to zero, indefinite matrix, overflow).
  integer(c_int32_t), parameter :: KN_ERR_NUMERICAL = -6
  ! The backend is absent (no CUDA driver or device) or the build lacks the feature.
  integer(c_int32_t), parameter :: KN_ERR_UNSUPPORTED = -7
  ! An internal invariant failed (a bug).
  integer(c_int32_t), parameter :: KN_ERR_INTERNAL = -8

  ! Options of `kn_cg_csr_f32`/`kn_cg_csr_f64`.
  type, bind(C) :: kn_cg_opts
    ! `sizeof` of this struct as the caller compiled it; `kn_cg_opts_default()`
    ! fills it in.
    ! The library reads only the fields that fit in `size` bytes (later fields take
    ! their defaults); `size` below the first version of the struct (version 0.2.0)
    ! or above what the library knows (a newer header) is `KN_ERR_ARGUMENT`.
    integer(c_int32_t) :: size
    ! Stop when `||b - A x|| / ||b|| <= tol`; > 0 and finite.
    real(c_double) :: tol
    ! Iteration cap; > 0.
    integer(c_int32_t) :: max_iter
    ! `KN_PRECOND_NONE`, `KN_PRECOND_JACOBI` or `KN_PRECOND_SSOR`.
    integer(c_int32_t) :: precond
    ! SSOR relaxation factor in (0, 2); ignored by the other preconditioners.
    real(c_double) :: omega
  end type kn_cg_opts

  ! What an iterative kernel reports. The pointer a kernel takes may be NULL.
  type, bind(C) :: kn_report
    ! Outer iterations done; saturates at UINT32_MAX (never wraps).
    integer(c_int32_t) :: iterations
    ! Inner iterations summed over the outer ones (e.g. CG steps); 0 if none.
    ! Saturates at UINT32_MAX (never wraps): that value means at least as many.
    integer(c_int32_t) :: inner_iterations
    ! The stopping measure at exit (see each kernel).
    real(c_double) :: error
    ! A kernel-specific scalar, e.g. the transport cost <P, C>.
    real(c_double) :: value
    ! 1 if error <= tol, else 0.
    integer(c_int32_t) :: converged
  end type kn_report

  ! A validated square CSR matrix: the caller's `indptr`, `indices` and `values`
  ! arrays, checked once by `kn_csr_init_f32`/`_f64` (structure, a nonzero diagonal
  ! entry in every row, finite values) so that the `*_csr_h_*` functions, called many
  ! times, do not read the whole matrix again to check it. Opaque, fixed size, owned
  ! by the caller; it holds the three pointers, not copies: the arrays must stay
  ! valid and unchanged while the handle is used (after changing them, call init
  ! again). A handle whose arrays changed after init is the caller's responsibility,
  ! as with `kn_h2o_cache`: the library then computes garbage or returns
  ! `KN_ERR_INTERNAL`, but still never writes outside the arrays it is given. Every
  ! call checks the handle itself (magic word, element type, checksum) and answers
  ! `KN_ERR_ARGUMENT` for anything `kn_csr_init_*` did not write.
  type, bind(C) :: kn_csr
    ! Private to the library.
    integer(c_int64_t) :: opaque(KN_CSR_WORDS)
  end type kn_csr

  ! An H2O KV cache with a fixed budget of `sink + heavy + recent` slots per kv head.
  !
  ! The fields are public and the buffers are the caller's; `kn_h2o_cache_init` fills
  ! the struct and every call checks it again (sizes, `len <= budget`, `next_pos >=
  ! len`, pointers non-NULL, aligned and not overlapping, stored positions below
  ! `next_pos`) before touching a buffer. Slot `s` of kv head `g` is at
  ! `k[(g * budget + s) * d]`, `v[...]`, `score[g * budget + s]`, `pos[g * budget + s]`;
  ! slots `0..len` are in use.
  type, bind(C) :: kn_h2o_cache
    ! Number of kv heads.
    integer(c_size_t) :: n_kv_heads
    ! Head dimension.
    integer(c_size_t) :: d
    ! Attention sinks per kv head.
    integer(c_size_t) :: sink
    ! Heavy-hitter slots per kv head.
    integer(c_size_t) :: heavy
    ! Recent-window slots per kv head.
    integer(c_size_t) :: recent
    ! Slots in use per kv head (the same for every kv head).
    integer(c_size_t) :: len
    ! Position the next token gets (tokens seen so far).
    integer(c_int64_t) :: next_pos
    ! Keys, `[n_kv_heads][sink+heavy+recent][d]`.
    type(c_ptr) :: k
    ! Values, `[n_kv_heads][sink+heavy+recent][d]`.
    type(c_ptr) :: v
    ! Accumulated scores, `[n_kv_heads][sink+heavy+recent]`.
    type(c_ptr) :: score
    ! Token position of each slot, `[n_kv_heads][sink+heavy+recent]`.
    type(c_ptr) :: pos
  end type kn_h2o_cache

  ! Options of `kn_scale_*` and `kn_sinkhorn_*`.
  type, bind(C) :: kn_sinkhorn_opts
    ! `sizeof` of this struct as the caller compiled it; `kn_sinkhorn_opts_default()`
    ! fills it in.
    ! The library reads only the fields that fit in `size` bytes (later fields take
    ! their defaults): 32 is the 0.2 struct (up to `check_every`), `sizeof` today's;
    ! any other `size` (below the first version, between versions, or above what
    ! the library knows: a newer header) is `KN_ERR_ARGUMENT`.
    integer(c_int32_t) :: size
    ! Entropic regularisation epsilon > 0, finite (ignored by `kn_scale_*`).
    real(c_double) :: reg
    ! Stop when the L1 marginal error is <= tol; > 0.
    real(c_double) :: tol
    ! Iteration cap; > 0.
    integer(c_int32_t) :: max_iter
    ! Compute the error every `check_every` iterations (and at the cap); 0 means 1.
    ! A check costs O(n + m), not a pass over the matrix.
    integer(c_int32_t) :: check_every
    ! (Since 0.3; `kn_sinkhorn_*` only, host only.) How the log-domain solver
    ! iterates: `KN_SINKHORN_AUTO` (the default: absorption when `plan` is given,
    ! else the log domain), `KN_SINKHORN_LOG` (one exponential per entry per
    ! iteration), `KN_SINKHORN_ABSORB` (scalings on a stabilised kernel kept in
    ! `plan`, absorbed into the potentials when they leave a bounded range:
    ! kernel-mode speed, log-domain stability, the same results to rounding;
    ! `plan` NULL is `KN_ERR_ARGUMENT`). Another value is `KN_ERR_ARGUMENT`. The
    ! CUDA backend runs the log domain: `KN_SINKHORN_ABSORB` there is
    ! `KN_ERR_UNSUPPORTED`.
    integer(c_int32_t) :: method
    ! Padding (keeps `eps_scaling` 8-byte aligned); ignored, set it to 0.
    integer(c_int32_t) :: reserved
    ! (Since 0.3; `kn_sinkhorn_*` only, host only.) Epsilon scaling: 0 (the
    ! default) solves at `reg` directly; a factor q in (0, 1) first solves at
    ! `reg_start * q^k` for k = 0, 1, ... while above `reg`, each stage warm
    ! started from the last and stopped at an L1 error of max(tol, 1e-3) (checked
    ! every iteration), then at `reg` to `tol` (`iterations` counts every stage;
    ! all stay within `max_iter`). Negative, NaN, or >= 1 is `KN_ERR_ARGUMENT`. The CUDA backend
    ! and `kn_sinkhorn_batch_*` do not scale: a nonzero value there is
    ! `KN_ERR_UNSUPPORTED` (CUDA) or `KN_ERR_ARGUMENT` (batch).
    real(c_double) :: eps_scaling
    ! (Since 0.3.) The first regularisation of epsilon scaling; 0 (the default)
    ! means max|C|. Negative, NaN or infinite is `KN_ERR_ARGUMENT`.
    real(c_double) :: reg_start
    ! (Since 0.3; `kn_sinkhorn_*` and `kn_sinkhorn_points_*`, host only.)
    ! Over-relaxation: 0 (the default) is the plain iteration; omega in (0, 2)
    ! blends each update as `f <- f + omega (f_sinkhorn - f)` (likewise g);
    ! `KN_SINKHORN_OVERRELAX_AUTO` runs the plain iteration for at least 20
    ! iterations, measures its convergence rate theta between two checks and then
    ! uses omega = 2 / (1 + sqrt(1 - theta)) (Lehmann et al. 2022), which near the
    ! solution converges at about omega - 1 per iteration instead of theta: often
    ! 5x fewer iterations at small `reg`. Either returns to the plain iteration
    ! for the rest of the solve when the error at a check is not below the error
    ! 20 or more iterations before. Each stage of epsilon scaling relaxes on its
    ! own. Another value (NaN, <= 0 other than the two above, >= 2) is
    ! `KN_ERR_ARGUMENT`; nonzero with `kn_sinkhorn_batch_*` is `KN_ERR_ARGUMENT`,
    ! with CUDA `KN_ERR_UNSUPPORTED`; ignored by `kn_scale_*`.
    real(c_double) :: overrelax
  end type kn_sinkhorn_opts

  ! The H2O budget per kv head and the logit scale.
  !
  ! Each kv head keeps `sink + heavy + recent` tokens: the first `sink` positions, the
  ! `recent` newest (the current token included) and heavy hitters chosen by
  ! accumulated attention. The sum must be at least 1 and `heavy + recent` at least 1.
  type, bind(C) :: kn_h2o_opts
    ! `sizeof` of this struct as the caller compiled it; `kn_h2o_opts_default()`
    ! fills it in.
    ! The library reads only the fields that fit in `size` bytes (later fields take
    ! their defaults); `size` below the first version of the struct (version 0.2.0)
    ! or above what the library knows (a newer header) is `KN_ERR_ARGUMENT`.
    integer(c_int32_t) :: size
    ! First positions never evicted (attention sinks).
    integer(c_size_t) :: sink
    ! Slots for heavy hitters (lowest accumulated score evicted first).
    integer(c_size_t) :: heavy
    ! Newest positions never evicted, the current token included.
    integer(c_size_t) :: recent
    ! Logit scale; 0 means 1/sqrt(d). Must be finite.
    real(c_float) :: scale
  end type kn_h2o_opts

  ! An H2O KV cache like `kn_h2o_cache` whose keys and values are stored as `kn_f16`
  ! (`kn_h2o_cache_init_f16`, `kn_h2o_decode_f16`): a sibling struct rather than an
  ! element-type field, so that C's type checker keeps each cache with its own decode.
  ! The fields, layout and rules are `kn_h2o_cache`'s; scores stay `float`.
  type, bind(C) :: kn_h2o_cache_f16
    ! Number of kv heads.
    integer(c_size_t) :: n_kv_heads
    ! Head dimension.
    integer(c_size_t) :: d
    ! Attention sinks per kv head.
    integer(c_size_t) :: sink
    ! Heavy-hitter slots per kv head.
    integer(c_size_t) :: heavy
    ! Recent-window slots per kv head.
    integer(c_size_t) :: recent
    ! Slots in use per kv head (the same for every kv head).
    integer(c_size_t) :: len
    ! Position the next token gets (tokens seen so far).
    integer(c_int64_t) :: next_pos
    ! Keys, `[n_kv_heads][sink+heavy+recent][d]`.
    type(c_ptr) :: k
    ! Values, `[n_kv_heads][sink+heavy+recent][d]`.
    type(c_ptr) :: v
    ! Accumulated scores, `[n_kv_heads][sink+heavy+recent]`.
    type(c_ptr) :: score
    ! Token position of each slot, `[n_kv_heads][sink+heavy+recent]`.
    type(c_ptr) :: pos
  end type kn_h2o_cache_f16

  ! An H2O KV cache like `kn_h2o_cache` whose keys and values are stored as `kn_bf16`
  ! (`kn_h2o_cache_init_bf16`, `kn_h2o_decode_bf16`); see `kn_h2o_cache_f16`.
  type, bind(C) :: kn_h2o_cache_bf16
    ! Number of kv heads.
    integer(c_size_t) :: n_kv_heads
    ! Head dimension.
    integer(c_size_t) :: d
    ! Attention sinks per kv head.
    integer(c_size_t) :: sink
    ! Heavy-hitter slots per kv head.
    integer(c_size_t) :: heavy
    ! Recent-window slots per kv head.
    integer(c_size_t) :: recent
    ! Slots in use per kv head (the same for every kv head).
    integer(c_size_t) :: len
    ! Position the next token gets (tokens seen so far).
    integer(c_int64_t) :: next_pos
    ! Keys, `[n_kv_heads][sink+heavy+recent][d]`.
    type(c_ptr) :: k
    ! Values, `[n_kv_heads][sink+heavy+recent][d]`.
    type(c_ptr) :: v
    ! Accumulated scores, `[n_kv_heads][sink+heavy+recent]`.
    type(c_ptr) :: score
    ! Token position of each slot, `[n_kv_heads][sink+heavy+recent]`.
    type(c_ptr) :: pos
  end type kn_h2o_cache_bf16

  ! A pager: fixed-size state, opaque to the caller, that refers to the workspace
  ! given to `kn_pager_init`. Copying it does not copy the cache: two copies share
  ! one workspace and must not both be used.
  type, bind(C) :: kn_pager
    ! Opaque; validated (magic word, checksum, invariants) on every call.
    integer(c_int64_t) :: opaque(KN_PAGER_WORDS)
  end type kn_pager

  ! What one request did.
  type, bind(C) :: kn_access
    ! 1 if the page was cached, else 0.
    integer(c_int32_t) :: hit
    ! 1 if a page was evicted to make room, else 0.
    integer(c_int32_t) :: evicted
    ! The evicted page when `evicted` is 1; 0 otherwise.
    integer(c_int64_t) :: evicted_page
  end type kn_access

  ! Options of `kn_sinkhorn_unbalanced_*`.
  type, bind(C) :: kn_unbalanced_opts
    ! `sizeof` of this struct as the caller compiled it;
    ! `kn_unbalanced_opts_default()` fills it in. The library reads only the fields
    ! that fit in `size` bytes (later fields take their defaults); `size` below the
    ! first version of the struct (version 0.2.0) or above what the library knows
    ! is `KN_ERR_ARGUMENT`.
    integer(c_int32_t) :: size
    ! Entropic regularisation reg > 0, finite.
    real(c_double) :: reg
    ! KL penalty on the row marginal P 1 against a: >= 0, or INFINITY for the
    ! constraint P 1 = a.
    real(c_double) :: reg_m1
    ! KL penalty on the column marginal P^T 1 against b: >= 0, or INFINITY for the
    ! constraint P^T 1 = b.
    real(c_double) :: reg_m2
    ! Stop when the change of the potentials in one iteration,
    ! (max_i |df_i| + max_j |dg_j|) / (2 reg), is <= tol; > 0.
    real(c_double) :: tol
    ! Iteration cap; > 0.
    integer(c_int32_t) :: max_iter
    ! Measure the change every `check_every` iterations (and at the cap); 0 means 1.
    integer(c_int32_t) :: check_every
  end type kn_unbalanced_opts

  ! Options of `kn_sns_*`.
  !
  ! Work cap: a solve does at most `sinkhorn_iters` Sinkhorn iterations and
  ! `max_newton` Newton-stage steps; each step runs at most `cg_max_iter` CG iterations
  ! (each O(kept entries)) and up to 31 line-search evaluations (O(n*m) each). The CG
  ! work is bounded only by the product, `max_newton * cg_max_iter` iterations in all
  ! (default 100 * (n + m); `cg_max_iter` = 3e9 with `max_newton` = 100 allows 3e11):
  ! choose both to bound the run time. The report's counters saturate at UINT32_MAX.
  type, bind(C) :: kn_sns_opts
    ! `sizeof` of this struct as the caller compiled it; `kn_sns_opts_default()`
    ! fills it in.
    ! The library reads only the fields that fit in `size` bytes (later fields take
    ! their defaults); `size` below the first version of the struct (version 0.2.0)
    ! or above what the library knows (a newer header) is `KN_ERR_ARGUMENT`.
    integer(c_int32_t) :: size
    ! Entropic regularisation epsilon > 0, finite.
    real(c_double) :: reg
    ! Stop when the L1 marginal error is <= tol; > 0.
    real(c_double) :: tol
    ! Sinkhorn iterations before the Newton stage (the paper's N1); may be 0.
    integer(c_int32_t) :: sinkhorn_iters
    ! Newton-stage steps cap; may be 0 (but not together with sinkhorn_iters).
    integer(c_int32_t) :: max_newton
    ! The most plan entries kept in the sparsified Hessian, as a fraction of
    ! n*m, in (0, 1]; 0 means the default max(0.1, 8 / min(n, m)), at most 1.
    ! Below the cap only the largest entries holding all but 1e-15 of the plan's
    ! mass are kept. The cap must cover the plan's effective support, else
    ! Newton converges only linearly.
    real(c_double) :: density
    ! CG iterations per Newton step (not per solve: see the work cap above); 0
    ! means n + m.
    integer(c_int32_t) :: cg_max_iter
    ! Relative residual of the Newton system, in (0, 1); 0 means 1e-10 (f64)
    ! or 1e-5 (f32).
    real(c_double) :: cg_tol
  end type kn_sns_opts

  ! The state of an omega tuner: opaque, owned by the caller, fixed size, no pointers
  ! (it may be copied, saved and restored). Initialise it with `kn_omega_tuner_init`
  ! or `kn_omega_tuner_init_contextual`; every call validates it first and answers
  ! `KN_ERR_ARGUMENT` for anything that is not a state the library wrote.
  type, bind(C) :: kn_omega_tuner
    ! Private to the library.
    integer(c_int64_t) :: opaque(KN_OMEGA_TUNER_WORDS)
  end type kn_omega_tuner

  interface

    ! The default options of `kn_cg_csr_*`, with `size` filled in: `tol` = 1e-8,
    ! `max_iter` = 1000, `precond` = `KN_PRECOND_JACOBI`, `omega` = 1 (used only if
    ! `precond` is set to `KN_PRECOND_SSOR`: symmetric Gauss-Seidel). Start from these
    ! and set the fields you need, so that fields added later keep their defaults.
    function kn_cg_opts_default() &
        bind(C, name="kn_cg_opts_default") result(kn_result)
      import
      type(kn_cg_opts) :: kn_result
    end function kn_cg_opts_default

    ! Workspace bytes of `kn_cg_csr_f32`/`kn_cg_csr_f64` for order `n` (the larger of
    ! the two types, so one query serves both; the same for every preconditioner).
    !
    ! Status: `KN_OK`; `KN_ERR_NULL` (`bytes` NULL); `KN_ERR_DIMENSION` (`n` = 0, or
    ! the size overflows).
    !
    ! # Safety
    ! `bytes` must be NULL or valid for one write.
    function kn_cg_work_bytes(n, bytes) &
        bind(C, name="kn_cg_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_cg_work_bytes

    ! Solves `A x = b` (f32) for a symmetric positive definite `n x n` matrix `A` in
    ! CSR form (both triangles stored) by preconditioned conjugate gradients, from the
    ! initial guess in `x`, until `||b - A x|| / ||b|| <= opts->tol` (the absolute
    ! residual when b = 0) or `opts->max_iter` iterations. Symmetry is not checked.
    !
    ! Arguments: `indptr` (n + 1), `indices` (`indptr[n]`, strictly increasing within a
    ! row, < n) and `values` (`indptr[n]`) are A; every diagonal entry must be stored
    ! and nonzero. `b` (n) the right-hand side; `x` (n) the initial guess in, the
    ! solution out; `opts` the tolerance, the iteration cap and the preconditioner
    ! (`KN_PRECOND_NONE`, `KN_PRECOND_JACOBI`, or `KN_PRECOND_SSOR` with `omega` in
    ! (0, 2)); `work`/`work_bytes` as `kn_cg_work_bytes` says (any alignment); `rep`
    ! (nullable) receives `iterations` = CG iterations, `error` = the relative residual
    ! `||b - A x|| / ||b||` of the returned x, `converged`.
    !
    ! Status: `KN_OK` (converged); `KN_NOT_CONVERGED` (x holds the last iterate, rep is
    ! filled); `KN_ERR_NULL` (a NULL array or opts); `KN_ERR_DIMENSION` (n = 0, sizes
    ! that overflow); `KN_ERR_WORKSPACE` (work too small); `KN_ERR_ARGUMENT` (a
    ! malformed CSR structure, a zero or missing diagonal entry, tol not positive and
    ! finite, max_iter = 0, an unknown preconditioner, an SSOR omega outside (0, 2),
    ! misaligned or overlapping arrays); `KN_ERR_NON_FINITE` (NaN or infinity in
    ! values, b or x); `KN_ERR_NUMERICAL` found before the iteration (a negative
    ! diagonal entry: A is not positive definite): on all of these x and rep are
    ! untouched. `KN_ERR_NUMERICAL` during the iteration (a curvature `p^T A p <= 0`,
    ! which proves A is not positive definite, or an overflow): x holds the last
    ! iterate, rep is not written.
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values given above, valid for
    ! the call.
    function kn_cg_csr_f32(n, indptr, indices, values, b, x, opts, work, work_bytes, rep) &
        bind(C, name="kn_cg_csr_f32") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), intent(in), optional :: indptr(*)
      integer(c_int32_t), intent(in), optional :: indices(*)
      real(c_float), intent(in), optional :: values(*)
      real(c_float), intent(in), optional :: b(*)
      real(c_float), intent(inout), optional :: x(*)
      type(kn_cg_opts), intent(in), optional :: opts
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_cg_csr_f32

    ! Preconditioned conjugate gradients on a CSR matrix (f64); see `kn_cg_csr_f32`.
    !
    ! # Safety
    ! As for `kn_cg_csr_f32`.
    function kn_cg_csr_f64(n, indptr, indices, values, b, x, opts, work, work_bytes, rep) &
        bind(C, name="kn_cg_csr_f64") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), intent(in), optional :: indptr(*)
      integer(c_int32_t), intent(in), optional :: indices(*)
      real(c_double), intent(in), optional :: values(*)
      real(c_double), intent(in), optional :: b(*)
      real(c_double), intent(inout), optional :: x(*)
      type(kn_cg_opts), intent(in), optional :: opts
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_cg_csr_f64

    ! `kn_cg_csr_f32` on a matrix checked once by `kn_csr_init_f32`: the same solve and
    ! statuses, without reading the whole matrix to validate it (the handle's contract:
    ! its arrays are unchanged since init). A handle that `kn_csr_init_f32` did not
    ! write (or wrote for f64) is `KN_ERR_ARGUMENT`.
    !
    ! # Safety
    ! `h` must be NULL or point to a readable `kn_csr` whose arrays are still valid;
    ! the rest as for `kn_cg_csr_f32`.
    function kn_cg_csr_h_f32(h, b, x, opts, work, work_bytes, rep) &
        bind(C, name="kn_cg_csr_h_f32") result(kn_result)
      import
      type(kn_csr), intent(in), optional :: h
      real(c_float), intent(in), optional :: b(*)
      real(c_float), intent(inout), optional :: x(*)
      type(kn_cg_opts), intent(in), optional :: opts
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_cg_csr_h_f32

    ! `kn_cg_csr_h_f32` for f64 (a handle from `kn_csr_init_f64`).
    !
    ! # Safety
    ! As for `kn_cg_csr_h_f32`.
    function kn_cg_csr_h_f64(h, b, x, opts, work, work_bytes, rep) &
        bind(C, name="kn_cg_csr_h_f64") result(kn_result)
      import
      type(kn_csr), intent(in), optional :: h
      real(c_double), intent(in), optional :: b(*)
      real(c_double), intent(inout), optional :: x(*)
      type(kn_cg_opts), intent(in), optional :: opts
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_cg_csr_h_f64

    ! Checks the `n x n` CSR matrix (f32) once and writes a handle to it for
    ! `kn_sor_csr_h_f32`, `kn_sor_solve_csr_h_f32` and `kn_cg_csr_h_f32`.
    !
    ! Arguments: `indptr` (n + 1), `indices` (`indptr[n]`, strictly increasing within a
    ! row, < n) and `values` (`indptr[n]`), as `kn_sor_csr_f32` takes them; they must
    ! stay valid and unchanged while the handle is used.
    !
    ! Status: `KN_OK`; `KN_ERR_NULL` (a NULL array or `h`); `KN_ERR_DIMENSION` (n = 0,
    ! or sizes that overflow); `KN_ERR_ARGUMENT` (a malformed structure, a zero or
    ! missing diagonal entry, misaligned arrays); `KN_ERR_NON_FINITE` (NaN or infinity
    ! in values): on all of these `*h` is untouched.
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values given above; `h` to one
    ! writable `kn_csr`.
    function kn_csr_init_f32(h, n, indptr, indices, values) &
        bind(C, name="kn_csr_init_f32") result(kn_result)
      import
      type(kn_csr), intent(inout), optional :: h
      integer(c_size_t), value :: n
      integer(c_size_t), intent(in), optional :: indptr(*)
      integer(c_int32_t), intent(in), optional :: indices(*)
      real(c_float), intent(in), optional :: values(*)
      integer(c_int32_t) :: kn_result
    end function kn_csr_init_f32

    ! `kn_csr_init_f32` for f64 values (a handle for the `_f64` functions).
    !
    ! # Safety
    ! As for `kn_csr_init_f32`.
    function kn_csr_init_f64(h, n, indptr, indices, values) &
        bind(C, name="kn_csr_init_f64") result(kn_result)
      import
      type(kn_csr), intent(inout), optional :: h
      integer(c_size_t), value :: n
      integer(c_size_t), intent(in), optional :: indptr(*)
      integer(c_int32_t), intent(in), optional :: indices(*)
      real(c_double), intent(in), optional :: values(*)
      integer(c_int32_t) :: kn_result
    end function kn_csr_init_f64

    ! 1 if the `kn_cuda_*` functions can run here (the library was built with CUDA
    ! support, and a CUDA driver, a device and NVRTC were found), else 0. Never fails.
    function kn_cuda_available() &
        bind(C, name="kn_cuda_available") result(kn_result)
      import
      integer(c_int32_t) :: kn_result
    end function kn_cuda_available

    ! Device workspace size of `kn_cuda_h2o_decode_f32` for this cache and `n_heads`
    ! query heads, in bytes (device memory; any alignment).
    !
    ! `c` is a host `kn_h2o_cache` whose `k`, `v`, `score` and `pos` are device pointers
    ! (not read here). Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC,
    ! or a build without CUDA; checked first); KN_ERR_NULL (`c` or `bytes` NULL);
    ! KN_ERR_DIMENSION (`n_heads` 0 or not a multiple of `c->n_kv_heads`, a size of the
    ! cache 0 or overflowing); KN_ERR_ARGUMENT (budget 0, `heavy + recent == 0`, `len`
    ! over the budget).
    !
    ! # Safety
    ! `c` must be NULL or point to a `kn_h2o_cache`; `bytes` NULL or valid for writing.
    function kn_cuda_h2o_decode_work_bytes(c, n_heads, bytes) &
        bind(C, name="kn_cuda_h2o_decode_work_bytes") result(kn_result)
      import
      type(kn_h2o_cache), intent(in), optional :: c
      integer(c_size_t), value :: n_heads
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_cuda_h2o_decode_work_bytes

    ! One H2O decode step on the GPU: `kn_h2o_decode_f32` with the cache's arrays, the
    ! inputs, `out` and `work` in device memory.
    !
    ! Memory: `c` itself is HOST memory (read, and its `len` and `next_pos` updated, by
    ! the host); `c->k`, `c->v`, `c->score`, `c->pos` are DEVICE pointers in the host
    ! layout (`[n_kv_heads][budget][d]`, `[n_kv_heads][budget]`); `q`, `out`
    ! (`[n_heads][d]`), `k_new`, `v_new` (`[n_kv_heads][d]`) and `work` (at least
    ! `kn_cuda_h2o_decode_work_bytes` bytes, any alignment) are DEVICE pointers. Set up
    ! the struct by filling its fields (`len = 0`, `next_pos = 0` for an empty cache):
    ! `kn_h2o_cache_init` is for host buffers. `stream`: a CUstream of the current
    ! device's primary context, NULL for the default stream.
    !
    ! Same rule and results as `kn_h2o_decode_f32` (to rounding: the sums run in another
    ! order). The values (finiteness of q, k_new, v_new; stored positions below
    ! `next_pos`; an evictable slot) are checked by a read-only kernel before anything is
    ! written. Synchronises `stream` (twice: after the check and at the end).
    !
    ! Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
    ! without CUDA; checked first); KN_ERR_NULL; KN_ERR_DIMENSION; KN_ERR_ARGUMENT (as
    ! the host function, and device pointers that are misaligned or overlap);
    ! KN_ERR_NON_FINITE; KN_ERR_WORKSPACE. On these neither the cache nor `out` was
    ! written. KN_ERR_NUMERICAL: the logits overflowed; the token was inserted (`len`,
    ! `next_pos` advanced), `out` holds unspecified values, no score changed.
    ! KN_ERR_INTERNAL: a launch or copy failed.
    !
    ! # Safety
    ! `c` must be NULL or point to a valid `kn_h2o_cache` whose arrays are device
    ! allocations valid for its fields; the other pointers NULL or device allocations
    ! valid for their lengths; no output used elsewhere until the call returns.
    function kn_cuda_h2o_decode_f32(c, n_heads, q, k_new, v_new, scale, out, work, &
        work_bytes, stream) &
        bind(C, name="kn_cuda_h2o_decode_f32") result(kn_result)
      import
      type(kn_h2o_cache), intent(inout), optional :: c
      integer(c_size_t), value :: n_heads
      type(c_ptr), value :: q
      type(c_ptr), value :: k_new
      type(c_ptr), value :: v_new
      real(c_float), value :: scale
      type(c_ptr), value :: out
      type(c_ptr), value :: work
      integer(c_size_t), value :: work_bytes
      type(c_ptr), value :: stream
      integer(c_int32_t) :: kn_result
    end function kn_cuda_h2o_decode_f32

    ! Device workspace size of `kn_cuda_linattn_forward_f32` for these sizes and `chunk`
    ! (0 = 64), in bytes (device memory, any alignment), written to `*bytes`: about
    ! `(ceil(len / chunk) + 1) * n_heads * dk * dv * 4` (the state before every chunk).
    !
    ! Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
    ! without CUDA; checked first); KN_ERR_NULL (`bytes` NULL); KN_ERR_DIMENSION (a size
    ! is zero or overflows).
    !
    ! # Safety
    ! `bytes` is NULL or valid for one write.
    function kn_cuda_linattn_work_bytes(n_heads, len, dk, dv, chunk, bytes) &
        bind(C, name="kn_cuda_linattn_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      integer(c_size_t), value :: chunk
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_cuda_linattn_work_bytes

    ! Causal linear attention on the GPU: `kn_linattn_forward_f32` with `q`, `k`, `v`,
    ! `decay`, `state_in`, `out`, `state_out` and `work` in DEVICE memory, launched on
    ! `stream` (a CUstream of the current device's primary context; NULL = the default
    ! stream).
    !
    ! `S_t = decay * S_{t-1} + k_t^T v_t`, `o_t = scale * q_t S_t` (token `t` included)
    ! from `S_0 = state_in`. Layouts: `q`, `k` `[n_heads][len][dk]`; `v`, `out`
    ! `[n_heads][len][dv]`; `decay` `[n_heads]` in (0, 1] or NULL (1); `scale` 0 means
    ! `1/sqrt(dk)`; `state_in`, `state_out` `[n_heads][dk][dv]` or NULL. `chunk`: tokens
    ! per chunk, 0 for 64 (the result does not depend on it beyond rounding). `work`: at
    ! least `kn_cuda_linattn_work_bytes` bytes of device memory, any alignment.
    !
    ! Same results as the host function to rounding (sums in another order). The values
    ! (decay range, finiteness of the inputs) are checked by a read-only kernel before
    ! anything is written. Synchronises `stream` (after that check and at the end).
    !
    ! Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
    ! without CUDA; checked first); KN_ERR_NULL; KN_ERR_DIMENSION; KN_ERR_WORKSPACE
    ! (checked before the values: their verdict goes to `work`); KN_ERR_ARGUMENT (a decay
    ! outside (0, 1], a misaligned or overlapping device array); KN_ERR_NON_FINITE (NaN or
    ! infinity in an input, the decay or the scale). On these nothing but `work` was
    ! written. KN_ERR_NUMERICAL: a value overflowed; `out` and `state_out` hold the
    ! computed values. KN_ERR_INTERNAL: a launch or copy failed.
    !
    ! # Safety
    ! Every pointer but `stream` is NULL or a device allocation valid for its documented
    ! length (`work`: `work_bytes` bytes); no output used elsewhere until the call returns.
    function kn_cuda_linattn_forward_f32(n_heads, len, dk, dv, q, k, v, decay, scale, &
        state_in, out, state_out, chunk, work, work_bytes, stream) &
        bind(C, name="kn_cuda_linattn_forward_f32") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      type(c_ptr), value :: q
      type(c_ptr), value :: k
      type(c_ptr), value :: v
      type(c_ptr), value :: decay
      real(c_float), value :: scale
      type(c_ptr), value :: state_in
      type(c_ptr), value :: out
      type(c_ptr), value :: state_out
      integer(c_size_t), value :: chunk
      type(c_ptr), value :: work
      integer(c_size_t), value :: work_bytes
      type(c_ptr), value :: stream
      integer(c_int32_t) :: kn_result
    end function kn_cuda_linattn_forward_f32

    ! Device workspace size of `kn_cuda_linattn_chunk_state_f32`, in bytes (device
    ! memory, any alignment), written to `*bytes`: about
    ! `ceil(len / 64) * n_heads * dk * dv * 4` (one state per 64-token segment).
    !
    ! Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
    ! without CUDA; checked first); KN_ERR_NULL (`bytes` NULL); KN_ERR_DIMENSION (a size
    ! is zero or overflows).
    !
    ! # Safety
    ! `bytes` is NULL or valid for one write.
    function kn_cuda_linattn_chunk_state_work_bytes(n_heads, len, dk, dv, bytes) &
        bind(C, name="kn_cuda_linattn_chunk_state_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_cuda_linattn_chunk_state_work_bytes

    ! A chunk's own state on the GPU: `kn_linattn_chunk_state_f32` with `k`
    ! (`[n_heads][len][dk]`), `v` (`[n_heads][len][dv]`), `decay` (`[n_heads]` or NULL),
    ! `state` (`[n_heads][dk][dv]`, receives `sum_t decay^(len-1-t) k_t^T v_t`) and `work`
    ! (at least `kn_cuda_linattn_chunk_state_work_bytes` bytes, any alignment) in DEVICE
    ! memory, launched on `stream` (a CUstream of the current device's primary context;
    ! NULL = the default stream). Same results as the host function to rounding; the
    ! values are checked by a read-only kernel first. Synchronises `stream`.
    !
    ! Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
    ! without CUDA; checked first); KN_ERR_NULL; KN_ERR_DIMENSION; KN_ERR_WORKSPACE;
    ! KN_ERR_ARGUMENT (a decay outside (0, 1], a misaligned or overlapping device array);
    ! KN_ERR_NON_FINITE. On these nothing but `work` was written. KN_ERR_NUMERICAL: a
    ! value overflowed; `state` holds the computed values. KN_ERR_INTERNAL: a launch or
    ! copy failed.
    !
    ! # Safety
    ! Every pointer but `stream` is NULL or a device allocation valid for its documented
    ! length (`work`: `work_bytes` bytes); no output used elsewhere until the call returns.
    function kn_cuda_linattn_chunk_state_f32(n_heads, len, dk, dv, k, v, decay, state, &
        work, work_bytes, stream) &
        bind(C, name="kn_cuda_linattn_chunk_state_f32") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      type(c_ptr), value :: k
      type(c_ptr), value :: v
      type(c_ptr), value :: decay
      type(c_ptr), value :: state
      type(c_ptr), value :: work
      integer(c_size_t), value :: work_bytes
      type(c_ptr), value :: stream
      integer(c_int32_t) :: kn_result
    end function kn_cuda_linattn_chunk_state_f32

    ! Device workspace size of `kn_cuda_linattn_state_scan_f32`, in bytes (device memory,
    ! any alignment; a few words for the checks' verdicts), written to `*bytes`.
    !
    ! Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
    ! without CUDA; checked first); KN_ERR_NULL (`bytes` NULL); KN_ERR_DIMENSION (a size
    ! is zero or overflows).
    !
    ! # Safety
    ! `bytes` is NULL or valid for one write.
    function kn_cuda_linattn_state_scan_work_bytes(n_chunks, n_heads, dk, dv, bytes) &
        bind(C, name="kn_cuda_linattn_state_scan_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n_chunks
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_cuda_linattn_state_scan_work_bytes

    ! The LASP-2 reduction on the GPU: `kn_linattn_state_scan_f32` with `chunk_lens`
    ! (`[n_chunks]` token counts), `decay` (`[n_heads]` or NULL), `states` and `prefix`
    ! (`[n_chunks][n_heads][dk][dv]`) and `work` (at least
    ! `kn_cuda_linattn_state_scan_work_bytes` bytes, any alignment) in DEVICE memory,
    ! launched on `stream` (a CUstream of the current device's primary context; NULL =
    ! the default stream). Writes `prefix[0] = 0` and
    ! `prefix[c + 1] = decay^(chunk_lens[c]) * prefix[c] + states[c]`, the `state_in` of
    ! chunk `c`. The values (chunk lengths, decay range, finiteness) are checked by a
    ! read-only kernel first. Synchronises `stream`.
    !
    ! Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
    ! without CUDA; checked first); KN_ERR_NULL; KN_ERR_DIMENSION (a size or a chunk
    ! length is zero, a size overflows, or the chunk lengths' sum overflows);
    ! KN_ERR_WORKSPACE; KN_ERR_ARGUMENT (a decay outside (0, 1], a misaligned or
    ! overlapping device array); KN_ERR_NON_FINITE. On these nothing but `work` was
    ! written. KN_ERR_NUMERICAL: a sum overflowed; `prefix` holds the computed values.
    ! KN_ERR_INTERNAL: a launch or copy failed.
    !
    ! # Safety
    ! Every pointer but `stream` is NULL or a device allocation valid for its documented
    ! length (`work`: `work_bytes` bytes); no output used elsewhere until the call returns.
    function kn_cuda_linattn_state_scan_f32(n_chunks, n_heads, dk, dv, chunk_lens, &
        decay, states, prefix, work, work_bytes, stream) &
        bind(C, name="kn_cuda_linattn_state_scan_f32") result(kn_result)
      import
      integer(c_size_t), value :: n_chunks
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      type(c_ptr), value :: chunk_lens
      type(c_ptr), value :: decay
      type(c_ptr), value :: states
      type(c_ptr), value :: prefix
      type(c_ptr), value :: work
      integer(c_size_t), value :: work_bytes
      type(c_ptr), value :: stream
      integer(c_int32_t) :: kn_result
    end function kn_cuda_linattn_state_scan_f32

    ! Device workspace size of `kn_cuda_linattn_gated_forward_f32` for these sizes and
    ! `chunk` (0 = 64), in bytes (device memory, any alignment), written to `*bytes`:
    ! `kn_cuda_linattn_work_bytes` and, per chunk, its decay per head (about
    ! `ceil(len / chunk) * n_heads * 4` more).
    !
    ! Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
    ! without CUDA; checked first); KN_ERR_NULL (`bytes` NULL); KN_ERR_DIMENSION (a size
    ! is zero or overflows).
    !
    ! # Safety
    ! `bytes` is NULL or valid for one write.
    function kn_cuda_linattn_gated_work_bytes(n_heads, len, dk, dv, chunk, bytes) &
        bind(C, name="kn_cuda_linattn_gated_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      integer(c_size_t), value :: chunk
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_cuda_linattn_gated_work_bytes

    ! Gated linear attention on the GPU: `kn_linattn_gated_forward_f32` with `q`, `k`,
    ! `v`, `g`, `state_in`, `out`, `state_out` and `work` in DEVICE memory, launched on
    ! `stream` (a CUstream of the current device's primary context; NULL = the default
    ! stream).
    !
    ! `S_t = exp(g_t) S_{t-1} + k_t^T v_t`, `o_t = scale * q_t S_t` (token `t` included)
    ! from `S_0 = state_in`. Arguments as for `kn_cuda_linattn_forward_f32`, with `g`
    ! (`[n_heads][len]`, required) the log gates, each `<= 0`, in place of `decay`;
    ! `work` at least `kn_cuda_linattn_gated_work_bytes` bytes. Inside a chunk the
    ! weights are exponentials of differences of prefix sums of the gates (summed in
    ! double precision), rounded once; weights below `FLT_MIN` count as 0.
    !
    ! Same results as the host function to rounding (sums in another order). The values
    ! (gates, finiteness of the inputs) are checked by a read-only kernel before anything
    ! is written. Synchronises `stream` (after that check and at the end).
    !
    ! Returns as `kn_cuda_linattn_forward_f32`, with KN_ERR_ARGUMENT for a positive gate
    ! and KN_ERR_NON_FINITE for a NaN or infinite one.
    !
    ! # Safety
    ! Every pointer but `stream` is NULL or a device allocation valid for its documented
    ! length (`work`: `work_bytes` bytes); no output used elsewhere until the call returns.
    function kn_cuda_linattn_gated_forward_f32(n_heads, len, dk, dv, q, k, v, g, scale, &
        state_in, out, state_out, chunk, work, work_bytes, stream) &
        bind(C, name="kn_cuda_linattn_gated_forward_f32") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      type(c_ptr), value :: q
      type(c_ptr), value :: k
      type(c_ptr), value :: v
      type(c_ptr), value :: g
      real(c_float), value :: scale
      type(c_ptr), value :: state_in
      type(c_ptr), value :: out
      type(c_ptr), value :: state_out
      integer(c_size_t), value :: chunk
      type(c_ptr), value :: work
      integer(c_size_t), value :: work_bytes
      type(c_ptr), value :: stream
      integer(c_int32_t) :: kn_result
    end function kn_cuda_linattn_gated_forward_f32

    ! Device workspace size of `kn_cuda_linattn_gated_chunk_state_f32`, in bytes (device
    ! memory, any alignment), written to `*bytes`: `kn_cuda_linattn_chunk_state_work_bytes`
    ! and each 64-token segment's decay per head (about `ceil(len / 64) * n_heads * 4`
    ! more).
    !
    ! Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
    ! without CUDA; checked first); KN_ERR_NULL (`bytes` NULL); KN_ERR_DIMENSION (a size
    ! is zero or overflows).
    !
    ! # Safety
    ! `bytes` is NULL or valid for one write.
    function kn_cuda_linattn_gated_chunk_state_work_bytes(n_heads, len, dk, dv, bytes) &
        bind(C, name="kn_cuda_linattn_gated_chunk_state_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_cuda_linattn_gated_chunk_state_work_bytes

    ! A gated chunk's own state on the GPU: `kn_linattn_gated_chunk_state_f32` with `k`
    ! (`[n_heads][len][dk]`), `v` (`[n_heads][len][dv]`), `g` (`[n_heads][len]` log gates
    ! `<= 0`, required), `state` (`[n_heads][dk][dv]`), `log_decay` (`[n_heads]`, each
    ! head's `sum_t g_t` summed in double precision, or NULL) and `work` (at least
    ! `kn_cuda_linattn_gated_chunk_state_work_bytes` bytes, any alignment) in DEVICE
    ! memory, launched on `stream` (a CUstream of the current device's primary context;
    ! NULL = the default stream). Same results as the host function to rounding; the
    ! values are checked by a read-only kernel first. Synchronises `stream`.
    !
    ! Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
    ! without CUDA; checked first); KN_ERR_NULL; KN_ERR_DIMENSION; KN_ERR_WORKSPACE;
    ! KN_ERR_ARGUMENT (a positive gate, a misaligned or overlapping device array);
    ! KN_ERR_NON_FINITE. On these nothing but `work` was written. KN_ERR_NUMERICAL: a
    ! value overflowed; `state` holds the computed values. KN_ERR_INTERNAL: a launch or
    ! copy failed.
    !
    ! # Safety
    ! Every pointer but `stream` is NULL or a device allocation valid for its documented
    ! length (`work`: `work_bytes` bytes); no output used elsewhere until the call returns.
    function kn_cuda_linattn_gated_chunk_state_f32(n_heads, len, dk, dv, k, v, g, &
        state, log_decay, work, work_bytes, stream) &
        bind(C, name="kn_cuda_linattn_gated_chunk_state_f32") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      type(c_ptr), value :: k
      type(c_ptr), value :: v
      type(c_ptr), value :: g
      type(c_ptr), value :: state
      type(c_ptr), value :: log_decay
      type(c_ptr), value :: work
      integer(c_size_t), value :: work_bytes
      type(c_ptr), value :: stream
      integer(c_int32_t) :: kn_result
    end function kn_cuda_linattn_gated_chunk_state_f32

    ! The LASP-2 reduction for gated chunks on the GPU: `kn_linattn_gated_state_scan_f32`
    ! with `log_decays` (`[n_chunks][n_heads]`, values `<= 0`), `states` and `prefix`
    ! (`[n_chunks][n_heads][dk][dv]`) and `work` (at least
    ! `kn_cuda_linattn_state_scan_work_bytes` bytes, any alignment) in DEVICE memory,
    ! launched on `stream` (a CUstream of the current device's primary context; NULL =
    ! the default stream). Writes `prefix[0] = 0` and
    ! `prefix[c + 1] = exp(log_decays[c]) * prefix[c] + states[c]` (the exponential in
    ! double precision, rounded once, 0 below `FLT_MIN`), the `state_in` of chunk `c`.
    ! The values are checked by a read-only kernel first. Synchronises `stream`.
    !
    ! Returns KN_OK; KN_ERR_UNSUPPORTED (no CUDA device, driver or NVRTC, or a build
    ! without CUDA; checked first); KN_ERR_NULL; KN_ERR_DIMENSION (a size is zero or
    ! overflows); KN_ERR_WORKSPACE; KN_ERR_ARGUMENT (a positive log decay, a misaligned or
    ! overlapping device array); KN_ERR_NON_FINITE. On these nothing but `work` was
    ! written. KN_ERR_NUMERICAL: a sum overflowed; `prefix` holds the computed values.
    ! KN_ERR_INTERNAL: a launch or copy failed.
    !
    ! # Safety
    ! Every pointer but `stream` is NULL or a device allocation valid for its documented
    ! length (`work`: `work_bytes` bytes); no output used elsewhere until the call returns.
    function kn_cuda_linattn_gated_state_scan_f32(n_chunks, n_heads, dk, dv, &
        log_decays, states, prefix, work, work_bytes, stream) &
        bind(C, name="kn_cuda_linattn_gated_state_scan_f32") result(kn_result)
      import
      integer(c_size_t), value :: n_chunks
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      type(c_ptr), value :: log_decays
      type(c_ptr), value :: states
      type(c_ptr), value :: prefix
      type(c_ptr), value :: work
      integer(c_size_t), value :: work_bytes
      type(c_ptr), value :: stream
      integer(c_int32_t) :: kn_result
    end function kn_cuda_linattn_gated_state_scan_f32

    ! Device workspace bytes of `kn_cuda_scale_f32` / `kn_cuda_scale_f64` for an
    ! `n x m` matrix (one query serves both types and any alignment of `work`).
    !
    ! Returns `KN_OK`, `KN_ERR_NULL` (`bytes` NULL), `KN_ERR_DIMENSION` (`n` or `m`
    ! zero, or the size overflows), `KN_ERR_UNSUPPORTED` (no CUDA support, driver,
    ! device or NVRTC; checked first).
    !
    ! # Safety
    ! `bytes` must be NULL or point to a writable `size_t` (host memory).
    function kn_cuda_scale_work_bytes(n, m, bytes) &
        bind(C, name="kn_cuda_scale_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_cuda_scale_work_bytes

    ! Device workspace bytes of `kn_cuda_sinkhorn_f32` / `kn_cuda_sinkhorn_f64` for an
    ! `n x m` cost matrix (one query serves both types and any alignment of `work`).
    !
    ! Returns `KN_OK`, `KN_ERR_NULL` (`bytes` NULL), `KN_ERR_DIMENSION` (`n` or `m`
    ! zero, or the size overflows), `KN_ERR_UNSUPPORTED` (no CUDA support, driver,
    ! device or NVRTC; checked first).
    !
    ! # Safety
    ! `bytes` must be NULL or point to a writable `size_t` (host memory).
    function kn_cuda_sinkhorn_work_bytes(n, m, bytes) &
        bind(C, name="kn_cuda_sinkhorn_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_cuda_sinkhorn_work_bytes

    ! Sinkhorn-Knopp matrix scaling on the device (f32): `kn_scale_f32` with device
    ! memory. Positive `u` (n), `v` (m) such that diag(u) K diag(v) has row sums `a`
    ! and column sums `b` (v = b / (K^T u), then u = a / (K v), each iteration).
    !
    ! - `K` (n*m, row-major), `a` (n), `b` (m), `u`, `v`: DEVICE pointers in the
    !   current device's primary context (what the CUDA runtime uses), aligned for
    !   the element type. Same requirements as `kn_scale_f32`: K nonnegative and
    !   finite, a and b positive with equal sums (relative 1e-6), u and v
    !   nonnegative and finite; u all zero is the cold start (ones).
    ! - `opts`, `rep` (nullable): HOST pointers; `rep` as for `kn_scale_f32`.
    ! - `work`: DEVICE memory of `work_bytes` >= `kn_cuda_scale_work_bytes(n, m)`
    !   bytes, any alignment.
    ! - `stream`: a `CUstream` (`cudaStream_t`) of that context, NULL for the
    !   default stream. The call synchronises it (it returns a report).
    !
    ! Returns the statuses of `kn_scale_f32`, checked in the same order before
    ! anything is written (the vectors are copied to the host and K is checked by a
    ! read-only kernel first), and `KN_ERR_UNSUPPORTED` when there is no CUDA
    ! support, driver, device or NVRTC (before any argument is looked at).
    ! `KN_ERR_NUMERICAL` during the iteration leaves the last finite u, v. A
    ! failing CUDA call is `KN_ERR_INTERNAL`.
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values its description gives
    ! in the memory it names, valid for the call; `stream` must be NULL or a live
    ! stream of the current device's primary context.
    function kn_cuda_scale_f32(n, m, K, a, b, opts, u, v, work, work_bytes, rep, stream) &
        bind(C, name="kn_cuda_scale_f32") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      type(c_ptr), value :: K
      type(c_ptr), value :: a
      type(c_ptr), value :: b
      type(kn_sinkhorn_opts), intent(in), optional :: opts
      type(c_ptr), value :: u
      type(c_ptr), value :: v
      type(c_ptr), value :: work
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      type(c_ptr), value :: stream
      integer(c_int32_t) :: kn_result
    end function kn_cuda_scale_f32

    ! Sinkhorn-Knopp matrix scaling on the device (f64): `kn_scale_f64` with device
    ! memory; everything else as `kn_cuda_scale_f32` (equal sums to relative 1e-12).
    !
    ! # Safety
    ! As `kn_cuda_scale_f32`.
    function kn_cuda_scale_f64(n, m, K, a, b, opts, u, v, work, work_bytes, rep, stream) &
        bind(C, name="kn_cuda_scale_f64") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      type(c_ptr), value :: K
      type(c_ptr), value :: a
      type(c_ptr), value :: b
      type(kn_sinkhorn_opts), intent(in), optional :: opts
      type(c_ptr), value :: u
      type(c_ptr), value :: v
      type(c_ptr), value :: work
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      type(c_ptr), value :: stream
      integer(c_int32_t) :: kn_result
    end function kn_cuda_scale_f64

    ! Log-domain Sinkhorn on the device (f32): `kn_sinkhorn_f32` with device memory.
    ! Potentials `f` (n), `g` (m) of min <P, C> + reg * sum P (log P - 1) subject to
    ! P 1 = a, P^T 1 = b, with P_ij = exp((f_i + g_j - C_ij) / reg); row and column
    ! log-sum-exps with the maximum shifted out.
    !
    ! - `C` (n*m, row-major), `a` (n), `b` (m), `f`, `g`, `plan` (nullable, n*m):
    !   DEVICE pointers in the current device's primary context, aligned for the
    !   element type. Same requirements as `kn_sinkhorn_f32`: C, f, g finite (zeros
    !   are the cold start), a and b positive with equal sums (relative 1e-6).
    ! - `opts`, `rep` (nullable): HOST pointers; `rep` as for `kn_sinkhorn_f32`
    !   (`value` = <P, C>, summed in double and rounded to the element type).
    ! - `work`: DEVICE memory of `work_bytes` >= `kn_cuda_sinkhorn_work_bytes(n, m)`
    !   bytes, any alignment.
    ! - `stream`: a `CUstream` (`cudaStream_t`) of that context, NULL for the
    !   default stream. The call synchronises it (it returns a report).
    !
    ! Returns the statuses of `kn_sinkhorn_f32`, checked in the same order before
    ! anything is written (the vectors are copied to the host and C is checked by a
    ! read-only kernel first), and `KN_ERR_UNSUPPORTED` when there is no CUDA
    ! support, driver, device or NVRTC (before any argument is looked at).
    ! `KN_ERR_NUMERICAL` during the iteration leaves the last finite f, g and does
    ! not touch plan. A failing CUDA call is `KN_ERR_INTERNAL`.
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values its description gives
    ! in the memory it names, valid for the call; `stream` must be NULL or a live
    ! stream of the current device's primary context.
    function kn_cuda_sinkhorn_f32(n, m, C, a, b, opts, f, g, plan, work, work_bytes, &
        rep, stream) &
        bind(C, name="kn_cuda_sinkhorn_f32") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      type(c_ptr), value :: C
      type(c_ptr), value :: a
      type(c_ptr), value :: b
      type(kn_sinkhorn_opts), intent(in), optional :: opts
      type(c_ptr), value :: f
      type(c_ptr), value :: g
      type(c_ptr), value :: plan
      type(c_ptr), value :: work
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      type(c_ptr), value :: stream
      integer(c_int32_t) :: kn_result
    end function kn_cuda_sinkhorn_f32

    ! Log-domain Sinkhorn on the device (f64): `kn_sinkhorn_f64` with device memory;
    ! everything else as `kn_cuda_sinkhorn_f32` (equal sums to relative 1e-12).
    !
    ! # Safety
    ! As `kn_cuda_sinkhorn_f32`.
    function kn_cuda_sinkhorn_f64(n, m, C, a, b, opts, f, g, plan, work, work_bytes, &
        rep, stream) &
        bind(C, name="kn_cuda_sinkhorn_f64") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      type(c_ptr), value :: C
      type(c_ptr), value :: a
      type(c_ptr), value :: b
      type(kn_sinkhorn_opts), intent(in), optional :: opts
      type(c_ptr), value :: f
      type(c_ptr), value :: g
      type(c_ptr), value :: plan
      type(c_ptr), value :: work
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      type(c_ptr), value :: stream
      integer(c_int32_t) :: kn_result
    end function kn_cuda_sinkhorn_f64

    ! Device workspace bytes `kn_cuda_sor_grid2d_f32` / `_f64` need for an `nx`-by-`ny`
    ! grid, into `*bytes` (the same for both types: a few bytes, for the verdicts of the
    ! finiteness checks run on the device).
    !
    ! Status: `KN_OK`; `KN_ERR_UNSUPPORTED` (no CUDA support, driver, device or NVRTC;
    ! checked first); `KN_ERR_NULL` (bytes is NULL); `KN_ERR_DIMENSION` (nx or ny zero,
    ! or their product overflows). `*bytes` is written only on `KN_OK`.
    !
    ! # Safety
    ! `bytes` must be NULL or valid for one write.
    function kn_cuda_sor_grid2d_work_bytes(nx, ny, bytes) &
        bind(C, name="kn_cuda_sor_grid2d_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: nx
      integer(c_size_t), value :: ny
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_cuda_sor_grid2d_work_bytes

    ! In-place red-black SOR sweeps (f32) on the GPU: `kn_sor_grid2d_f32` with device
    ! memory. The matrix is `(4 + shift) I - (sum of the four neighbours)` on an
    ! `nx`-by-`ny` interior grid with zero Dirichlet boundary; `b` and `x` are DEVICE
    ! pointers to `nx * ny` values, row-major (`x[i * nx + j]`, row `i < ny`, column
    ! `j < nx`). One sweep updates the red points (i + j even), then the black points
    ! (i + j odd); `sweeps` = 0 validates only. The result is bit for bit the host
    ! function's. `work`: DEVICE memory of at least `kn_cuda_sor_grid2d_work_bytes(nx,
    ! ny)` bytes, not overlapping `b` or `x`. `stream`: a `CUstream` of the current
    ! device's primary context, or NULL for its default stream. The call waits for the
    ! stream (the device's verdicts on the data come back to the host).
    !
    ! Status: `KN_OK`; `KN_ERR_UNSUPPORTED` (no CUDA support, driver, device or NVRTC;
    ! checked first); `KN_ERR_NULL` (b, x or work NULL); `KN_ERR_DIMENSION` (nx or ny
    ! zero, product overflow); `KN_ERR_ARGUMENT` (omega outside (0, 2), 4 + shift zero,
    ! misaligned or overlapping arrays); `KN_ERR_NON_FINITE` (NaN or infinity in shift,
    ! b or x, checked on the device before any sweep); `KN_ERR_WORKSPACE` (work_bytes
    ! too small): on all of these x is untouched. `KN_ERR_NUMERICAL`: the sweeps
    ! overflowed; x holds the last sweep's values. `KN_ERR_INTERNAL`: a CUDA failure.
    !
    ! # Safety
    ! `b`, `x` and `work` must be NULL or device allocations of the sizes above in the
    ! current device's primary context; `stream` NULL or a live stream of that context.
    function kn_cuda_sor_grid2d_f32(nx, ny, shift, b, x, omega, sweeps, work, &
        work_bytes, stream) &
        bind(C, name="kn_cuda_sor_grid2d_f32") result(kn_result)
      import
      integer(c_size_t), value :: nx
      integer(c_size_t), value :: ny
      real(c_float), value :: shift
      type(c_ptr), value :: b
      type(c_ptr), value :: x
      real(c_float), value :: omega
      integer(c_int32_t), value :: sweeps
      type(c_ptr), value :: work
      integer(c_size_t), value :: work_bytes
      type(c_ptr), value :: stream
      integer(c_int32_t) :: kn_result
    end function kn_cuda_sor_grid2d_f32

    ! In-place red-black SOR sweeps (f64) on the GPU; see `kn_cuda_sor_grid2d_f32`.
    !
    ! # Safety
    ! As for `kn_cuda_sor_grid2d_f32`.
    function kn_cuda_sor_grid2d_f64(nx, ny, shift, b, x, omega, sweeps, work, &
        work_bytes, stream) &
        bind(C, name="kn_cuda_sor_grid2d_f64") result(kn_result)
      import
      integer(c_size_t), value :: nx
      integer(c_size_t), value :: ny
      real(c_double), value :: shift
      type(c_ptr), value :: b
      type(c_ptr), value :: x
      real(c_double), value :: omega
      integer(c_int32_t), value :: sweeps
      type(c_ptr), value :: work
      integer(c_size_t), value :: work_bytes
      type(c_ptr), value :: stream
      integer(c_int32_t) :: kn_result
    end function kn_cuda_sor_grid2d_f64

    ! The default options of `kn_h2o_prefill_f32`, with `size` filled in: a budget of
    ! 128 per kv head, `sink` = 4, `heavy` = 60, `recent` = 64, and `scale` = 0
    ! (1/sqrt(d)). Start from these and set the fields you need, so that fields added
    ! later keep their defaults.
    function kn_h2o_opts_default() &
        bind(C, name="kn_h2o_opts_default") result(kn_result)
      import
      type(kn_h2o_opts) :: kn_result
    end function kn_h2o_opts_default

    ! Workspace size of `kn_h2o_prefill_f32` (for any budget): the minimum, with scratch
    ! for one head at a time. The heads (with eviction or scores, the kv heads) can run
    ! on the threads (`kn_set_num_threads`), each with its own scratch: a workspace of
    ! `t` times this lets `t` of them run at once. The result is the same whatever its
    ! size.
    !
    ! Returns KN_OK, KN_ERR_NULL (`bytes` NULL), KN_ERR_DIMENSION (a size is 0,
    ! `n_heads % n_kv_heads != 0`, or the size overflows).
    !
    ! # Safety
    ! `bytes` must be NULL or valid for writing one `size_t`.
    function kn_h2o_prefill_work_bytes(n_heads, n_kv_heads, seq, d, bytes) &
        bind(C, name="kn_h2o_prefill_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: n_kv_heads
      integer(c_size_t), value :: seq
      integer(c_size_t), value :: d
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_h2o_prefill_work_bytes

    ! Workspace size of `kn_h2o_prefill_f16`: as `kn_h2o_prefill_work_bytes`, with room
    ! for the rows being computed as `float` (larger than the `f32` prefill's).
    !
    ! Returns as `kn_h2o_prefill_work_bytes`.
    !
    ! # Safety
    ! `bytes` must be NULL or valid for writing one `size_t`.
    function kn_h2o_prefill_f16_work_bytes(n_heads, n_kv_heads, seq, d, bytes) &
        bind(C, name="kn_h2o_prefill_f16_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: n_kv_heads
      integer(c_size_t), value :: seq
      integer(c_size_t), value :: d
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_h2o_prefill_f16_work_bytes

    ! Workspace size of `kn_h2o_prefill_bf16`: as `kn_h2o_prefill_work_bytes`, with
    ! room for the rows being computed as `float` (larger than the `f32` prefill's).
    !
    ! Returns as `kn_h2o_prefill_work_bytes`.
    !
    ! # Safety
    ! `bytes` must be NULL or valid for writing one `size_t`.
    function kn_h2o_prefill_bf16_work_bytes(n_heads, n_kv_heads, seq, d, bytes) &
        bind(C, name="kn_h2o_prefill_bf16_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: n_kv_heads
      integer(c_size_t), value :: seq
      integer(c_size_t), value :: d
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_h2o_prefill_bf16_work_bytes

    ! Causal attention with H2O masking over a prompt.
    !
    ! `q` and `out` are `[n_heads][seq][d]`, `k` and `v` `[n_kv_heads][seq][d]`; query
    ! head `h` reads kv head `h / (n_heads / n_kv_heads)`. The rule, per kv head, row by
    ! row: token `t` enters the cache; when the cache already holds `B = sink + heavy +
    ! recent` tokens, the one with the smallest accumulated score among those that are
    ! neither sinks (position < sink) nor among the `recent` newest positions (t included)
    ! is evicted first, ties to the oldest position. Row `t` attends to exactly the cached
    ! tokens; each one's score grows by its softmax probability summed over the group's
    ! query heads; a new token starts at score 0. With `B >= seq` this is full causal
    ! attention. Prefill computes blocks of 64 rows through matrix products, decode steps
    ! (`kn_h2o_decode_f32`) one row with dot products, so over the same tokens they give
    ! the same outputs and scores to rounding (a few `float` ulps per term, not bit for
    ! bit) and the same kept set wherever no eviction is decided between two scores that
    ! close (a near tie). Each gives the same bits on any number of threads.
    !
    ! `scores` (nullable, `[n_kv_heads][seq]`): each token's accumulated score after the
    ! last row (an evicted token: its score when evicted). `keep` (nullable,
    ! `[n_kv_heads][seq]`): 1 for the tokens the cache holds after the last row, else 0.
    ! `work`: at least `kn_h2o_prefill_work_bytes` bytes, any alignment.
    !
    ! Returns KN_OK; KN_ERR_NULL (a required pointer is NULL); KN_ERR_DIMENSION (a size
    ! is 0, `n_heads % n_kv_heads != 0`, a size overflows); KN_ERR_ARGUMENT (budget 0,
    ! `heavy + recent == 0`, non-finite scale, misaligned or overlapping arrays);
    ! KN_ERR_NON_FINITE (NaN or infinity in q, k or v); KN_ERR_WORKSPACE. On these nothing
    ! was written. KN_ERR_NUMERICAL: the logits overflowed; `out`, `scores` and `keep`
    ! then hold unspecified values.
    !
    ! # Safety
    ! Each pointer must be NULL or valid for the length its dimensions imply (`work` for
    ! `work_bytes` bytes), and no output may be accessed elsewhere during the call.
    function kn_h2o_prefill_f32(n_heads, n_kv_heads, seq, d, q, k, v, opts, out, &
        scores, keep, work, work_bytes) &
        bind(C, name="kn_h2o_prefill_f32") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: n_kv_heads
      integer(c_size_t), value :: seq
      integer(c_size_t), value :: d
      real(c_float), intent(in), optional :: q(*)
      real(c_float), intent(in), optional :: k(*)
      real(c_float), intent(in), optional :: v(*)
      type(kn_h2o_opts), intent(in), optional :: opts
      real(c_float), intent(inout), optional :: out(*)
      real(c_float), intent(inout), optional :: scores(*)
      integer(c_int8_t), intent(inout), optional :: keep(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_h2o_prefill_f32

    ! Causal attention with H2O masking over a prompt stored as `kn_f16`:
    ! `kn_h2o_prefill_f32` with `q`, `k`, `v` and `out` as `kn_f16` (`scores` stays
    ! `float`).
    !
    ! Inputs are read as `float` (exactly); logits, softmax, scores and the weighted sums
    ! are `float`, and `out` is rounded once to `kn_f16` (to nearest, ties to even): the
    ! result is `kn_h2o_prefill_f32`'s on the upcast inputs up to the order of the
    ! `float` additions, then rounded. `work`: at least `kn_h2o_prefill_f16_work_bytes`
    ! bytes.
    !
    ! Returns as `kn_h2o_prefill_f32`; KN_ERR_NON_FINITE means an infinity or NaN bit
    ! pattern in `q`, `k` or `v`. On an argument error nothing was written.
    !
    ! # Safety
    ! As for `kn_h2o_prefill_f32`.
    function kn_h2o_prefill_f16(n_heads, n_kv_heads, seq, d, q, k, v, opts, out, &
        scores, keep, work, work_bytes) &
        bind(C, name="kn_h2o_prefill_f16") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: n_kv_heads
      integer(c_size_t), value :: seq
      integer(c_size_t), value :: d
      integer(c_int16_t), intent(in), optional :: q(*)
      integer(c_int16_t), intent(in), optional :: k(*)
      integer(c_int16_t), intent(in), optional :: v(*)
      type(kn_h2o_opts), intent(in), optional :: opts
      integer(c_int16_t), intent(inout), optional :: out(*)
      real(c_float), intent(inout), optional :: scores(*)
      integer(c_int8_t), intent(inout), optional :: keep(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_h2o_prefill_f16

    ! Causal attention with H2O masking over a prompt stored as `kn_bf16`:
    ! `kn_h2o_prefill_f32` with `q`, `k`, `v` and `out` as `kn_bf16` (`scores` stays
    ! `float`); as `kn_h2o_prefill_f16` in bfloat16. `work`: at least
    ! `kn_h2o_prefill_bf16_work_bytes` bytes.
    !
    ! Returns as `kn_h2o_prefill_f16`.
    !
    ! # Safety
    ! As for `kn_h2o_prefill_f32`.
    function kn_h2o_prefill_bf16(n_heads, n_kv_heads, seq, d, q, k, v, opts, out, &
        scores, keep, work, work_bytes) &
        bind(C, name="kn_h2o_prefill_bf16") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: n_kv_heads
      integer(c_size_t), value :: seq
      integer(c_size_t), value :: d
      integer(c_int16_t), intent(in), optional :: q(*)
      integer(c_int16_t), intent(in), optional :: k(*)
      integer(c_int16_t), intent(in), optional :: v(*)
      type(kn_h2o_opts), intent(in), optional :: opts
      integer(c_int16_t), intent(inout), optional :: out(*)
      real(c_float), intent(inout), optional :: scores(*)
      integer(c_int8_t), intent(inout), optional :: keep(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_h2o_prefill_bf16

    ! Sets up an empty H2O cache (`len = 0`, `next_pos = 0`) over the caller's buffers:
    ! `k`, `v` of `n_kv_heads * (sink + heavy + recent) * d` floats, `score` of
    ! `n_kv_heads * (sink + heavy + recent)` floats, `pos` of as many `uint64_t`. The
    ! buffers are not written; memory stays fixed from here on.
    !
    ! Returns KN_OK; KN_ERR_NULL; KN_ERR_DIMENSION (`n_kv_heads` or `d` is 0, a size
    ! overflows); KN_ERR_ARGUMENT (budget 0, `heavy + recent == 0`, misaligned or
    ! overlapping buffers). On error `*c` is untouched.
    !
    ! # Safety
    ! `c` must be NULL or valid for writing one `kn_h2o_cache`; each buffer NULL or valid
    ! for its length, and reserved for this cache while it is used.
    function kn_h2o_cache_init(c, n_kv_heads, d, sink, heavy, recent, k, v, score, pos) &
        bind(C, name="kn_h2o_cache_init") result(kn_result)
      import
      type(kn_h2o_cache), intent(inout), optional :: c
      integer(c_size_t), value :: n_kv_heads
      integer(c_size_t), value :: d
      integer(c_size_t), value :: sink
      integer(c_size_t), value :: heavy
      integer(c_size_t), value :: recent
      real(c_float), intent(inout), optional :: k(*)
      real(c_float), intent(inout), optional :: v(*)
      real(c_float), intent(inout), optional :: score(*)
      integer(c_int64_t), intent(inout), optional :: pos(*)
      integer(c_int32_t) :: kn_result
    end function kn_h2o_cache_init

    ! `kn_h2o_cache_init` for a cache whose keys and values are stored as `kn_f16`
    ! (`k`, `v`: `n_kv_heads * (sink + heavy + recent) * d` values each; `score` and
    ! `pos` as for `kn_h2o_cache_init`).
    !
    ! Returns as `kn_h2o_cache_init`. On error `*c` is untouched.
    !
    ! # Safety
    ! As for `kn_h2o_cache_init`.
    function kn_h2o_cache_init_f16(c, n_kv_heads, d, sink, heavy, recent, k, v, score, &
        pos) &
        bind(C, name="kn_h2o_cache_init_f16") result(kn_result)
      import
      type(kn_h2o_cache_f16), intent(inout), optional :: c
      integer(c_size_t), value :: n_kv_heads
      integer(c_size_t), value :: d
      integer(c_size_t), value :: sink
      integer(c_size_t), value :: heavy
      integer(c_size_t), value :: recent
      integer(c_int16_t), intent(inout), optional :: k(*)
      integer(c_int16_t), intent(inout), optional :: v(*)
      real(c_float), intent(inout), optional :: score(*)
      integer(c_int64_t), intent(inout), optional :: pos(*)
      integer(c_int32_t) :: kn_result
    end function kn_h2o_cache_init_f16

    ! `kn_h2o_cache_init` for a cache whose keys and values are stored as `kn_bf16`
    ! (`k`, `v`: `n_kv_heads * (sink + heavy + recent) * d` values each; `score` and
    ! `pos` as for `kn_h2o_cache_init`).
    !
    ! Returns as `kn_h2o_cache_init`. On error `*c` is untouched.
    !
    ! # Safety
    ! As for `kn_h2o_cache_init`.
    function kn_h2o_cache_init_bf16(c, n_kv_heads, d, sink, heavy, recent, k, v, score, &
        pos) &
        bind(C, name="kn_h2o_cache_init_bf16") result(kn_result)
      import
      type(kn_h2o_cache_bf16), intent(inout), optional :: c
      integer(c_size_t), value :: n_kv_heads
      integer(c_size_t), value :: d
      integer(c_size_t), value :: sink
      integer(c_size_t), value :: heavy
      integer(c_size_t), value :: recent
      integer(c_int16_t), intent(inout), optional :: k(*)
      integer(c_int16_t), intent(inout), optional :: v(*)
      real(c_float), intent(inout), optional :: score(*)
      integer(c_int64_t), intent(inout), optional :: pos(*)
      integer(c_int32_t) :: kn_result
    end function kn_h2o_cache_init_bf16

    ! Workspace size of `kn_h2o_decode_f32` for this cache and `n_heads` query heads.
    !
    ! Returns KN_OK; KN_ERR_NULL (`c` or `bytes` NULL); KN_ERR_DIMENSION (`n_heads` is
    ! 0 or not a multiple of `c->n_kv_heads`, a size of the cache is 0 or overflows);
    ! KN_ERR_ARGUMENT (the cache's budget is 0, `heavy + recent == 0`, or `len` exceeds
    ! the budget).
    !
    ! # Safety
    ! `c` must be NULL or point to a `kn_h2o_cache`; `bytes` NULL or valid for writing.
    function kn_h2o_decode_work_bytes(c, n_heads, bytes) &
        bind(C, name="kn_h2o_decode_work_bytes") result(kn_result)
      import
      type(kn_h2o_cache), intent(in), optional :: c
      integer(c_size_t), value :: n_heads
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_h2o_decode_work_bytes

    ! Workspace size of `kn_h2o_decode_f16` for this cache and `n_heads` query heads
    ! (larger than the `f32` decode's by the queries and outputs as `float`).
    !
    ! Returns as `kn_h2o_decode_work_bytes`.
    !
    ! # Safety
    ! `c` must be NULL or point to a `kn_h2o_cache_f16`; `bytes` NULL or valid for writing.
    function kn_h2o_decode_f16_work_bytes(c, n_heads, bytes) &
        bind(C, name="kn_h2o_decode_f16_work_bytes") result(kn_result)
      import
      type(kn_h2o_cache_f16), intent(in), optional :: c
      integer(c_size_t), value :: n_heads
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_h2o_decode_f16_work_bytes

    ! Workspace size of `kn_h2o_decode_bf16` for this cache and `n_heads` query heads
    ! (larger than the `f32` decode's by the queries and outputs as `float`).
    !
    ! Returns as `kn_h2o_decode_work_bytes`.
    !
    ! # Safety
    ! `c` must be NULL or point to a `kn_h2o_cache_bf16`; `bytes` NULL or valid for
    ! writing.
    function kn_h2o_decode_bf16_work_bytes(c, n_heads, bytes) &
        bind(C, name="kn_h2o_decode_bf16_work_bytes") result(kn_result)
      import
      type(kn_h2o_cache_bf16), intent(in), optional :: c
      integer(c_size_t), value :: n_heads
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_h2o_decode_bf16_work_bytes

    ! One decode step on an H2O cache.
    !
    ! Inserts the new token (`k_new`, `v_new`: `[n_kv_heads][d]`) into every kv head's
    ! cache (evicting, when full, the lowest-score slot that is neither a sink nor among
    ! the `recent` newest positions, ties to the oldest; the new token's score starts at
    ! 0), attends each query head (`q`, `out`: `[n_heads][d]`; head `h` reads kv head
    ! `h / (n_heads / n_kv_heads)`) to the cached tokens, and adds this step's softmax
    ! probabilities, summed over each group's heads, to the scores. Then `len` grows (up
    ! to the budget) and `next_pos` by one. `scale` 0 means 1/sqrt(d).
    !
    ! Returns KN_OK; KN_ERR_NULL; KN_ERR_DIMENSION (`n_heads` 0 or not a multiple of
    ! `n_kv_heads`, a size of the cache 0 or overflowing); KN_ERR_ARGUMENT (a corrupt
    ! cache struct: budget 0, `heavy + recent == 0`, `len` over the budget or over
    ! `next_pos`, a position `>= next_pos`, no evictable slot, `next_pos` at its maximum;
    ! non-finite scale; misaligned or overlapping arrays); KN_ERR_NON_FINITE (NaN or
    ! infinity in q, k_new, v_new); KN_ERR_WORKSPACE. On these neither the cache nor
    ! `out` was written. KN_ERR_NUMERICAL: the logits overflowed; the token was inserted,
    ! `out` holds unspecified values, no score changed.
    !
    ! # Safety
    ! `c` must be NULL or point to a valid `kn_h2o_cache` whose buffers are valid for its
    ! fields; the other pointers NULL or valid for their lengths (`work` for `work_bytes`
    ! bytes); no output accessed elsewhere during the call.
    function kn_h2o_decode_f32(c, n_heads, q, k_new, v_new, scale, out, work, work_bytes) &
        bind(C, name="kn_h2o_decode_f32") result(kn_result)
      import
      type(kn_h2o_cache), intent(inout), optional :: c
      integer(c_size_t), value :: n_heads
      real(c_float), intent(in), optional :: q(*)
      real(c_float), intent(in), optional :: k_new(*)
      real(c_float), intent(in), optional :: v_new(*)
      real(c_float), value :: scale
      real(c_float), intent(inout), optional :: out(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_h2o_decode_f32

    ! One decode step on an H2O cache stored as `kn_f16` (`kn_h2o_cache_init_f16`):
    ! `kn_h2o_decode_f32` with `q`, `k_new`, `v_new` and `out` as `kn_f16`.
    !
    ! The cached keys and values are read as `float` (exactly) inside the products, so
    ! a step reads half the bytes of the `float` cache's; logits, softmax, scores and
    ! the weighted sums are `float`, and `out` is rounded once to `kn_f16` (to nearest,
    ! ties to even): the result is `kn_h2o_decode_f32`'s on the upcast data up to the
    ! order of the `float` additions, then rounded. `work`: at least
    ! `kn_h2o_decode_f16_work_bytes` bytes.
    !
    ! Returns as `kn_h2o_decode_f32`; KN_ERR_NON_FINITE means an infinity or NaN bit
    ! pattern in `q`, `k_new` or `v_new`. On an argument error neither the cache nor
    ! `out` was written; after KN_ERR_NUMERICAL the token was inserted, `out` is
    ! unspecified and no score changed.
    !
    ! # Safety
    ! As for `kn_h2o_decode_f32`, `c` pointing to a valid `kn_h2o_cache_f16`.
    function kn_h2o_decode_f16(c, n_heads, q, k_new, v_new, scale, out, work, work_bytes) &
        bind(C, name="kn_h2o_decode_f16") result(kn_result)
      import
      type(kn_h2o_cache_f16), intent(inout), optional :: c
      integer(c_size_t), value :: n_heads
      integer(c_int16_t), intent(in), optional :: q(*)
      integer(c_int16_t), intent(in), optional :: k_new(*)
      integer(c_int16_t), intent(in), optional :: v_new(*)
      real(c_float), value :: scale
      integer(c_int16_t), intent(inout), optional :: out(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_h2o_decode_f16

    ! One decode step on an H2O cache stored as `kn_bf16` (`kn_h2o_cache_init_bf16`):
    ! `kn_h2o_decode_f32` with `q`, `k_new`, `v_new` and `out` as `kn_bf16`.
    !
    ! As `kn_h2o_decode_f16`, in bfloat16: keys and values read as `float` inside the
    ! products (a 16-bit shift), `float` arithmetic, `out` rounded once to nearest even.
    ! `work`: at least `kn_h2o_decode_bf16_work_bytes` bytes.
    !
    ! Returns as `kn_h2o_decode_f16`.
    !
    ! # Safety
    ! As for `kn_h2o_decode_f32`, `c` pointing to a valid `kn_h2o_cache_bf16`.
    function kn_h2o_decode_bf16(c, n_heads, q, k_new, v_new, scale, out, work, &
        work_bytes) &
        bind(C, name="kn_h2o_decode_bf16") result(kn_result)
      import
      type(kn_h2o_cache_bf16), intent(inout), optional :: c
      integer(c_size_t), value :: n_heads
      integer(c_int16_t), intent(in), optional :: q(*)
      integer(c_int16_t), intent(in), optional :: k_new(*)
      integer(c_int16_t), intent(in), optional :: v_new(*)
      real(c_float), value :: scale
      integer(c_int16_t), intent(inout), optional :: out(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_h2o_decode_bf16

    ! Bytes of workspace `kn_linattn_forward_f32` needs for these sizes and `chunk`
    ! (0 = the default, 64), written to `*bytes`: the minimum, one head's scratch. A
    ! workspace of `t` times this lets `t` heads run at once on the threads
    ! (`kn_set_num_threads`); `kn_linattn_threads_work_bytes` gives the size that also
    ! lets the chunks of a head run at once. The result is the same whatever its size.
    !
    ! Statuses: `KN_OK`; `KN_ERR_NULL` (`bytes` is NULL); `KN_ERR_DIMENSION` (a size is
    ! zero, or a size overflows).
    !
    ! # Safety
    ! Every pointer is NULL or points to an array of the documented length (`work`: of
    ! `work_bytes` bytes), valid for the duration of the call; NULL, misaligned and
    ! overlapping arrays are reported as statuses.
    function kn_linattn_work_bytes(n_heads, len, dk, dv, chunk, bytes) &
        bind(C, name="kn_linattn_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      integer(c_size_t), value :: chunk
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_linattn_work_bytes

    ! Bytes of workspace `kn_linattn_gated_forward_f32` and
    ! `kn_linattn_gated_forward_varlen_f32` need for these sizes (for varlen: `len` =
    ! all tokens) and `chunk` (0 = the default, 64), written to `*bytes`: the minimum,
    ! one head's scratch (`kn_linattn_work_bytes` and, per chunk, its cumulative log
    ! gates). A workspace of `t` times this lets `t` heads run at once on the threads.
    !
    ! Statuses: `KN_OK`; `KN_ERR_NULL` (`bytes` is NULL); `KN_ERR_DIMENSION` (a size is
    ! zero, or a size overflows).
    !
    ! # Safety
    ! `bytes` is NULL or valid for one write.
    function kn_linattn_gated_work_bytes(n_heads, len, dk, dv, chunk, bytes) &
        bind(C, name="kn_linattn_gated_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      integer(c_size_t), value :: chunk
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_linattn_gated_work_bytes

    ! Bytes of workspace with which `kn_linattn_forward_f32` (and
    ! `kn_linattn_forward_varlen_f32`) keeps `threads` threads busy (0 =
    ! `kn_num_threads()`), written to `*bytes`: `threads` times `kn_linattn_work_bytes`, one head on each thread, and, when there are fewer heads
    ! than threads, room for the states of one head's chunks, so that the chunks of each
    ! head run at once (every chunk's own state, the prefix scan over them, every
    ! chunk's output: LASP-2 inside the call). The result is the same as with the
    ! minimum workspace, bit for bit.
    !
    ! Statuses: `KN_OK`; `KN_ERR_NULL` (`bytes` is NULL); `KN_ERR_DIMENSION` (a size is
    ! zero, or a size overflows).
    !
    ! # Safety
    ! `bytes` is NULL or valid for one write.
    function kn_linattn_threads_work_bytes(n_heads, len, dk, dv, chunk, threads, bytes) &
        bind(C, name="kn_linattn_threads_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      integer(c_size_t), value :: chunk
      integer(c_size_t), value :: threads
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_linattn_threads_work_bytes

    ! Causal linear attention with a per-head decay, computed in chunks:
    ! `S_t = decay * S_{t-1} + k_t^T v_t`, `o_t = scale * q_t S_t` for every token `t`
    ! (token `t` included), starting from `S_0 = state_in`.
    !
    ! - `q`, `k`: `[n_heads][len][dk]`; `v`: `[n_heads][len][dv]`.
    ! - `decay`: `[n_heads]` values in (0, 1], or NULL for 1 (plain linear attention).
    ! - `scale`: output scale; 0 means `1/sqrt(dk)`.
    ! - `state_in`: `[n_heads][dk][dv]`, the state before the first token, or NULL for 0.
    !   To continue a sequence split into parts, pass the part's prefix from
    !   `kn_linattn_state_scan_f32`.
    ! - `out`: `[n_heads][len][dv]`, written.
    ! - `state_out`: `[n_heads][dk][dv]`, receives `S_len`, or NULL.
    ! - `chunk`: tokens per chunk, 0 for the default (64); a chunk longer than `len` means
    !   one chunk.
    ! - `work`, `work_bytes`: at least `kn_linattn_work_bytes` bytes, any alignment.
    !
    ! Statuses: `KN_OK`; `KN_ERR_NULL` (a required pointer is NULL);
    ! `KN_ERR_DIMENSION` (a size is zero or overflows); `KN_ERR_WORKSPACE` (`work_bytes`
    ! too small); `KN_ERR_ARGUMENT` (a decay outside (0, 1], a misaligned array, or an
    ! output overlapping another array); `KN_ERR_NON_FINITE` (NaN or infinity in an input,
    ! the decay or the scale). On these nothing is written. `KN_ERR_NUMERICAL`: a value
    ! overflowed; `out` and `state_out` hold the computed values, some infinite or NaN.
    !
    ! # Safety
    ! Every pointer is NULL or points to an array of the documented length (`work`: of
    ! `work_bytes` bytes), valid for the duration of the call; NULL, misaligned and
    ! overlapping arrays are reported as statuses.
    function kn_linattn_forward_f32(n_heads, len, dk, dv, q, k, v, decay, scale, &
        state_in, out, state_out, chunk, work, work_bytes) &
        bind(C, name="kn_linattn_forward_f32") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      real(c_float), intent(in), optional :: q(*)
      real(c_float), intent(in), optional :: k(*)
      real(c_float), intent(in), optional :: v(*)
      real(c_float), intent(in), optional :: decay(*)
      real(c_float), value :: scale
      real(c_float), intent(in), optional :: state_in(*)
      real(c_float), intent(inout), optional :: out(*)
      real(c_float), intent(inout), optional :: state_out(*)
      integer(c_size_t), value :: chunk
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_linattn_forward_f32

    ! Causal linear attention with a gate per head and token (simple GLA, Mamba-2),
    ! computed in chunks: `S_t = exp(g_t) S_{t-1} + k_t^T v_t`, `o_t = scale * q_t S_t`,
    ! starting from `S_0 = state_in`.
    !
    ! Arguments as for `kn_linattn_forward_f32`, with `g` (`[n_heads][len]`, required)
    ! the log gates, each `<= 0`, in place of `decay`; `work_bytes` at least
    ! `kn_linattn_gated_work_bytes`. Inside a chunk the weights are exponentials of
    ! differences of prefix sums of the gates (summed in double precision), never of a
    ! large positive number, so any gates are safe; weights below `FLT_MIN` count as 0.
    ! A constant decay `d` is the gate `ln d` at every token (`kn_linattn_forward_f32`
    ! computes that case with fewer exponentials).
    !
    ! Statuses as for `kn_linattn_forward_f32`, with `KN_ERR_ARGUMENT` for a positive
    ! gate and `KN_ERR_NON_FINITE` for a NaN or infinite one.
    !
    ! # Safety
    ! Every pointer is NULL or points to an array of the documented length (`work`: of
    ! `work_bytes` bytes), valid for the duration of the call; NULL, misaligned and
    ! overlapping arrays are reported as statuses.
    function kn_linattn_gated_forward_f32(n_heads, len, dk, dv, q, k, v, g, scale, &
        state_in, out, state_out, chunk, work, work_bytes) &
        bind(C, name="kn_linattn_gated_forward_f32") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      real(c_float), intent(in), optional :: q(*)
      real(c_float), intent(in), optional :: k(*)
      real(c_float), intent(in), optional :: v(*)
      real(c_float), intent(in), optional :: g(*)
      real(c_float), value :: scale
      real(c_float), intent(in), optional :: state_in(*)
      real(c_float), intent(inout), optional :: out(*)
      real(c_float), intent(inout), optional :: state_out(*)
      integer(c_size_t), value :: chunk
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_linattn_gated_forward_f32

    ! `kn_linattn_forward_f32` on each of `n_seqs` sequences packed along the token axis
    ! (flash-linear-attention's varlen layout): sequence `s` is tokens
    ! `[cu_seqlens[s], cu_seqlens[s + 1])` of every head, `len` tokens in all.
    !
    ! - `cu_seqlens`: `[n_seqs + 1]` offsets, starting at 0, never decreasing, ending at
    !   `len` (checked against `len`, so corrupt offsets cannot reach past the arrays).
    ! - `q`, `k`: `[n_heads][len][dk]`; `v`, `out`: `[n_heads][len][dv]`; `decay`,
    !   `scale`, `chunk` as for `kn_linattn_forward_f32`.
    ! - `state_in`: `[n_seqs][n_heads][dk][dv]`, each sequence's initial state, or NULL
    !   for 0; `state_out`: the same shape, each sequence's final state, or NULL.
    ! - `work_bytes`: at least `kn_linattn_work_bytes` for `len` tokens.
    !
    ! Each sequence is computed as a call of its own (chunks cut from its first token),
    ! so its outputs and state equal a separate `kn_linattn_forward_f32` call's bit for
    ! bit. An empty sequence writes no rows; its final state is its initial one.
    !
    ! Statuses as for `kn_linattn_forward_f32`; `KN_ERR_ARGUMENT` also for malformed
    ! `cu_seqlens` (not starting at 0, decreasing, or not ending at `len`),
    ! `KN_ERR_DIMENSION` for `n_seqs` or `len` 0. On these nothing is written.
    !
    ! # Safety
    ! Every pointer is NULL or points to an array of the documented length (`work`: of
    ! `work_bytes` bytes), valid for the duration of the call; NULL, misaligned and
    ! overlapping arrays are reported as statuses.
    function kn_linattn_forward_varlen_f32(n_seqs, cu_seqlens, n_heads, len, dk, dv, q, &
        k, v, decay, scale, state_in, out, state_out, chunk, work, work_bytes) &
        bind(C, name="kn_linattn_forward_varlen_f32") result(kn_result)
      import
      integer(c_size_t), value :: n_seqs
      integer(c_size_t), intent(in), optional :: cu_seqlens(*)
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      real(c_float), intent(in), optional :: q(*)
      real(c_float), intent(in), optional :: k(*)
      real(c_float), intent(in), optional :: v(*)
      real(c_float), intent(in), optional :: decay(*)
      real(c_float), value :: scale
      real(c_float), intent(in), optional :: state_in(*)
      real(c_float), intent(inout), optional :: out(*)
      real(c_float), intent(inout), optional :: state_out(*)
      integer(c_size_t), value :: chunk
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_linattn_forward_varlen_f32

    ! `kn_linattn_gated_forward_f32` on each of `n_seqs` packed sequences: arguments as
    ! for `kn_linattn_forward_varlen_f32` with `g` (`[n_heads][len]`, required) the log
    ! gates in place of `decay`, and `work_bytes` at least `kn_linattn_gated_work_bytes`
    ! for `len` tokens. Equal to separate `kn_linattn_gated_forward_f32` calls bit for
    ! bit; statuses as for both.
    !
    ! # Safety
    ! Every pointer is NULL or points to an array of the documented length (`work`: of
    ! `work_bytes` bytes), valid for the duration of the call; NULL, misaligned and
    ! overlapping arrays are reported as statuses.
    function kn_linattn_gated_forward_varlen_f32(n_seqs, cu_seqlens, n_heads, len, dk, &
        dv, q, k, v, g, scale, state_in, out, state_out, chunk, work, work_bytes) &
        bind(C, name="kn_linattn_gated_forward_varlen_f32") result(kn_result)
      import
      integer(c_size_t), value :: n_seqs
      integer(c_size_t), intent(in), optional :: cu_seqlens(*)
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      real(c_float), intent(in), optional :: q(*)
      real(c_float), intent(in), optional :: k(*)
      real(c_float), intent(in), optional :: v(*)
      real(c_float), intent(in), optional :: g(*)
      real(c_float), value :: scale
      real(c_float), intent(in), optional :: state_in(*)
      real(c_float), intent(inout), optional :: out(*)
      real(c_float), intent(inout), optional :: state_out(*)
      integer(c_size_t), value :: chunk
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_linattn_gated_forward_varlen_f32

    ! Bytes of workspace `kn_linattn_forward_f16` needs for these sizes and `chunk`,
    ! written to `*bytes`: `kn_linattn_work_bytes` and one chunk's queries, values and
    ! outputs as `float` (the half tokens are converted a chunk at a time). Statuses as
    ! for `kn_linattn_work_bytes`.
    !
    ! # Safety
    ! `bytes` is NULL or valid for one write.
    function kn_linattn_f16_work_bytes(n_heads, len, dk, dv, chunk, bytes) &
        bind(C, name="kn_linattn_f16_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      integer(c_size_t), value :: chunk
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_linattn_f16_work_bytes

    ! As `kn_linattn_f16_work_bytes`, for `kn_linattn_forward_bf16`.
    !
    ! # Safety
    ! `bytes` is NULL or valid for one write.
    function kn_linattn_bf16_work_bytes(n_heads, len, dk, dv, chunk, bytes) &
        bind(C, name="kn_linattn_bf16_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      integer(c_size_t), value :: chunk
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_linattn_bf16_work_bytes

    ! As `kn_linattn_f16_work_bytes`, for `kn_linattn_gated_forward_f16`
    ! (`kn_linattn_gated_work_bytes` and the converted chunk).
    !
    ! # Safety
    ! `bytes` is NULL or valid for one write.
    function kn_linattn_gated_f16_work_bytes(n_heads, len, dk, dv, chunk, bytes) &
        bind(C, name="kn_linattn_gated_f16_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      integer(c_size_t), value :: chunk
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_linattn_gated_f16_work_bytes

    ! As `kn_linattn_f16_work_bytes`, for `kn_linattn_gated_forward_bf16`.
    !
    ! # Safety
    ! `bytes` is NULL or valid for one write.
    function kn_linattn_gated_bf16_work_bytes(n_heads, len, dk, dv, chunk, bytes) &
        bind(C, name="kn_linattn_gated_bf16_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      integer(c_size_t), value :: chunk
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_linattn_gated_bf16_work_bytes

    ! `kn_linattn_forward_f32` on half-precision tokens: `q`, `k`, `v` and `out` are
    ! IEEE binary16 (`kn_f16`); `decay`, `scale`, `state_in` and `state_out` stay
    ! `float`. Each chunk's tokens are converted to `float`, every sum runs in `float`
    ! and each output is rounded once to the half type (to nearest, ties to even): the
    ! result is `kn_linattn_forward_f32`'s on the converted inputs, rounded. `work_bytes`:
    ! at least `kn_linattn_f16_work_bytes`.
    !
    ! Statuses as for `kn_linattn_forward_f32`; NaN and infinity bit patterns in `q`,
    ! `k`, `v` are `KN_ERR_NON_FINITE` (nothing written); an output beyond the half
    ! type's range is stored as an infinity and reported as `KN_ERR_NUMERICAL`.
    !
    ! # Safety
    ! Every pointer is NULL or points to an array of the documented length (`work`: of
    ! `work_bytes` bytes), valid for the duration of the call; NULL, misaligned and
    ! overlapping arrays are reported as statuses.
    function kn_linattn_forward_f16(n_heads, len, dk, dv, q, k, v, decay, scale, &
        state_in, out, state_out, chunk, work, work_bytes) &
        bind(C, name="kn_linattn_forward_f16") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      integer(c_int16_t), intent(in), optional :: q(*)
      integer(c_int16_t), intent(in), optional :: k(*)
      integer(c_int16_t), intent(in), optional :: v(*)
      real(c_float), intent(in), optional :: decay(*)
      real(c_float), value :: scale
      real(c_float), intent(in), optional :: state_in(*)
      integer(c_int16_t), intent(inout), optional :: out(*)
      real(c_float), intent(inout), optional :: state_out(*)
      integer(c_size_t), value :: chunk
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_linattn_forward_f16

    ! `kn_linattn_forward_f16` with bfloat16 tokens (`kn_bf16`); `work_bytes` at least
    ! `kn_linattn_bf16_work_bytes`.
    !
    ! # Safety
    ! As for `kn_linattn_forward_f16`.
    function kn_linattn_forward_bf16(n_heads, len, dk, dv, q, k, v, decay, scale, &
        state_in, out, state_out, chunk, work, work_bytes) &
        bind(C, name="kn_linattn_forward_bf16") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      integer(c_int16_t), intent(in), optional :: q(*)
      integer(c_int16_t), intent(in), optional :: k(*)
      integer(c_int16_t), intent(in), optional :: v(*)
      real(c_float), intent(in), optional :: decay(*)
      real(c_float), value :: scale
      real(c_float), intent(in), optional :: state_in(*)
      integer(c_int16_t), intent(inout), optional :: out(*)
      real(c_float), intent(inout), optional :: state_out(*)
      integer(c_size_t), value :: chunk
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_linattn_forward_bf16

    ! `kn_linattn_gated_forward_f32` on binary16 tokens, as `kn_linattn_forward_f16` is
    ! `kn_linattn_forward_f32`'s: `g` (`[n_heads][len]` log gates) stays `float`;
    ! `work_bytes` at least `kn_linattn_gated_f16_work_bytes`.
    !
    ! # Safety
    ! As for `kn_linattn_forward_f16`.
    function kn_linattn_gated_forward_f16(n_heads, len, dk, dv, q, k, v, g, scale, &
        state_in, out, state_out, chunk, work, work_bytes) &
        bind(C, name="kn_linattn_gated_forward_f16") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      integer(c_int16_t), intent(in), optional :: q(*)
      integer(c_int16_t), intent(in), optional :: k(*)
      integer(c_int16_t), intent(in), optional :: v(*)
      real(c_float), intent(in), optional :: g(*)
      real(c_float), value :: scale
      real(c_float), intent(in), optional :: state_in(*)
      integer(c_int16_t), intent(inout), optional :: out(*)
      real(c_float), intent(inout), optional :: state_out(*)
      integer(c_size_t), value :: chunk
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_linattn_gated_forward_f16

    ! `kn_linattn_gated_forward_f16` with bfloat16 tokens; `work_bytes` at least
    ! `kn_linattn_gated_bf16_work_bytes`.
    !
    ! # Safety
    ! As for `kn_linattn_forward_f16`.
    function kn_linattn_gated_forward_bf16(n_heads, len, dk, dv, q, k, v, g, scale, &
        state_in, out, state_out, chunk, work, work_bytes) &
        bind(C, name="kn_linattn_gated_forward_bf16") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      integer(c_int16_t), intent(in), optional :: q(*)
      integer(c_int16_t), intent(in), optional :: k(*)
      integer(c_int16_t), intent(in), optional :: v(*)
      real(c_float), intent(in), optional :: g(*)
      real(c_float), value :: scale
      real(c_float), intent(in), optional :: state_in(*)
      integer(c_int16_t), intent(inout), optional :: out(*)
      real(c_float), intent(inout), optional :: state_out(*)
      integer(c_size_t), value :: chunk
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_linattn_gated_forward_bf16

    ! A chunk's own state: `S_len` of the recurrence above started from `S_0 = 0`,
    ! `sum_t decay^(len-1-t) k_t^T v_t`, written to `state` (`[n_heads][dk][dv]`).
    ! `k`: `[n_heads][len][dk]`, `v`: `[n_heads][len][dv]`, `decay` as in
    ! `kn_linattn_forward_f32`. This is what each rank (or chunk) contributes to the
    ! AllGather before `kn_linattn_state_scan_f32`.
    !
    ! Statuses: `KN_OK`; `KN_ERR_NULL`; `KN_ERR_DIMENSION` (a size is zero or
    ! overflows); `KN_ERR_ARGUMENT` (a decay outside (0, 1], misalignment, `state`
    ! overlapping an input); `KN_ERR_NON_FINITE`. On these nothing is written.
    ! `KN_ERR_NUMERICAL`: a value overflowed; `state` holds the computed values.
    !
    ! # Safety
    ! Every pointer is NULL or points to an array of the documented length (`work`: of
    ! `work_bytes` bytes), valid for the duration of the call; NULL, misaligned and
    ! overlapping arrays are reported as statuses.
    function kn_linattn_chunk_state_f32(n_heads, len, dk, dv, k, v, decay, state) &
        bind(C, name="kn_linattn_chunk_state_f32") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      real(c_float), intent(in), optional :: k(*)
      real(c_float), intent(in), optional :: v(*)
      real(c_float), intent(in), optional :: decay(*)
      real(c_float), intent(inout), optional :: state(*)
      integer(c_int32_t) :: kn_result
    end function kn_linattn_chunk_state_f32

    ! The LASP-2 reduction: from the states of `n_chunks` consecutive chunks of one
    ! sequence (`states`, `[n_chunks][n_heads][dk][dv]`, each from
    ! `kn_linattn_chunk_state_f32`) and their token counts `chunk_lens` (`[n_chunks]`),
    ! writes to `prefix` (same shape) the exclusive prefix
    ! `prefix[c] = sum_{j<c} decay^(tokens after chunk j, before chunk c) * states[j]`
    ! (`prefix[0] = 0`): the `state_in` with which `kn_linattn_forward_f32` on chunk `c`
    ! reproduces the unsplit sequence. `decay` as in `kn_linattn_forward_f32`.
    !
    ! Statuses: `KN_OK`; `KN_ERR_NULL`; `KN_ERR_DIMENSION` (a size or a chunk length is
    ! zero, a size overflows, or the chunk lengths' sum overflows); `KN_ERR_ARGUMENT`
    ! (a decay outside (0, 1], misalignment, `prefix` overlapping an input);
    ! `KN_ERR_NON_FINITE`. On these nothing is written. `KN_ERR_NUMERICAL`: a sum
    ! overflowed; `prefix` holds the computed values.
    !
    ! # Safety
    ! Every pointer is NULL or points to an array of the documented length (`work`: of
    ! `work_bytes` bytes), valid for the duration of the call; NULL, misaligned and
    ! overlapping arrays are reported as statuses.
    function kn_linattn_state_scan_f32(n_chunks, n_heads, dk, dv, chunk_lens, decay, &
        states, prefix) &
        bind(C, name="kn_linattn_state_scan_f32") result(kn_result)
      import
      integer(c_size_t), value :: n_chunks
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      integer(c_size_t), intent(in), optional :: chunk_lens(*)
      real(c_float), intent(in), optional :: decay(*)
      real(c_float), intent(in), optional :: states(*)
      real(c_float), intent(inout), optional :: prefix(*)
      integer(c_int32_t) :: kn_result
    end function kn_linattn_state_scan_f32

    ! A gated chunk's own state: `S_len` of `kn_linattn_gated_forward_f32`'s recurrence
    ! started from `S_0 = 0`, `sum_t exp(g_(t+1) + ... + g_len) k_t^T v_t`, written to
    ! `state` (`[n_heads][dk][dv]`), and, unless `log_decay` is NULL, each head's total
    ! log decay over the chunk `sum_t g_t` (summed in double precision) to `log_decay`
    ! (`[n_heads]`). `k`: `[n_heads][len][dk]`, `v`: `[n_heads][len][dv]`, `g`:
    ! `[n_heads][len]` log gates `<= 0`. The two outputs are what each rank (or chunk)
    ! contributes to the AllGather before `kn_linattn_gated_state_scan_f32`.
    !
    ! Statuses: `KN_OK`; `KN_ERR_NULL`; `KN_ERR_DIMENSION` (a size is zero or
    ! overflows); `KN_ERR_ARGUMENT` (a positive gate, misalignment, an output overlapping
    ! an input or the other output); `KN_ERR_NON_FINITE`. On these nothing is written.
    ! `KN_ERR_NUMERICAL`: a value overflowed; `state` holds the computed values.
    !
    ! # Safety
    ! Every pointer is NULL or points to an array of the documented length, valid for
    ! the duration of the call; NULL, misaligned and overlapping arrays are reported as
    ! statuses.
    function kn_linattn_gated_chunk_state_f32(n_heads, len, dk, dv, k, v, g, state, &
        log_decay) &
        bind(C, name="kn_linattn_gated_chunk_state_f32") result(kn_result)
      import
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: len
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      real(c_float), intent(in), optional :: k(*)
      real(c_float), intent(in), optional :: v(*)
      real(c_float), intent(in), optional :: g(*)
      real(c_float), intent(inout), optional :: state(*)
      real(c_float), intent(inout), optional :: log_decay(*)
      integer(c_int32_t) :: kn_result
    end function kn_linattn_gated_chunk_state_f32

    ! The LASP-2 reduction for gated chunks: from the states of `n_chunks` consecutive
    ! chunks of one sequence (`states`, `[n_chunks][n_heads][dk][dv]`) and their log
    ! decays (`log_decays`, `[n_chunks][n_heads]`, values `<= 0`), both from
    ! `kn_linattn_gated_chunk_state_f32`, writes to `prefix` (same shape as `states`)
    ! the exclusive prefix `prefix[0] = 0`,
    ! `prefix[c + 1] = exp(log_decays[c]) * prefix[c] + states[c]`: the `state_in` with
    ! which `kn_linattn_gated_forward_f32` on chunk `c` reproduces the unsplit sequence.
    !
    ! Statuses: `KN_OK`; `KN_ERR_NULL`; `KN_ERR_DIMENSION` (a size is zero or
    ! overflows); `KN_ERR_ARGUMENT` (a positive log decay, misalignment, `prefix`
    ! overlapping an input); `KN_ERR_NON_FINITE`. On these nothing is written.
    ! `KN_ERR_NUMERICAL`: a sum overflowed; `prefix` holds the computed values.
    !
    ! # Safety
    ! Every pointer is NULL or points to an array of the documented length, valid for
    ! the duration of the call; NULL, misaligned and overlapping arrays are reported as
    ! statuses.
    function kn_linattn_gated_state_scan_f32(n_chunks, n_heads, dk, dv, log_decays, &
        states, prefix) &
        bind(C, name="kn_linattn_gated_state_scan_f32") result(kn_result)
      import
      integer(c_size_t), value :: n_chunks
      integer(c_size_t), value :: n_heads
      integer(c_size_t), value :: dk
      integer(c_size_t), value :: dv
      real(c_float), intent(in), optional :: log_decays(*)
      real(c_float), intent(in), optional :: states(*)
      real(c_float), intent(inout), optional :: prefix(*)
      integer(c_int32_t) :: kn_result
    end function kn_linattn_gated_state_scan_f32

    ! Bytes of workspace a pager with `capacity` pages needs, whatever its policy (hash
    ! tables, slot arrays, flag masks and candidate lists of the plain policies, and the
    ! two simulated caches, page nodes and learner of KN_PAGING_DISCARD_ROBUST and
    ! KN_PAGING_LEARNED): about 540 bytes per page plus 47 KiB when `capacity` is a power
    ! of two from 128 to 8192 and about 316 from 65536, up to about 700 per page plus
    ! 47 KiB otherwise, and up to about 1.4 KiB per page plus 5 KiB below 128 pages. The
    ! hash tables are sized to powers of two, sparse (at most 1/8 or 1/4 full) while they
    ! fit in 2 MiB and up to 1/2 full above, where cache misses cost more than probes.
    !
    ! It is one size for every policy, and kn_pager_init asks for all of it whatever the
    ! policy, so callers can rely on one size. Of it, at a power-of-two capacity up to
    ! 8192, the plain policies use about 156 bytes per page (60 from 65536),
    ! KN_PAGING_DISCARD_ROBUST about 540 per page (316 from 65536), and
    ! KN_PAGING_LEARNED that plus the 47 KiB.
    !
    ! Returns KN_ERR_NULL if `bytes` is NULL, KN_ERR_DIMENSION if `capacity` is 0 or the
    ! size overflows, KN_ERR_ARGUMENT if `capacity` > KN_PAGER_MAX_CAPACITY.
    !
    ! # Safety
    ! `bytes` must be NULL or valid for writing one `size_t`.
    function kn_pager_work_bytes(capacity, bytes) &
        bind(C, name="kn_pager_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: capacity
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_pager_work_bytes

    ! Initialises `p` as an empty pager of `capacity` pages under `policy`
    ! (KN_PAGING_*), with `seed` for the randomized policies (same seed, same
    ! evictions). All memory is in `work` (`work_bytes` >= kn_pager_work_bytes): the
    ! pager keeps referring to it, so it must stay valid, unmoved and otherwise unused
    ! until the pager is no longer used; re-initialise to reuse it.
    !
    ! Returns KN_ERR_NULL if `p` or `work` is NULL, KN_ERR_DIMENSION if `capacity` is 0,
    ! KN_ERR_ARGUMENT for an unknown policy, `capacity` > KN_PAGER_MAX_CAPACITY or `p`
    ! inside `work`, KN_ERR_WORKSPACE if `work_bytes` is too small. `p` is untouched on
    ! error.
    !
    ! # Safety
    ! `p` must be NULL or valid for writes; `work` NULL or valid for `work_bytes` bytes.
    function kn_pager_init(p, policy, capacity, seed, work, work_bytes) &
        bind(C, name="kn_pager_init") result(kn_result)
      import
      type(kn_pager), intent(inout), optional :: p
      integer(c_int32_t), value :: policy
      integer(c_size_t), value :: capacity
      integer(c_int64_t), value :: seed
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_pager_init

    ! Serves one request for `page` (any value) with its predicted `bit` (0 or 1; the
    ! discard bit for KN_PAGING_DISCARD*, the phase bit for KN_PAGING_PHASE, ignored by
    ! LRU and MARKER). A fault with a full cache evicts one page. `result` may be NULL.
    !
    ! Returns KN_ERR_NULL if `p` is NULL, KN_ERR_ARGUMENT if `bit` > 1, if `p` does not
    ! hold an initialised pager (magic word, checksum and invariants are checked), if
    ! `result` overlaps the pager or its workspace, or if the pager's workspace was found
    ! overwritten (then re-initialise it). On error `p` and `result` are untouched.
    !
    ! # Safety
    ! `p` must be NULL or point to a kn_pager; if it holds a pager, the workspace it
    ! was initialised with must still be valid and not used otherwise. `result` must be
    ! NULL or valid for writes.
    function kn_pager_access(p, page, bit, result) &
        bind(C, name="kn_pager_access") result(kn_result)
      import
      type(kn_pager), intent(inout), optional :: p
      integer(c_int64_t), value :: page
      integer(c_int8_t), value :: bit
      type(kn_access), intent(inout), optional :: result
      integer(c_int32_t) :: kn_result
    end function kn_pager_access

    ! As kn_pager_access, with the request's context `ctx` (any value; for example the
    ! address of the instruction that made the access) for KN_PAGING_LEARNED, whose
    ! counters it indexes; the other policies ignore it and take the bit as 0.
    !
    ! Returns KN_ERR_NULL if `p` is NULL, KN_ERR_ARGUMENT as kn_pager_access. On error
    ! `p` and `result` are untouched.
    !
    ! # Safety
    ! As kn_pager_access.
    function kn_pager_access_ctx(p, page, ctx, result) &
        bind(C, name="kn_pager_access_ctx") result(kn_result)
      import
      type(kn_pager), intent(inout), optional :: p
      integer(c_int64_t), value :: page
      integer(c_int64_t), value :: ctx
      type(kn_access), intent(inout), optional :: result
      integer(c_int32_t) :: kn_result
    end function kn_pager_access_ctx

    ! Runs `policy` with `capacity` pages and `seed` over the trace `pages[0..len]` with
    ! the predictions `bits[0..len]` (each 0 or 1; NULL means all 0) and writes the
    ! number of faults (cold misses included) to `faults`. `work` as for kn_pager_init
    ! (kn_pager_work_bytes(capacity)); it is scratch here.
    !
    ! Returns KN_ERR_NULL if `pages`, `faults` or `work` is NULL, KN_ERR_DIMENSION if
    ! `capacity` is 0, KN_ERR_ARGUMENT for an unknown policy, a bit > 1 or `faults`
    ! overlapping an input, KN_ERR_WORKSPACE if `work_bytes` is too small. `faults` is
    ! untouched on error.
    !
    ! # Safety
    ! Each pointer must be NULL or valid for its stated length.
    function kn_paging_simulate(policy, capacity, seed, pages, bits, len, faults, work, &
        work_bytes) &
        bind(C, name="kn_paging_simulate") result(kn_result)
      import
      integer(c_int32_t), value :: policy
      integer(c_size_t), value :: capacity
      integer(c_int64_t), value :: seed
      integer(c_int64_t), intent(in), optional :: pages(*)
      integer(c_int8_t), intent(in), optional :: bits(*)
      integer(c_size_t), value :: len
      integer(c_int64_t), intent(out), optional :: faults
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_paging_simulate

    ! As kn_paging_simulate, with one context per request, `ctx[0..len]`, for
    ! KN_PAGING_LEARNED (see kn_pager_access_ctx; the other policies ignore it). `bits`
    ! may be NULL (all 0); `ctx` may not, as `pages` may not.
    !
    ! Returns KN_ERR_NULL if `pages`, `ctx`, `faults` or `work` is NULL, KN_ERR_ARGUMENT
    ! also if `ctx` overlaps `faults` or `work`, and otherwise as kn_paging_simulate.
    ! `faults` is untouched on error.
    !
    ! # Safety
    ! Each pointer must be NULL or valid for its stated length.
    function kn_paging_simulate_ctx(policy, capacity, seed, pages, bits, ctx, len, &
        faults, work, work_bytes) &
        bind(C, name="kn_paging_simulate_ctx") result(kn_result)
      import
      integer(c_int32_t), value :: policy
      integer(c_size_t), value :: capacity
      integer(c_int64_t), value :: seed
      integer(c_int64_t), intent(in), optional :: pages(*)
      integer(c_int8_t), intent(in), optional :: bits(*)
      integer(c_int64_t), intent(in), optional :: ctx(*)
      integer(c_size_t), value :: len
      integer(c_int64_t), intent(out), optional :: faults
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_paging_simulate_ctx

    ! Bytes of workspace kn_paging_offline needs for a trace of `len` requests (about 56
    ! bytes per request).
    !
    ! Returns KN_ERR_NULL if `bytes` is NULL, KN_ERR_DIMENSION if `capacity` is 0 or the
    ! size overflows.
    !
    ! # Safety
    ! `bytes` must be NULL or valid for writing one `size_t`.
    function kn_paging_offline_work_bytes(capacity, len, bytes) &
        bind(C, name="kn_paging_offline_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: capacity
      integer(c_size_t), value :: len
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_paging_offline_work_bytes

    ! The offline optimum of the trace `pages[0..len]` with `capacity` pages: Belady's
    ! fault count (evict the page requested again furthest in the future; among pages
    ! never requested again, the least recently requested) into `opt_faults`, in
    ! O(len log capacity), and the perfect predictions, one per request:
    ! `discard_bits[t]` = 1 if that optimum evicts `pages[t]` before its next request or
    ! it is never requested again; `phase_bits[t]` = 1 if `pages[t]` is requested in the
    ! marking phase after the one holding request t (phases: the trace cut greedily into
    ! maximal runs of at most `capacity` distinct pages). Either bit array may be NULL.
    !
    ! Returns KN_ERR_NULL if `pages`, `opt_faults` or `work` is NULL, KN_ERR_DIMENSION if
    ! `capacity` is 0, KN_ERR_ARGUMENT if outputs overlap each other or an input,
    ! KN_ERR_WORKSPACE if `work_bytes` < kn_paging_offline_work_bytes. Outputs are
    ! untouched on error.
    !
    ! # Safety
    ! Each pointer must be NULL or valid for its stated length.
    function kn_paging_offline(capacity, pages, len, opt_faults, discard_bits, &
        phase_bits, work, work_bytes) &
        bind(C, name="kn_paging_offline") result(kn_result)
      import
      integer(c_size_t), value :: capacity
      integer(c_int64_t), intent(in), optional :: pages(*)
      integer(c_size_t), value :: len
      integer(c_int64_t), intent(out), optional :: opt_faults
      integer(c_int8_t), intent(inout), optional :: discard_bits(*)
      integer(c_int8_t), intent(inout), optional :: phase_bits(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      integer(c_int32_t) :: kn_result
    end function kn_paging_offline

    ! The default options of `kn_scale_*` and `kn_sinkhorn_*`, with `size` filled in:
    ! `reg` = 0.05, `tol` = 1e-9, `max_iter` = 1000, `check_every` = 10. Start from
    ! these and set the fields you need, so that fields added later keep their defaults.
    function kn_sinkhorn_opts_default() &
        bind(C, name="kn_sinkhorn_opts_default") result(kn_result)
      import
      type(kn_sinkhorn_opts) :: kn_result
    end function kn_sinkhorn_opts_default

    ! Workspace bytes of `kn_scale_f32`/`kn_scale_f64` for an `n x m` matrix (the
    ! larger of the two types, so one query serves both).
    !
    ! Returns `KN_OK`, `KN_ERR_NULL` (`bytes` NULL), `KN_ERR_DIMENSION` (`n` or `m`
    ! zero, or the size overflows).
    !
    ! # Safety
    ! `bytes` must be NULL or point to a writable `size_t`.
    function kn_scale_work_bytes(n, m, bytes) &
        bind(C, name="kn_scale_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_scale_work_bytes

    ! Workspace bytes of `kn_sinkhorn_f32`/`kn_sinkhorn_f64` for an `n x m` cost
    ! matrix (the larger of the two types, so one query serves both).
    !
    ! Returns `KN_OK`, `KN_ERR_NULL` (`bytes` NULL), `KN_ERR_DIMENSION` (`n` or `m`
    ! zero, or the size overflows).
    !
    ! # Safety
    ! `bytes` must be NULL or point to a writable `size_t`.
    function kn_sinkhorn_work_bytes(n, m, bytes) &
        bind(C, name="kn_sinkhorn_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_sinkhorn_work_bytes

    ! Sinkhorn-Knopp matrix scaling (f32): positive `u` (n), `v` (m) such that
    ! diag(u) K diag(v) has row sums `a` and column sums `b`
    ! (v = b / (K^T u), then u = a / (K v), each iteration).
    !
    ! - `K`: n*m row-major, nonnegative, finite, no zero row or column.
    ! - `a` (n), `b` (m): positive, equal sums (relative 1e-6 in f32, 1e-12 in f64).
    ! - `opts`: `tol` > 0, `max_iter` > 0, `check_every` (0 = 1); `reg` ignored.
    ! - `u`, `v`: in/out, nonnegative and finite. `u` all zero is the cold start
    !   (ones); any other `u` warm-starts (v is recomputed from u).
    ! - `work`, `work_bytes`: at least `kn_scale_work_bytes(n, m)` bytes, any
    !   alignment (NULL only with 0 bytes).
    ! - `rep` (nullable): `iterations`, `error` = ||rowsums - a||_1 +
    !   ||colsums - b||_1 of the returned u, v, `value` = 0 (no cost is defined
    !   for plain scaling), `converged`.
    !
    ! Returns `KN_OK`; `KN_NOT_CONVERGED` (u, v and rep written, tolerance not
    ! reached in `max_iter`); `KN_ERR_NULL`; `KN_ERR_DIMENSION` (n or m zero,
    ! n*m overflows); `KN_ERR_WORKSPACE`; `KN_ERR_ARGUMENT` (opts out of range,
    ! a negative entry in K, u or v, a or b not positive or with different sums,
    ! a misaligned array, an output overlapping another argument);
    ! `KN_ERR_NON_FINITE` (NaN or inf in K, a, b, u, v); `KN_ERR_NUMERICAL` (a
    ! zero row or column of K: nothing written; or K^T u, K v underflowed to zero
    ! or a scaling overflowed during the iteration: u, v hold the last iterate
    ! that was finite, rep is not written).
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values its description
    ! gives, valid for the call.
    function kn_scale_f32(n, m, K, a, b, opts, u, v, work, work_bytes, rep) &
        bind(C, name="kn_scale_f32") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      real(c_float), intent(in), optional :: K(*)
      real(c_float), intent(in), optional :: a(*)
      real(c_float), intent(in), optional :: b(*)
      type(kn_sinkhorn_opts), intent(in), optional :: opts
      real(c_float), intent(inout), optional :: u(*)
      real(c_float), intent(inout), optional :: v(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_scale_f32

    ! Sinkhorn-Knopp matrix scaling (f64): positive `u` (n), `v` (m) such that
    ! diag(u) K diag(v) has row sums `a` and column sums `b`
    ! (v = b / (K^T u), then u = a / (K v), each iteration).
    !
    ! - `K`: n*m row-major, nonnegative, finite, no zero row or column.
    ! - `a` (n), `b` (m): positive, equal sums (relative 1e-6 in f32, 1e-12 in f64).
    ! - `opts`: `tol` > 0, `max_iter` > 0, `check_every` (0 = 1); `reg` ignored.
    ! - `u`, `v`: in/out, nonnegative and finite. `u` all zero is the cold start
    !   (ones); any other `u` warm-starts (v is recomputed from u).
    ! - `work`, `work_bytes`: at least `kn_scale_work_bytes(n, m)` bytes, any
    !   alignment (NULL only with 0 bytes).
    ! - `rep` (nullable): `iterations`, `error` = ||rowsums - a||_1 +
    !   ||colsums - b||_1 of the returned u, v, `value` = 0 (no cost is defined
    !   for plain scaling), `converged`.
    !
    ! Returns `KN_OK`; `KN_NOT_CONVERGED` (u, v and rep written, tolerance not
    ! reached in `max_iter`); `KN_ERR_NULL`; `KN_ERR_DIMENSION` (n or m zero,
    ! n*m overflows); `KN_ERR_WORKSPACE`; `KN_ERR_ARGUMENT` (opts out of range,
    ! a negative entry in K, u or v, a or b not positive or with different sums,
    ! a misaligned array, an output overlapping another argument);
    ! `KN_ERR_NON_FINITE` (NaN or inf in K, a, b, u, v); `KN_ERR_NUMERICAL` (a
    ! zero row or column of K: nothing written; or K^T u, K v underflowed to zero
    ! or a scaling overflowed during the iteration: u, v hold the last iterate
    ! that was finite, rep is not written).
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values its description
    ! gives, valid for the call.
    function kn_scale_f64(n, m, K, a, b, opts, u, v, work, work_bytes, rep) &
        bind(C, name="kn_scale_f64") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      real(c_double), intent(in), optional :: K(*)
      real(c_double), intent(in), optional :: a(*)
      real(c_double), intent(in), optional :: b(*)
      type(kn_sinkhorn_opts), intent(in), optional :: opts
      real(c_double), intent(inout), optional :: u(*)
      real(c_double), intent(inout), optional :: v(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_scale_f64

    ! Log-domain Sinkhorn for entropic optimal transport (f32):
    ! min <P, C> + reg * sum P (log P - 1) subject to P 1 = a, P^T 1 = b, with
    ! the plan P_ij = exp((f_i + g_j - C_ij) / reg). Every exponential sum is a
    ! log-sum-exp with its maximum shifted out: stable for reg down to
    ! 1e-4 * max|C| (f64) and below, where exp(-C/reg) underflows.
    !
    ! - `C`: n*m row-major cost, finite.
    ! - `a` (n), `b` (m): positive, equal sums (relative 1e-6 in f32, 1e-12 in f64).
    ! - `opts`: `reg` > 0 and finite, `tol` > 0, `max_iter` > 0, `check_every`
    !   (0 = 1).
    ! - `f` (n), `g` (m): in/out dual potentials, finite; zeros are the cold
    !   start, anything else warm-starts. Each iteration sets f from g, then g
    !   from f.
    ! - `plan` (nullable, n*m): receives P for the returned f, g.
    ! - `work`, `work_bytes`: at least `kn_sinkhorn_work_bytes(n, m)` bytes, any
    !   alignment (NULL only with 0 bytes).
    ! - `rep` (nullable): `iterations`, `error` = ||P 1 - a||_1 + ||P^T 1 - b||_1
    !   of the returned f, g, `value` = <P, C>, `converged`.
    !
    ! Returns `KN_OK`; `KN_NOT_CONVERGED` (f, g, plan and rep written, tolerance
    ! not reached in `max_iter`); `KN_ERR_NULL`; `KN_ERR_DIMENSION` (n or m zero,
    ! n*m overflows); `KN_ERR_WORKSPACE`; `KN_ERR_ARGUMENT` (opts out of range,
    ! a or b not positive or with different sums, a misaligned array, an output
    ! overlapping another argument); `KN_ERR_NON_FINITE` (NaN or inf in C, a, b,
    ! f, g); `KN_ERR_NUMERICAL` (max|C| / reg overflows the type: nothing
    ! written; or a potential overflowed during the iteration: f, g hold the last
    ! iterate that was finite, plan and rep are not written).
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values its description
    ! gives, valid for the call.
    function kn_sinkhorn_f32(n, m, C, a, b, opts, f, g, plan, work, work_bytes, rep) &
        bind(C, name="kn_sinkhorn_f32") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      real(c_float), intent(in), optional :: C(*)
      real(c_float), intent(in), optional :: a(*)
      real(c_float), intent(in), optional :: b(*)
      type(kn_sinkhorn_opts), intent(in), optional :: opts
      real(c_float), intent(inout), optional :: f(*)
      real(c_float), intent(inout), optional :: g(*)
      real(c_float), intent(inout), optional :: plan(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_sinkhorn_f32

    ! Log-domain Sinkhorn for entropic optimal transport (f64):
    ! min <P, C> + reg * sum P (log P - 1) subject to P 1 = a, P^T 1 = b, with
    ! the plan P_ij = exp((f_i + g_j - C_ij) / reg). Every exponential sum is a
    ! log-sum-exp with its maximum shifted out: stable for reg down to
    ! 1e-4 * max|C| (f64) and below, where exp(-C/reg) underflows.
    !
    ! - `C`: n*m row-major cost, finite.
    ! - `a` (n), `b` (m): positive, equal sums (relative 1e-6 in f32, 1e-12 in f64).
    ! - `opts`: `reg` > 0 and finite, `tol` > 0, `max_iter` > 0, `check_every`
    !   (0 = 1).
    ! - `f` (n), `g` (m): in/out dual potentials, finite; zeros are the cold
    !   start, anything else warm-starts. Each iteration sets f from g, then g
    !   from f.
    ! - `plan` (nullable, n*m): receives P for the returned f, g.
    ! - `work`, `work_bytes`: at least `kn_sinkhorn_work_bytes(n, m)` bytes, any
    !   alignment (NULL only with 0 bytes).
    ! - `rep` (nullable): `iterations`, `error` = ||P 1 - a||_1 + ||P^T 1 - b||_1
    !   of the returned f, g, `value` = <P, C>, `converged`.
    !
    ! Returns `KN_OK`; `KN_NOT_CONVERGED` (f, g, plan and rep written, tolerance
    ! not reached in `max_iter`); `KN_ERR_NULL`; `KN_ERR_DIMENSION` (n or m zero,
    ! n*m overflows); `KN_ERR_WORKSPACE`; `KN_ERR_ARGUMENT` (opts out of range,
    ! a or b not positive or with different sums, a misaligned array, an output
    ! overlapping another argument); `KN_ERR_NON_FINITE` (NaN or inf in C, a, b,
    ! f, g); `KN_ERR_NUMERICAL` (max|C| / reg overflows the type: nothing
    ! written; or a potential overflowed during the iteration: f, g hold the last
    ! iterate that was finite, plan and rep are not written).
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values its description
    ! gives, valid for the call.
    function kn_sinkhorn_f64(n, m, C, a, b, opts, f, g, plan, work, work_bytes, rep) &
        bind(C, name="kn_sinkhorn_f64") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      real(c_double), intent(in), optional :: C(*)
      real(c_double), intent(in), optional :: a(*)
      real(c_double), intent(in), optional :: b(*)
      type(kn_sinkhorn_opts), intent(in), optional :: opts
      real(c_double), intent(inout), optional :: f(*)
      real(c_double), intent(inout), optional :: g(*)
      real(c_double), intent(inout), optional :: plan(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_sinkhorn_f64

    ! The default options of `kn_sinkhorn_unbalanced_*`, with `size` filled in:
    ! `reg` = 0.05, `reg_m1` = `reg_m2` = 1, `tol` = 1e-9, `max_iter` = 1000,
    ! `check_every` = 10.
    function kn_unbalanced_opts_default() &
        bind(C, name="kn_unbalanced_opts_default") result(kn_result)
      import
      type(kn_unbalanced_opts) :: kn_result
    end function kn_unbalanced_opts_default

    ! Workspace bytes of `kn_sinkhorn_unbalanced_f32`/`_f64` for an `n x m` cost matrix
    ! (the larger of the two types, so one query serves both).
    !
    ! Returns `KN_OK`, `KN_ERR_NULL` (`bytes` NULL), `KN_ERR_DIMENSION` (`n` or `m`
    ! zero, or the size overflows).
    !
    ! # Safety
    ! `bytes` must be NULL or point to a writable `size_t`.
    function kn_sinkhorn_unbalanced_work_bytes(n, m, bytes) &
        bind(C, name="kn_sinkhorn_unbalanced_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_sinkhorn_unbalanced_work_bytes

    ! Unbalanced entropic optimal transport (f32), POT's
    ! `sinkhorn_unbalanced(a, b, C, reg, (reg_m1, reg_m2), reg_type='kl')`:
    ! min <P, C> + reg KL(P | a b^T) + reg_m1 KL(P 1 | a) + reg_m2 KL(P^T 1 | b)
    ! (generalised KL), by log-domain Sinkhorn iterations with the plan
    ! P_ij = exp((f_i + g_j - C_ij) / reg). Each update is the balanced one with its
    ! log-sum-exp scaled by reg_m / (reg_m + reg); with both penalties INFINITY it is
    ! `kn_sinkhorn_f32` (the same iterates, bit for bit; only the stopping measure
    ! differs).
    !
    ! - `C`: n*m row-major cost, finite.
    ! - `a` (n), `b` (m): positive; their sums may differ unless both penalties are
    !   INFINITY (then as `kn_sinkhorn_f32`).
    ! - `opts`: `reg` > 0 and finite, `reg_m1`, `reg_m2` >= 0 or INFINITY, `tol` > 0,
    !   `max_iter` > 0, `check_every` (0 = 1).
    ! - `f` (n), `g` (m): in/out dual potentials, finite; zeros are the cold start.
    ! - `plan` (nullable, n*m): receives P for the returned f, g.
    ! - `work`, `work_bytes`: at least `kn_sinkhorn_unbalanced_work_bytes(n, m)`
    !   bytes, any alignment (NULL only with 0 bytes).
    ! - `rep` (nullable): `iterations`, `error` = the change of the potentials in the
    !   last iteration, (max_i |df_i| + max_j |dg_j|) / (2 reg), `value` = <P, C>,
    !   `converged`.
    !
    ! Returns `KN_OK`; `KN_NOT_CONVERGED` (f, g, plan and rep written);
    ! `KN_ERR_NULL`; `KN_ERR_DIMENSION` (n or m zero, n*m overflows);
    ! `KN_ERR_WORKSPACE`; `KN_ERR_ARGUMENT` (opts out of range, reg_m negative or NaN,
    ! a or b not positive, unequal sums with both penalties INFINITY, a misaligned
    ! array, an output overlapping another argument); `KN_ERR_NON_FINITE` (NaN or inf
    ! in C, a, b, f, g); `KN_ERR_NUMERICAL` (max|C| / reg overflows the type: nothing
    ! written; or a potential overflowed during the iteration: f, g hold the last
    ! iterate that was finite, plan and rep are not written).
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values its description
    ! gives, valid for the call.
    function kn_sinkhorn_unbalanced_f32(n, m, C, a, b, opts, f, g, plan, work, &
        work_bytes, rep) &
        bind(C, name="kn_sinkhorn_unbalanced_f32") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      real(c_float), intent(in), optional :: C(*)
      real(c_float), intent(in), optional :: a(*)
      real(c_float), intent(in), optional :: b(*)
      type(kn_unbalanced_opts), intent(in), optional :: opts
      real(c_float), intent(inout), optional :: f(*)
      real(c_float), intent(inout), optional :: g(*)
      real(c_float), intent(inout), optional :: plan(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_sinkhorn_unbalanced_f32

    ! Unbalanced entropic optimal transport (f64), POT's
    ! `sinkhorn_unbalanced(a, b, C, reg, (reg_m1, reg_m2), reg_type='kl')`:
    ! min <P, C> + reg KL(P | a b^T) + reg_m1 KL(P 1 | a) + reg_m2 KL(P^T 1 | b)
    ! (generalised KL), by log-domain Sinkhorn iterations with the plan
    ! P_ij = exp((f_i + g_j - C_ij) / reg). Each update is the balanced one with its
    ! log-sum-exp scaled by reg_m / (reg_m + reg); with both penalties INFINITY it is
    ! `kn_sinkhorn_f64` (the same iterates, bit for bit; only the stopping measure
    ! differs).
    !
    ! - `C`: n*m row-major cost, finite.
    ! - `a` (n), `b` (m): positive; their sums may differ unless both penalties are
    !   INFINITY (then as `kn_sinkhorn_f64`).
    ! - `opts`: `reg` > 0 and finite, `reg_m1`, `reg_m2` >= 0 or INFINITY, `tol` > 0,
    !   `max_iter` > 0, `check_every` (0 = 1).
    ! - `f` (n), `g` (m): in/out dual potentials, finite; zeros are the cold start.
    ! - `plan` (nullable, n*m): receives P for the returned f, g.
    ! - `work`, `work_bytes`: at least `kn_sinkhorn_unbalanced_work_bytes(n, m)`
    !   bytes, any alignment (NULL only with 0 bytes).
    ! - `rep` (nullable): `iterations`, `error` = the change of the potentials in the
    !   last iteration, (max_i |df_i| + max_j |dg_j|) / (2 reg), `value` = <P, C>,
    !   `converged`.
    !
    ! Returns `KN_OK`; `KN_NOT_CONVERGED` (f, g, plan and rep written);
    ! `KN_ERR_NULL`; `KN_ERR_DIMENSION` (n or m zero, n*m overflows);
    ! `KN_ERR_WORKSPACE`; `KN_ERR_ARGUMENT` (opts out of range, reg_m negative or NaN,
    ! a or b not positive, unequal sums with both penalties INFINITY, a misaligned
    ! array, an output overlapping another argument); `KN_ERR_NON_FINITE` (NaN or inf
    ! in C, a, b, f, g); `KN_ERR_NUMERICAL` (max|C| / reg overflows the type: nothing
    ! written; or a potential overflowed during the iteration: f, g hold the last
    ! iterate that was finite, plan and rep are not written).
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values its description
    ! gives, valid for the call.
    function kn_sinkhorn_unbalanced_f64(n, m, C, a, b, opts, f, g, plan, work, &
        work_bytes, rep) &
        bind(C, name="kn_sinkhorn_unbalanced_f64") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      real(c_double), intent(in), optional :: C(*)
      real(c_double), intent(in), optional :: a(*)
      real(c_double), intent(in), optional :: b(*)
      type(kn_unbalanced_opts), intent(in), optional :: opts
      real(c_double), intent(inout), optional :: f(*)
      real(c_double), intent(inout), optional :: g(*)
      real(c_double), intent(inout), optional :: plan(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_sinkhorn_unbalanced_f64

    ! Workspace bytes of `kn_sinkhorn_batch_f32`/`_f64` for `batch` problems of
    ! `n x m` (the larger of the two types, so one query serves both):
    ! O(min(batch, 64) (n + m)); for `n` and `m` at most 64, up to 16 problems per run
    ! with their costs interleaved, O(min(batch + 15, 1024) (n m + 7 m + 6 n)).
    !
    ! Returns `KN_OK`, `KN_ERR_NULL` (`bytes` NULL), `KN_ERR_DIMENSION` (`batch`, `n`
    ! or `m` zero, or `batch * n * m` values, or the workspace, overflowing).
    !
    ! # Safety
    ! `bytes` must be NULL or point to a writable `size_t`.
    function kn_sinkhorn_batch_work_bytes(batch, n, m, bytes) &
        bind(C, name="kn_sinkhorn_batch_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: batch
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_sinkhorn_batch_work_bytes

    ! A batch of log-domain Sinkhorn problems of one size (f32): problem `p` is
    ! `kn_sinkhorn_f32(n, m, C + p*n*m, a + p*n, b + p*m, opts, f + p*n, g + p*m,
    ! plan + p*n*m, ...)` with its report in `reports[p]`, and its results are
    ! bit-identical to that call's. Each problem converges on its own (its own
    ! iteration count and flag in its report); the problems run on the library's
    ! threads (`kn_set_num_threads`) in fixed runs, so the results do not depend on the
    ! thread count. Problems of at most 64 x 64 run several at a time, one per vector
    ! lane (AVX2, AVX-512), with the same results.
    !
    ! - `C`: batch*n*m, row-major per problem, finite.
    ! - `a` (batch*n), `b` (batch*m): positive, each problem's sums equal (relative
    !   1e-6 in f32, 1e-12 in f64).
    ! - `opts`: as `kn_sinkhorn_f32`, for every problem.
    ! - `f` (batch*n), `g` (batch*m): in/out potentials, finite (zeros: cold start).
    ! - `plan` (nullable, batch*n*m): receives each problem's plan.
    ! - `work`, `work_bytes`: at least `kn_sinkhorn_batch_work_bytes(batch, n, m)`
    !   bytes, any alignment.
    ! - `reports` (nullable, batch): each problem's report, as `kn_sinkhorn_f32`'s.
    !
    ! Returns `KN_OK` when every problem converged, `KN_NOT_CONVERGED` otherwise
    ! (everything written); the argument errors of `kn_sinkhorn_f32` for any problem,
    ! and `KN_ERR_DIMENSION` for `batch` zero or `batch * n * m` overflowing, all
    ! before anything is written; `KN_ERR_NUMERICAL` (max|C| / reg overflowing for a
    ! problem: nothing written; or a potential of some problem overflowed during its
    ! iteration: that problem's f, g hold its last finite iterate and its plan and
    ! report are untouched, every other problem is solved and written).
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values its description
    ! gives, valid for the call.
    function kn_sinkhorn_batch_f32(batch, n, m, C, a, b, opts, f, g, plan, work, &
        work_bytes, reports) &
        bind(C, name="kn_sinkhorn_batch_f32") result(kn_result)
      import
      integer(c_size_t), value :: batch
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      real(c_float), intent(in), optional :: C(*)
      real(c_float), intent(in), optional :: a(*)
      real(c_float), intent(in), optional :: b(*)
      type(kn_sinkhorn_opts), intent(in), optional :: opts
      real(c_float), intent(inout), optional :: f(*)
      real(c_float), intent(inout), optional :: g(*)
      real(c_float), intent(inout), optional :: plan(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: reports
      integer(c_int32_t) :: kn_result
    end function kn_sinkhorn_batch_f32

    ! A batch of log-domain Sinkhorn problems of one size (f64): problem `p` is
    ! `kn_sinkhorn_f64(n, m, C + p*n*m, a + p*n, b + p*m, opts, f + p*n, g + p*m,
    ! plan + p*n*m, ...)` with its report in `reports[p]`, and its results are
    ! bit-identical to that call's. Each problem converges on its own (its own
    ! iteration count and flag in its report); the problems run on the library's
    ! threads (`kn_set_num_threads`) in fixed runs, so the results do not depend on the
    ! thread count.
    !
    ! - `C`: batch*n*m, row-major per problem, finite.
    ! - `a` (batch*n), `b` (batch*m): positive, each problem's sums equal (relative
    !   1e-6 in f32, 1e-12 in f64).
    ! - `opts`: as `kn_sinkhorn_f64`, for every problem.
    ! - `f` (batch*n), `g` (batch*m): in/out potentials, finite (zeros: cold start).
    ! - `plan` (nullable, batch*n*m): receives each problem's plan.
    ! - `work`, `work_bytes`: at least `kn_sinkhorn_batch_work_bytes(batch, n, m)`
    !   bytes, any alignment.
    ! - `reports` (nullable, batch): each problem's report, as `kn_sinkhorn_f64`'s.
    !
    ! Returns `KN_OK` when every problem converged, `KN_NOT_CONVERGED` otherwise
    ! (everything written); the argument errors of `kn_sinkhorn_f64` for any problem,
    ! and `KN_ERR_DIMENSION` for `batch` zero or `batch * n * m` overflowing, all
    ! before anything is written; `KN_ERR_NUMERICAL` (max|C| / reg overflowing for a
    ! problem: nothing written; or a potential of some problem overflowed during its
    ! iteration: that problem's f, g hold its last finite iterate and its plan and
    ! report are untouched, every other problem is solved and written).
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values its description
    ! gives, valid for the call.
    function kn_sinkhorn_batch_f64(batch, n, m, C, a, b, opts, f, g, plan, work, &
        work_bytes, reports) &
        bind(C, name="kn_sinkhorn_batch_f64") result(kn_result)
      import
      integer(c_size_t), value :: batch
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      real(c_double), intent(in), optional :: C(*)
      real(c_double), intent(in), optional :: a(*)
      real(c_double), intent(in), optional :: b(*)
      type(kn_sinkhorn_opts), intent(in), optional :: opts
      real(c_double), intent(inout), optional :: f(*)
      real(c_double), intent(inout), optional :: g(*)
      real(c_double), intent(inout), optional :: plan(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: reports
      integer(c_int32_t) :: kn_result
    end function kn_sinkhorn_batch_f64

    ! Workspace bytes of `kn_sinkhorn_points_f32`/`_f64` for `n` points against `m` in
    ! `d` dimensions (the larger of the two types, so one query serves both):
    ! O((n + m) (d + 1)) plus at most 8 MiB of row tiles (under 16 MiB for
    ! n = m = 100,000, d = 3).
    !
    ! Returns `KN_OK`, `KN_ERR_NULL` (`bytes` NULL), `KN_ERR_DIMENSION` (`n`, `m` or `d`
    ! zero, or `(n + m) * d`, or the workspace, overflowing).
    !
    ! # Safety
    ! `bytes` must be NULL or point to a writable `size_t`.
    function kn_sinkhorn_points_work_bytes(n, m, d, bytes) &
        bind(C, name="kn_sinkhorn_points_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      integer(c_size_t), value :: d
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_sinkhorn_points_work_bytes

    ! Log-domain Sinkhorn between two point clouds (f32): `kn_sinkhorn_f32` for the
    ! cost C_ij = |x_i - y_j|^2 (POT's `ot.dist` default), computed tile by tile on the
    ! fly and never stored, so that clouds whose n x m cost matrix would not fit in
    ! memory can be solved. Each entry is the direct sum of squared coordinate
    ! differences (never negative, no cancellation). There is no plan output: the
    ! plan is P_ij = exp((f_i + g_j - C_ij) / reg).
    !
    ! - `x` (n*d), `y` (m*d): the points, row-major, finite.
    ! - `a` (n), `b` (m): positive, equal sums (relative 1e-6 in f32, 1e-12 in f64).
    ! - `opts`: as `kn_sinkhorn_f32`.
    ! - `f` (n), `g` (m): in/out dual potentials, finite; zeros are the cold start.
    ! - `work`, `work_bytes`: at least `kn_sinkhorn_points_work_bytes(n, m, d)`
    !   bytes, any alignment (NULL only with 0 bytes).
    ! - `rep` (nullable): as `kn_sinkhorn_f32`'s; `value` = <P, C>, computed on the
    !   fly.
    !
    ! Returns `KN_OK`; `KN_NOT_CONVERGED` (f, g and rep written); `KN_ERR_NULL`;
    ! `KN_ERR_DIMENSION` (n, m or d zero, (n + m) * d overflows); `KN_ERR_WORKSPACE`;
    ! `KN_ERR_ARGUMENT` (opts out of range, a or b not positive or with different
    ! sums, a misaligned array, an output overlapping another argument);
    ! `KN_ERR_NON_FINITE` (NaN or inf in x, y, a, b, f, g); `KN_ERR_NUMERICAL` (a
    ! bound of max C / reg from the clouds' bounding boxes overflows the type:
    ! nothing written; or a potential overflowed during the iteration: f, g hold the
    ! last iterate that was finite, rep is not written).
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values its description
    ! gives, valid for the call.
    function kn_sinkhorn_points_f32(n, m, d, x, y, a, b, opts, f, g, work, work_bytes, &
        rep) &
        bind(C, name="kn_sinkhorn_points_f32") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      integer(c_size_t), value :: d
      real(c_float), intent(in), optional :: x(*)
      real(c_float), intent(in), optional :: y(*)
      real(c_float), intent(in), optional :: a(*)
      real(c_float), intent(in), optional :: b(*)
      type(kn_sinkhorn_opts), intent(in), optional :: opts
      real(c_float), intent(inout), optional :: f(*)
      real(c_float), intent(inout), optional :: g(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_sinkhorn_points_f32

    ! Log-domain Sinkhorn between two point clouds (f64): `kn_sinkhorn_f64` for the
    ! cost C_ij = |x_i - y_j|^2 (POT's `ot.dist` default), computed tile by tile on the
    ! fly and never stored, so that clouds whose n x m cost matrix would not fit in
    ! memory can be solved. Each entry is the direct sum of squared coordinate
    ! differences (never negative, no cancellation). There is no plan output: the
    ! plan is P_ij = exp((f_i + g_j - C_ij) / reg).
    !
    ! - `x` (n*d), `y` (m*d): the points, row-major, finite.
    ! - `a` (n), `b` (m): positive, equal sums (relative 1e-6 in f32, 1e-12 in f64).
    ! - `opts`: as `kn_sinkhorn_f64`.
    ! - `f` (n), `g` (m): in/out dual potentials, finite; zeros are the cold start.
    ! - `work`, `work_bytes`: at least `kn_sinkhorn_points_work_bytes(n, m, d)`
    !   bytes, any alignment (NULL only with 0 bytes).
    ! - `rep` (nullable): as `kn_sinkhorn_f64`'s; `value` = <P, C>, computed on the
    !   fly.
    !
    ! Returns `KN_OK`; `KN_NOT_CONVERGED` (f, g and rep written); `KN_ERR_NULL`;
    ! `KN_ERR_DIMENSION` (n, m or d zero, (n + m) * d overflows); `KN_ERR_WORKSPACE`;
    ! `KN_ERR_ARGUMENT` (opts out of range, a or b not positive or with different
    ! sums, a misaligned array, an output overlapping another argument);
    ! `KN_ERR_NON_FINITE` (NaN or inf in x, y, a, b, f, g); `KN_ERR_NUMERICAL` (a
    ! bound of max C / reg from the clouds' bounding boxes overflows the type:
    ! nothing written; or a potential overflowed during the iteration: f, g hold the
    ! last iterate that was finite, rep is not written).
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values its description
    ! gives, valid for the call.
    function kn_sinkhorn_points_f64(n, m, d, x, y, a, b, opts, f, g, work, work_bytes, &
        rep) &
        bind(C, name="kn_sinkhorn_points_f64") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      integer(c_size_t), value :: d
      real(c_double), intent(in), optional :: x(*)
      real(c_double), intent(in), optional :: y(*)
      real(c_double), intent(in), optional :: a(*)
      real(c_double), intent(in), optional :: b(*)
      type(kn_sinkhorn_opts), intent(in), optional :: opts
      real(c_double), intent(inout), optional :: f(*)
      real(c_double), intent(inout), optional :: g(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_sinkhorn_points_f64

    ! The default options of `kn_sns_*`, with `size` filled in: `reg` = 0.05, `tol` =
    ! 1e-9, `sinkhorn_iters` = 20, `max_newton` = 100, and 0 (each field's default) for
    ! `density`, `cg_max_iter` and `cg_tol`. Start from these and set the fields you
    ! need, so that fields added later keep their defaults.
    function kn_sns_opts_default() &
        bind(C, name="kn_sns_opts_default") result(kn_result)
      import
      type(kn_sns_opts) :: kn_result
    end function kn_sns_opts_default

    ! Workspace bytes of `kn_sns_f32`/`kn_sns_f64` for an `n x m` problem keeping
    ! at most `density * n * m` plan entries (0: the default of `kn_sns_opts`); the larger of
    ! the two types, so one query serves both.
    !
    ! Returns `KN_OK`, `KN_ERR_NULL` (`bytes` NULL), `KN_ERR_DIMENSION` (`n` or `m`
    ! zero, or the size overflows), `KN_ERR_ARGUMENT` (density outside [0, 1]).
    !
    ! # Safety
    ! `bytes` must be NULL or point to a writable `size_t`.
    function kn_sns_work_bytes(n, m, density, bytes) &
        bind(C, name="kn_sns_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      real(c_double), value :: density
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_sns_work_bytes

    ! Sinkhorn-Newton-Sparse for entropic optimal transport (f32): the problem,
    ! potentials and plan of `kn_sinkhorn_f32` (min <P, C> + reg * sum P (log P - 1)
    ! subject to P 1 = a, P^T 1 = b, P_ij = exp((f_i + g_j - C_ij) / reg)), solved by
    ! `sinkhorn_iters` Sinkhorn iterations and then Newton steps on the dual with a
    ! sparsified Hessian (the largest plan entries, at most density * n * m, plus the exact
    ! diagonal blocks), each solved by Jacobi-preconditioned CG and accepted by a
    ! backtracking line search. A step the line search rejects is replaced by a
    ! Sinkhorn iteration, and once the Newton steps gain less per pass over the plan
    ! than Sinkhorn iterations do (its rate measured in stage 1, and again where the
    ! Newton stage stands) and reach `tol` within half of the steps left, Sinkhorn
    ! iterations finish the solve, each counted as a Newton-stage step; the pair
    ! returned is the one with the smallest marginal
    ! error among the given pair and every iterate, never worse than the given one.
    !
    ! - `C`: n*m row-major cost, finite.
    ! - `a` (n), `b` (m): positive, equal sums (relative 1e-6 in f32, 1e-12 in f64).
    ! - `opts`: see `kn_sns_opts`.
    ! - `f` (n), `g` (m): in/out dual potentials, finite; zeros are the cold start.
    ! - `plan` (n*m): scratch during the solve; receives P for the returned f, g.
    ! - `work`, `work_bytes`: at least `kn_sns_work_bytes(n, m, opts->density)`
    !   bytes, any alignment (NULL only with 0 bytes).
    ! - `rep` (nullable): `iterations` = Sinkhorn iterations + Newton-stage steps,
    !   `inner_iterations` = CG iterations (at most `max_newton * cg_max_iter`; both
    !   counters saturate at UINT32_MAX), `error` = ||P 1 - a||_1 +
    !   ||P^T 1 - b||_1 of the returned f, g, `value` = <P, C>, `converged`.
    !
    ! Returns `KN_OK`; `KN_NOT_CONVERGED` (f, g, plan and rep written, tolerance not
    ! reached within the iteration caps); `KN_ERR_NULL`; `KN_ERR_DIMENSION` (n or m
    ! zero, sizes overflow); `KN_ERR_WORKSPACE`; `KN_ERR_ARGUMENT` (opts out of
    ! range, a or b not positive or with different sums, a misaligned array, an
    ! output overlapping another argument); `KN_ERR_NON_FINITE` (NaN or inf in C, a,
    ! b, f, g); `KN_ERR_NUMERICAL` (max|C| / reg overflows the type: nothing
    ! written; or a potential overflowed in a Sinkhorn iteration: f, g hold the best
    ! iterate so far, plan is unspecified, rep is not written).
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values its description
    ! gives, valid for the call.
    function kn_sns_f32(n, m, C, a, b, opts, f, g, plan, work, work_bytes, rep) &
        bind(C, name="kn_sns_f32") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      real(c_float), intent(in), optional :: C(*)
      real(c_float), intent(in), optional :: a(*)
      real(c_float), intent(in), optional :: b(*)
      type(kn_sns_opts), intent(in), optional :: opts
      real(c_float), intent(inout), optional :: f(*)
      real(c_float), intent(inout), optional :: g(*)
      real(c_float), intent(inout), optional :: plan(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_sns_f32

    ! Sinkhorn-Newton-Sparse for entropic optimal transport (f64): the problem,
    ! potentials and plan of `kn_sinkhorn_f64` (min <P, C> + reg * sum P (log P - 1)
    ! subject to P 1 = a, P^T 1 = b, P_ij = exp((f_i + g_j - C_ij) / reg)), solved by
    ! `sinkhorn_iters` Sinkhorn iterations and then Newton steps on the dual with a
    ! sparsified Hessian (the largest plan entries, at most density * n * m, plus the exact
    ! diagonal blocks), each solved by Jacobi-preconditioned CG and accepted by a
    ! backtracking line search. A step the line search rejects is replaced by a
    ! Sinkhorn iteration, and once the Newton steps gain less per pass over the plan
    ! than Sinkhorn iterations do (its rate measured in stage 1, and again where the
    ! Newton stage stands) and reach `tol` within half of the steps left, Sinkhorn
    ! iterations finish the solve, each counted as a Newton-stage step; the pair
    ! returned is the one with the smallest marginal
    ! error among the given pair and every iterate, never worse than the given one.
    !
    ! - `C`: n*m row-major cost, finite.
    ! - `a` (n), `b` (m): positive, equal sums (relative 1e-6 in f32, 1e-12 in f64).
    ! - `opts`: see `kn_sns_opts`.
    ! - `f` (n), `g` (m): in/out dual potentials, finite; zeros are the cold start.
    ! - `plan` (n*m): scratch during the solve; receives P for the returned f, g.
    ! - `work`, `work_bytes`: at least `kn_sns_work_bytes(n, m, opts->density)`
    !   bytes, any alignment (NULL only with 0 bytes).
    ! - `rep` (nullable): `iterations` = Sinkhorn iterations + Newton-stage steps,
    !   `inner_iterations` = CG iterations (at most `max_newton * cg_max_iter`; both
    !   counters saturate at UINT32_MAX), `error` = ||P 1 - a||_1 +
    !   ||P^T 1 - b||_1 of the returned f, g, `value` = <P, C>, `converged`.
    !
    ! Returns `KN_OK`; `KN_NOT_CONVERGED` (f, g, plan and rep written, tolerance not
    ! reached within the iteration caps); `KN_ERR_NULL`; `KN_ERR_DIMENSION` (n or m
    ! zero, sizes overflow); `KN_ERR_WORKSPACE`; `KN_ERR_ARGUMENT` (opts out of
    ! range, a or b not positive or with different sums, a misaligned array, an
    ! output overlapping another argument); `KN_ERR_NON_FINITE` (NaN or inf in C, a,
    ! b, f, g); `KN_ERR_NUMERICAL` (max|C| / reg overflows the type: nothing
    ! written; or a potential overflowed in a Sinkhorn iteration: f, g hold the best
    ! iterate so far, plan is unspecified, rep is not written).
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values its description
    ! gives, valid for the call.
    function kn_sns_f64(n, m, C, a, b, opts, f, g, plan, work, work_bytes, rep) &
        bind(C, name="kn_sns_f64") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), value :: m
      real(c_double), intent(in), optional :: C(*)
      real(c_double), intent(in), optional :: a(*)
      real(c_double), intent(in), optional :: b(*)
      type(kn_sns_opts), intent(in), optional :: opts
      real(c_double), intent(inout), optional :: f(*)
      real(c_double), intent(inout), optional :: g(*)
      real(c_double), intent(inout), optional :: plan(*)
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_sns_f64

    ! In-place SOR sweeps on the `n x n` CSR matrix A (f32):
    ! `x_i <- (1 - omega) x_i + omega (b_i - sum_{j != i} a_ij x_j) / a_ii`, row by row
    ! in the order `sweep` gives (`KN_SWEEP_FORWARD`, `KN_SWEEP_BACKWARD`, or
    ! `KN_SWEEP_SYMMETRIC` = forward then backward), `sweeps` times (0 = validate only).
    !
    ! Arguments: `indptr` (n + 1), `indices` (`indptr[n]`, strictly increasing within a
    ! row, < n) and `values` (`indptr[n]`) are A in CSR form; `b` (n) the right-hand side;
    ! `x` (n) the iterate, in/out; `omega` in (0, 2).
    !
    ! Status: `KN_OK`; `KN_ERR_NULL` (a NULL array); `KN_ERR_DIMENSION` (n = 0, or sizes
    ! that overflow); `KN_ERR_ARGUMENT` (omega outside (0, 2), an unknown `sweep`, a
    ! malformed CSR structure, a zero or missing diagonal entry, misaligned or
    ! overlapping arrays); `KN_ERR_NON_FINITE` (NaN or infinity in values, b or x): on
    ! all of these x is untouched. `KN_ERR_NUMERICAL`: the sweeps overflowed (SOR
    ! diverged); x holds the last sweep's values.
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values given above, valid for
    ! the call.
    function kn_sor_csr_f32(n, indptr, indices, values, b, x, omega, sweep, sweeps) &
        bind(C, name="kn_sor_csr_f32") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), intent(in), optional :: indptr(*)
      integer(c_int32_t), intent(in), optional :: indices(*)
      real(c_float), intent(in), optional :: values(*)
      real(c_float), intent(in), optional :: b(*)
      real(c_float), intent(inout), optional :: x(*)
      real(c_float), value :: omega
      integer(c_int32_t), value :: sweep
      integer(c_int32_t), value :: sweeps
      integer(c_int32_t) :: kn_result
    end function kn_sor_csr_f32

    ! In-place SOR sweeps on a CSR matrix (f64); see `kn_sor_csr_f32`.
    !
    ! # Safety
    ! As for `kn_sor_csr_f32`.
    function kn_sor_csr_f64(n, indptr, indices, values, b, x, omega, sweep, sweeps) &
        bind(C, name="kn_sor_csr_f64") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), intent(in), optional :: indptr(*)
      integer(c_int32_t), intent(in), optional :: indices(*)
      real(c_double), intent(in), optional :: values(*)
      real(c_double), intent(in), optional :: b(*)
      real(c_double), intent(inout), optional :: x(*)
      real(c_double), value :: omega
      integer(c_int32_t), value :: sweep
      integer(c_int32_t), value :: sweeps
      integer(c_int32_t) :: kn_result
    end function kn_sor_csr_f64

    ! Workspace bytes `kn_sor_solve_csr_f32`/`_f64` need for order `n`, into `*bytes`
    ! (currently 0: NULL work with 0 bytes is fine).
    !
    ! Status: `KN_OK`; `KN_ERR_NULL` (bytes is NULL); `KN_ERR_DIMENSION` (n = 0).
    !
    ! # Safety
    ! `bytes` must be NULL or valid for one write.
    function kn_sor_solve_work_bytes(n, bytes) &
        bind(C, name="kn_sor_solve_work_bytes") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), intent(out), optional :: bytes
      integer(c_int32_t) :: kn_result
    end function kn_sor_solve_work_bytes

    ! Forward SOR iterations on A x = b (f32) from the initial guess in `x` until the
    ! relative residual `||b - A x|| / ||b|| <= tol` (checked before the first sweep and
    ! after each one; the absolute residual when b = 0), at most `max_iter` sweeps.
    !
    ! Arguments: A in CSR form and `b`, `x`, `omega` as for `kn_sor_csr_f32`; `tol` > 0;
    ! `max_iter` > 0; `work`/`work_bytes` as `kn_sor_solve_work_bytes` says (any
    ! alignment); `rep` (nullable) receives `iterations` = sweeps done, `error` = the
    ! relative residual at exit, `converged`.
    !
    ! Status: `KN_OK` (converged); `KN_NOT_CONVERGED` (x holds the last iterate, rep is
    ! filled); `KN_ERR_NULL`, `KN_ERR_DIMENSION`, `KN_ERR_WORKSPACE`, `KN_ERR_ARGUMENT`
    ! (also tol not positive, max_iter = 0), `KN_ERR_NON_FINITE`: x and rep untouched.
    ! `KN_ERR_NUMERICAL`: the residual overflowed (SOR diverged); x holds the last
    ! iterate, rep is not written.
    !
    ! # Safety
    ! Each non-NULL pointer must point to the number of values given above, valid for
    ! the call.
    function kn_sor_solve_csr_f32(n, indptr, indices, values, b, x, omega, tol, &
        max_iter, work, work_bytes, rep) &
        bind(C, name="kn_sor_solve_csr_f32") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), intent(in), optional :: indptr(*)
      integer(c_int32_t), intent(in), optional :: indices(*)
      real(c_float), intent(in), optional :: values(*)
      real(c_float), intent(in), optional :: b(*)
      real(c_float), intent(inout), optional :: x(*)
      real(c_float), value :: omega
      real(c_double), value :: tol
      integer(c_int32_t), value :: max_iter
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_sor_solve_csr_f32

    ! Forward SOR iterations to a relative residual (f64); see `kn_sor_solve_csr_f32`.
    !
    ! # Safety
    ! As for `kn_sor_solve_csr_f32`.
    function kn_sor_solve_csr_f64(n, indptr, indices, values, b, x, omega, tol, &
        max_iter, work, work_bytes, rep) &
        bind(C, name="kn_sor_solve_csr_f64") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_size_t), intent(in), optional :: indptr(*)
      integer(c_int32_t), intent(in), optional :: indices(*)
      real(c_double), intent(in), optional :: values(*)
      real(c_double), intent(in), optional :: b(*)
      real(c_double), intent(inout), optional :: x(*)
      real(c_double), value :: omega
      real(c_double), value :: tol
      integer(c_int32_t), value :: max_iter
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_sor_solve_csr_f64

    ! `kn_sor_csr_f32` on a matrix checked once by `kn_csr_init_f32`: the same sweeps
    ! and statuses, without reading the whole matrix to validate it (the handle's
    ! contract: its arrays are unchanged since init). A handle that `kn_csr_init_f32`
    ! did not write (or wrote for f64) is `KN_ERR_ARGUMENT`.
    !
    ! # Safety
    ! `h` must be NULL or point to a readable `kn_csr` whose arrays are still valid;
    ! `b` and `x` as for `kn_sor_csr_f32`.
    function kn_sor_csr_h_f32(h, b, x, omega, sweep, sweeps) &
        bind(C, name="kn_sor_csr_h_f32") result(kn_result)
      import
      type(kn_csr), intent(in), optional :: h
      real(c_float), intent(in), optional :: b(*)
      real(c_float), intent(inout), optional :: x(*)
      real(c_float), value :: omega
      integer(c_int32_t), value :: sweep
      integer(c_int32_t), value :: sweeps
      integer(c_int32_t) :: kn_result
    end function kn_sor_csr_h_f32

    ! `kn_sor_csr_h_f32` for f64 (a handle from `kn_csr_init_f64`).
    !
    ! # Safety
    ! As for `kn_sor_csr_h_f32`.
    function kn_sor_csr_h_f64(h, b, x, omega, sweep, sweeps) &
        bind(C, name="kn_sor_csr_h_f64") result(kn_result)
      import
      type(kn_csr), intent(in), optional :: h
      real(c_double), intent(in), optional :: b(*)
      real(c_double), intent(inout), optional :: x(*)
      real(c_double), value :: omega
      integer(c_int32_t), value :: sweep
      integer(c_int32_t), value :: sweeps
      integer(c_int32_t) :: kn_result
    end function kn_sor_csr_h_f64

    ! `kn_sor_solve_csr_f32` on a matrix checked once by `kn_csr_init_f32` (see
    ! `kn_sor_csr_h_f32`).
    !
    ! # Safety
    ! `h` as for `kn_sor_csr_h_f32`; the rest as for `kn_sor_solve_csr_f32`.
    function kn_sor_solve_csr_h_f32(h, b, x, omega, tol, max_iter, work, work_bytes, rep) &
        bind(C, name="kn_sor_solve_csr_h_f32") result(kn_result)
      import
      type(kn_csr), intent(in), optional :: h
      real(c_float), intent(in), optional :: b(*)
      real(c_float), intent(inout), optional :: x(*)
      real(c_float), value :: omega
      real(c_double), value :: tol
      integer(c_int32_t), value :: max_iter
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_sor_solve_csr_h_f32

    ! `kn_sor_solve_csr_h_f32` for f64 (a handle from `kn_csr_init_f64`).
    !
    ! # Safety
    ! As for `kn_sor_solve_csr_h_f32`.
    function kn_sor_solve_csr_h_f64(h, b, x, omega, tol, max_iter, work, work_bytes, rep) &
        bind(C, name="kn_sor_solve_csr_h_f64") result(kn_result)
      import
      type(kn_csr), intent(in), optional :: h
      real(c_double), intent(in), optional :: b(*)
      real(c_double), intent(inout), optional :: x(*)
      real(c_double), value :: omega
      real(c_double), value :: tol
      integer(c_int32_t), value :: max_iter
      type(*), intent(inout), optional :: work(*)
      integer(c_size_t), value :: work_bytes
      type(kn_report), intent(inout), optional :: rep
      integer(c_int32_t) :: kn_result
    end function kn_sor_solve_csr_h_f64

    ! In-place red-black SOR sweeps (f32) for the matrix `(4 + shift) I - (sum of the
    ! four neighbours)` on an `nx`-by-`ny` interior grid with zero Dirichlet boundary.
    ! `x` and `b` are `nx * ny` values, row-major: `x[i * nx + j]`, row `i < ny`, column
    ! `j < nx`. One sweep updates the red points (i + j even), then the black points
    ! (i + j odd); `sweeps` = 0 validates only.
    !
    ! Status: `KN_OK`; `KN_ERR_NULL`; `KN_ERR_DIMENSION` (nx or ny zero, product
    ! overflow); `KN_ERR_ARGUMENT` (omega outside (0, 2), 4 + shift zero, misaligned or
    ! overlapping arrays); `KN_ERR_NON_FINITE` (NaN or infinity in shift, b or x): on
    ! all of these x is untouched. `KN_ERR_NUMERICAL`: the sweeps overflowed; x holds
    ! the last sweep's values.
    !
    ! # Safety
    ! `b` and `x` must be NULL or point to `nx * ny` values, valid for the call.
    function kn_sor_grid2d_f32(nx, ny, shift, b, x, omega, sweeps) &
        bind(C, name="kn_sor_grid2d_f32") result(kn_result)
      import
      integer(c_size_t), value :: nx
      integer(c_size_t), value :: ny
      real(c_float), value :: shift
      real(c_float), intent(in), optional :: b(*)
      real(c_float), intent(inout), optional :: x(*)
      real(c_float), value :: omega
      integer(c_int32_t), value :: sweeps
      integer(c_int32_t) :: kn_result
    end function kn_sor_grid2d_f32

    ! In-place red-black SOR sweeps on the shifted 5-point grid (f64); see
    ! `kn_sor_grid2d_f32`.
    !
    ! # Safety
    ! As for `kn_sor_grid2d_f32`.
    function kn_sor_grid2d_f64(nx, ny, shift, b, x, omega, sweeps) &
        bind(C, name="kn_sor_grid2d_f64") result(kn_result)
      import
      integer(c_size_t), value :: nx
      integer(c_size_t), value :: ny
      real(c_double), value :: shift
      real(c_double), intent(in), optional :: b(*)
      real(c_double), intent(inout), optional :: x(*)
      real(c_double), value :: omega
      integer(c_int32_t), value :: sweeps
      integer(c_int32_t) :: kn_result
    end function kn_sor_grid2d_f64

    ! Initialises a non-contextual omega tuner: Tsallis-INF over `arms` omegas evenly
    ! spaced on [omega_min, omega_max], driven by `seed` (same seed, same choices).
    !
    ! Arguments: `t` the state to initialise (its previous contents are ignored);
    ! `arms` in 2 .. KN_OMEGA_TUNER_MAX_ARMS; 0 < omega_min < omega_max < 2.
    !
    ! Status: `KN_OK`; `KN_ERR_NULL`; `KN_ERR_ARGUMENT` (a range violated, misaligned
    ! t); `KN_ERR_NON_FINITE` (NaN or infinite bounds): on errors `*t` is untouched.
    !
    ! # Safety
    ! `t` must be NULL or valid for writes of one `kn_omega_tuner`.
    function kn_omega_tuner_init(t, arms, omega_min, omega_max, seed) &
        bind(C, name="kn_omega_tuner_init") result(kn_result)
      import
      type(kn_omega_tuner), intent(inout), optional :: t
      integer(c_int32_t), value :: arms
      real(c_double), value :: omega_min
      real(c_double), value :: omega_max
      integer(c_int64_t), value :: seed
      integer(c_int32_t) :: kn_result
    end function kn_omega_tuner_init

    ! Initialises a contextual omega tuner over the same grid of omegas: per arm a
    ! ridge regression of the cost on Chebyshev features (degree 5) of the context
    ! mapped from [context_min, context_max] to [-1, 1] (outside values are clamped),
    ! with inverse-gap-weighted sampling (ChebCB).
    !
    ! Status: as `kn_omega_tuner_init`, plus `KN_ERR_ARGUMENT` for
    ! context_min >= context_max and `KN_ERR_NON_FINITE` for non-finite context bounds.
    !
    ! # Safety
    ! `t` must be NULL or valid for writes of one `kn_omega_tuner`.
    function kn_omega_tuner_init_contextual(t, arms, omega_min, omega_max, context_min, &
        context_max, seed) &
        bind(C, name="kn_omega_tuner_init_contextual") result(kn_result)
      import
      type(kn_omega_tuner), intent(inout), optional :: t
      integer(c_int32_t), value :: arms
      real(c_double), value :: omega_min
      real(c_double), value :: omega_max
      real(c_double), value :: context_min
      real(c_double), value :: context_max
      integer(c_int64_t), value :: seed
      integer(c_int32_t) :: kn_result
    end function kn_omega_tuner_init_contextual

    ! Draws the omega for the next system into `*omega`. `context` is used by a
    ! contextual tuner and ignored otherwise. Must be followed by exactly one
    ! `kn_omega_tuner_feedback` before the next call.
    !
    ! Status: `KN_OK`; `KN_ERR_NULL`; `KN_ERR_ARGUMENT` (t is not a valid initialised
    ! state, a previous draw still waits for its feedback, misaligned or overlapping
    ! pointers); `KN_ERR_NON_FINITE` (a contextual tuner given a NaN or infinite
    ! context): on errors neither `*t` nor `*omega` is written.
    !
    ! # Safety
    ! `t` must be NULL or point to a `kn_omega_tuner`, `omega` NULL or valid for one
    ! write.
    function kn_omega_tuner_next(t, context, omega) &
        bind(C, name="kn_omega_tuner_next") result(kn_result)
      import
      type(kn_omega_tuner), intent(inout), optional :: t
      real(c_double), value :: context
      real(c_double), intent(out), optional :: omega
      integer(c_int32_t) :: kn_result
    end function kn_omega_tuner_next

    ! Reports the cost of the system solved with the last drawn omega: any
    ! nonnegative measure, lower is better (sweeps, seconds).
    !
    ! Status: `KN_OK`; `KN_ERR_NULL`; `KN_ERR_ARGUMENT` (invalid state, no draw waiting
    ! for feedback, negative cost, or a cost that takes the sum of all costs reported to
    ! this tuner above 2^512, about 1.3e154); `KN_ERR_NON_FINITE` (NaN or infinite cost):
    ! on errors `*t` is untouched.
    !
    ! # Safety
    ! `t` must be NULL or point to a `kn_omega_tuner`.
    function kn_omega_tuner_feedback(t, cost) &
        bind(C, name="kn_omega_tuner_feedback") result(kn_result)
      import
      type(kn_omega_tuner), intent(inout), optional :: t
      real(c_double), value :: cost
      integer(c_int32_t) :: kn_result
    end function kn_omega_tuner_feedback

    ! The library version as `major << 16 | minor << 8 | patch`.
    !
    ! Compare with the `KN_VERSION_*` macros to check that the header matches the
    ! library linked.
    function kn_version() &
        bind(C, name="kn_version") result(kn_result)
      import
      integer(c_int32_t) :: kn_result
    end function kn_version

    ! A static, NUL-terminated English sentence for any status value (unknown values
    ! included). Never NULL; the caller must not free it.
    function kn_status_str(status) &
        bind(C, name="kn_status_str") result(kn_result)
      import
      integer(c_int32_t), value :: status
      type(c_ptr) :: kn_result
    end function kn_status_str

    ! Sets how many threads later calls may use: 0 = every available core, 1 = every
    ! call runs on the calling thread. Without it, the count comes from the environment
    ! variable `KN_NUM_THREADS` (read once, at first use; an invalid value is reported
    ! on stderr once and ignored), else every available core.
    !
    ! Results do not depend on the count: every kernel cuts its work into tiles fixed by
    ! the problem size and combines them in tile order, so 1, 2 or 64 threads give the
    ! same bits. Calls too small to gain from threads run on the calling thread. The pool
    ! is shared by all callers: calling from many threads at once queues work on it
    ! (no oversubscription), and a kernel called from inside one of its workers runs
    ! sequentially. Calls already running finish on the pool they started with.
    ! Workspace queries of kernels with per-head scratch (`kn_linattn_work_bytes`,
    ! `kn_h2o_prefill_work_bytes`) give the minimum, one head at a time; a workspace of
    ! `t` times that lets `t` heads run at once (`kn_linattn_threads_work_bytes` also
    ! covers the chunks of one head at once, for fewer heads than threads).
    !
    ! MPI programs that run one rank per core should set 1 (or `KN_NUM_THREADS=1`).
    !
    ! Statuses: `KN_OK`; `KN_ERR_ARGUMENT` (`n` above 4096; nothing changes);
    ! `KN_ERR_UNSUPPORTED` (a build without threads, such as firmware);
    ! `KN_ERR_INTERNAL` (the system refused to start the threads; nothing changes).
    function kn_set_num_threads(n) &
        bind(C, name="kn_set_num_threads") result(kn_result)
      import
      integer(c_size_t), value :: n
      integer(c_int32_t) :: kn_result
    end function kn_set_num_threads

    ! The number of threads calls use now (1 in builds without threads).
    function kn_num_threads() &
        bind(C, name="kn_num_threads") result(kn_result)
      import
      integer(c_size_t) :: kn_result
    end function kn_num_threads
  end interface
end module kernels
