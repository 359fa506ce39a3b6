# Sourced by test-all.sh and gpu-check.sh: puts NVRTC (LD_LIBRARY_PATH) and ptxas
# (KN_PTXAS, unless already set) from the PyPI wheels nvidia-cuda-nvrtc-cu12 and
# nvidia-cuda-nvcc-cu12 within reach when they are installed, so the CUDA sources can
# be compiled to PTX and assembled for sm_90 even without a GPU. The wheels are looked
# for in the project's virtual environment first (.venv at the repository root, or
# KN_VENV; scripts/setup.sh makes it), then in the system Python's packages.
kn_venv=${KN_VENV:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv}
py_pkg_dir() {
  local py
  for py in "$kn_venv/bin/python" python3; do
    "$py" -c "import importlib, sys; m = importlib.import_module('$1'); print(list(m.__path__)[0])" 2>/dev/null &&
      return 0
  done
  return 1
}
if nvrtc_dir=$(py_pkg_dir nvidia.cuda_nvrtc) && [ -d "$nvrtc_dir/lib" ]; then
  export LD_LIBRARY_PATH="$nvrtc_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
if [ -z "${KN_PTXAS:-}" ] && nvcc_dir=$(py_pkg_dir nvidia.cuda_nvcc) && [ -x "$nvcc_dir/bin/ptxas" ]; then
  export KN_PTXAS="$nvcc_dir/bin/ptxas"
fi
