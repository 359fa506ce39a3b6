//! Links every C entry point of the library into a bare-metal binary with no
//! allocator. If any kernel reached for `alloc`, this would fail to link ("no global
//! memory allocator found"); the check script also scans the static library's
//! undefined symbols for allocator and libc allocation functions.
#![no_std]
#![no_main]

use core::hint::black_box;

/// Entry point for the link (never run): takes the address of every exported function
/// so the linker keeps them all, and calls the two that take no buffers. Each kernel
/// family adds its functions to the list.
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let entry_points: &[*const ()] = &[
        kernels::kn_version as *const (),
        kernels::kn_status_str as *const (),
        kernels::kn_h2o_opts_default as *const (),
        kernels::kn_h2o_prefill_work_bytes as *const (),
        kernels::kn_h2o_prefill_f32 as *const (),
        kernels::kn_h2o_prefill_f16_work_bytes as *const (),
        kernels::kn_h2o_prefill_bf16_work_bytes as *const (),
        kernels::kn_h2o_prefill_f16 as *const (),
        kernels::kn_h2o_prefill_bf16 as *const (),
        kernels::kn_h2o_cache_init as *const (),
        kernels::kn_h2o_decode_work_bytes as *const (),
        kernels::kn_h2o_decode_f32 as *const (),
        kernels::kn_h2o_cache_init_f16 as *const (),
        kernels::kn_h2o_cache_init_bf16 as *const (),
        kernels::kn_h2o_decode_f16_work_bytes as *const (),
        kernels::kn_h2o_decode_bf16_work_bytes as *const (),
        kernels::kn_h2o_decode_f16 as *const (),
        kernels::kn_h2o_decode_bf16 as *const (),
        kernels::kn_sinkhorn_opts_default as *const (),
        kernels::kn_scale_work_bytes as *const (),
        kernels::kn_scale_f32 as *const (),
        kernels::kn_scale_f64 as *const (),
        kernels::kn_sinkhorn_work_bytes as *const (),
        kernels::kn_sinkhorn_f32 as *const (),
        kernels::kn_sinkhorn_f64 as *const (),
        kernels::kn_sinkhorn_batch_work_bytes as *const (),
        kernels::kn_sinkhorn_batch_f32 as *const (),
        kernels::kn_sinkhorn_batch_f64 as *const (),
        kernels::kn_unbalanced_opts_default as *const (),
        kernels::kn_sinkhorn_unbalanced_work_bytes as *const (),
        kernels::kn_sinkhorn_unbalanced_f32 as *const (),
        kernels::kn_sinkhorn_unbalanced_f64 as *const (),
        kernels::kn_sinkhorn_points_work_bytes as *const (),
        kernels::kn_sinkhorn_points_f32 as *const (),
        kernels::kn_sinkhorn_points_f64 as *const (),
        kernels::kn_sns_opts_default as *const (),
        kernels::kn_sns_work_bytes as *const (),
        kernels::kn_sns_f32 as *const (),
        kernels::kn_sns_f64 as *const (),
        kernels::kn_linattn_work_bytes as *const (),
        kernels::kn_linattn_threads_work_bytes as *const (),
        kernels::kn_linattn_forward_f32 as *const (),
        kernels::kn_linattn_chunk_state_f32 as *const (),
        kernels::kn_linattn_state_scan_f32 as *const (),
        kernels::kn_linattn_gated_work_bytes as *const (),
        kernels::kn_linattn_gated_forward_f32 as *const (),
        kernels::kn_linattn_gated_chunk_state_f32 as *const (),
        kernels::kn_linattn_gated_state_scan_f32 as *const (),
        kernels::kn_linattn_forward_varlen_f32 as *const (),
        kernels::kn_linattn_gated_forward_varlen_f32 as *const (),
        kernels::kn_linattn_f16_work_bytes as *const (),
        kernels::kn_linattn_bf16_work_bytes as *const (),
        kernels::kn_linattn_gated_f16_work_bytes as *const (),
        kernels::kn_linattn_gated_bf16_work_bytes as *const (),
        kernels::kn_linattn_forward_f16 as *const (),
        kernels::kn_linattn_forward_bf16 as *const (),
        kernels::kn_linattn_gated_forward_f16 as *const (),
        kernels::kn_linattn_gated_forward_bf16 as *const (),
        // sor
        kernels::kn_sor_csr_f32 as *const (),
        kernels::kn_sor_csr_f64 as *const (),
        kernels::kn_sor_solve_work_bytes as *const (),
        kernels::kn_sor_solve_csr_f32 as *const (),
        kernels::kn_sor_solve_csr_f64 as *const (),
        kernels::kn_sor_grid2d_f32 as *const (),
        kernels::kn_sor_grid2d_f64 as *const (),
        kernels::kn_omega_tuner_init as *const (),
        kernels::kn_omega_tuner_init_contextual as *const (),
        kernels::kn_omega_tuner_next as *const (),
        kernels::kn_omega_tuner_feedback as *const (),
        kernels::kn_pager_work_bytes as *const (),
        kernels::kn_pager_init as *const (),
        kernels::kn_pager_access as *const (),
        kernels::kn_pager_access_ctx as *const (),
        kernels::kn_paging_simulate as *const (),
        kernels::kn_paging_simulate_ctx as *const (),
        kernels::kn_paging_offline_work_bytes as *const (),
        kernels::kn_paging_offline as *const (),
        // cg
        kernels::kn_cg_opts_default as *const (),
        kernels::kn_cg_work_bytes as *const (),
        kernels::kn_cg_csr_f32 as *const (),
        kernels::kn_cg_csr_f64 as *const (),
    ];
    for &f in black_box(entry_points) {
        black_box(f);
    }
    black_box(kernels::kn_status_str(black_box(
        kernels::kn_version() as i32
    )));
    loop {
        core::hint::spin_loop();
    }
}
