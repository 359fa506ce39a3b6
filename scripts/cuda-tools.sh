# Sourced by test-all.sh and gpu-check.sh: puts NVRTC (LD_LIBRARY_PATH) and ptxas
# (KN_PTXAS, unless already set) from the PyPI wheels nvidia-cuda-nvrtc-cu12 and
# nvidia-cuda-nvcc-cu12 within reach when they are installed, so the CUDA sources can
# be compiled to PTX and assembled for sm_90 even without a GPU.
py_pkg_dir() {
  python3 -c "import importlib, sys; m = importlib.import_module('$1'); print(list(m.__path__)[0])" 2>/dev/null
}
if nvrtc_dir=$(py_pkg_dir nvidia.cuda_nvrtc) && [ -d "$nvrtc_dir/lib" ]; then
  export LD_LIBRARY_PATH="$nvrtc_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
if [ -z "${KN_PTXAS:-}" ] && nvcc_dir=$(py_pkg_dir nvidia.cuda_nvcc) && [ -x "$nvcc_dir/bin/ptxas" ]; then
  export KN_PTXAS="$nvcc_dir/bin/ptxas"
fi
