#!/usr/bin/env bash
# Installs everything whittle needs on a fresh Debian 12 machine. Idempotent.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libblas-dev                        # cblas.h for the attention kernel
  libtorch-dev                       # tensors and autograd (LibTorch 1.13)
  libopenblas0-openmp                # OpenMP BLAS: shares LibTorch's thread pool
  libomp-dev
  nlohmann-json3-dev libtomlplusplus-dev libcli11-dev libarchive-dev libutf8proc-dev
  libgtest-dev libgmock-dev
  libprotobuf-dev libonnx-dev        # ONNX export: ModelProto, checker, shape inference (ONNX 1.12)
  gnuplot-nox
  openmpi-bin                        # mpirun launches sweeps and data-parallel training (no MPI library is linked)
  libgloo-dev                        # Gloo's headers, which LibTorch's ProcessGroupGloo header includes
  python3-torch python3-numpy        # bench/ comparison with PyTorch eager mode
  clang libclang-rt-14-dev           # scripts/fuzz.sh: libFuzzer, AddressSanitizer, UndefinedBehaviorSanitizer
  libstdc++-11-dev                   # ... whose clang 14 needs libstdc++ 11's headers for LibTorch in C++20
)

# node and npm regenerate the tokenizer parity fixture and run the ONNX export
# in onnxruntime-node (scripts/onnx/install.sh). Some images ship NodeSource's
# nodejs, which bundles npm and conflicts with Debian's npm package.
if ! command -v node >/dev/null; then packages+=(nodejs); fi
if ! command -v npm >/dev/null; then packages+=(npm); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi
