#!/usr/bin/env bash
# install-onnxruntime-jetson.sh — onnxruntime for Node with the TensorRT and
# CUDA execution providers, for this Jetson's JetPack.
#
# Where it comes from:
#   * NVIDIA's Jetson Zoo (elinux.org/Jetson_Zoo#ONNX_Runtime) publishes GPU
#     builds of onnxruntime for JetPack 5/6 as Python wheels only; the npm
#     package onnxruntime-node ships a CPU-only linux-arm64 binding. For Node
#     on Jetson the binding is built from source:
#       build.sh --use_cuda --use_tensorrt --build_nodejs --build_shared_lib
#     against the JetPack's CUDA, cuDNN and TensorRT (hours on an Orin;
#     about 30 GB of disk). This script runs that build (default), or
#   * installs a prebuilt tarball (--prebuilt FILE), e.g. one exported from a
#     build on another unit with the same JetPack (--export FILE).
# The result (onnxruntime_binding.node, libonnxruntime.so.1 and the
# providers_shared/cuda/tensorrt libraries) goes to
# ROOT/opt/bestshot/onnxruntime/<version>/ and over
# <node_modules>/onnxruntime-node/bin/napi-v6/linux/arm64/ of the checkout
# that package.sh then bundles. The version defaults to the checkout's
# onnxruntime-node version, so the JS API and the binding match.
#
# It cannot build here (not a Jetson): --dry-run prints exactly what it
# would run after checking prerequisites.
set -euo pipefail

BS_PROG=install-onnxruntime
SCRIPT_DIR=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=lib/common.sh
. "$SCRIPT_DIR/lib/common.sh"

usage() {
  cat <<'USAGE'
usage: install-onnxruntime-jetson.sh [--root DIR] [--dry-run] [--skip-checks]
         [--ort-version V] [--prebuilt FILE | --build-dir DIR [--jobs N] [--export FILE]]
         [--cuda-arch LIST] [--node-modules DIR]
options:
  --root DIR          root prefix (default /)
  --dry-run           check prerequisites and print the plan; change nothing
  --skip-checks       warn about missing prerequisites instead of failing
  --ort-version V     onnxruntime release (default: the checkout's onnxruntime-node)
  --prebuilt FILE     install this tarball instead of building
  --build-dir DIR     where to clone and build (default /var/tmp/bestshot-onnxruntime)
  --jobs N            parallel build jobs (default: min(cores, GiB of RAM / 3), >= 1)
  --export FILE       after a build, also write a tarball usable with --prebuilt
  --cuda-arch LIST    CMAKE_CUDA_ARCHITECTURES (default 72;87 on JetPack 5, 87 on 6)
  --node-modules DIR  node_modules to patch (default: the checkout's)
USAGE
}

root=/ dry=0 skip_checks=0 ort_version='' prebuilt='' build_dir=/var/tmp/bestshot-onnxruntime
jobs='' export_to='' cuda_arch='' node_modules=$(cd "$SCRIPT_DIR/.." && pwd)/node_modules
need() { [[ $# -ge 2 && -n $2 ]] || bs_die 2 "$1 needs a value"; }
while (($# > 0)); do
  case $1 in
    --root) need "$@"; root=$2; shift 2 ;;
    --dry-run) dry=1; shift ;;
    --skip-checks) skip_checks=1; shift ;;
    --ort-version) need "$@"; ort_version=$2; shift 2 ;;
    --prebuilt) need "$@"; prebuilt=$2; shift 2 ;;
    --build-dir) need "$@"; build_dir=$2; shift 2 ;;
    --jobs) need "$@"; jobs=$2; shift 2 ;;
    --export) need "$@"; export_to=$2; shift 2 ;;
    --cuda-arch) need "$@"; cuda_arch=$2; shift 2 ;;
    --node-modules) need "$@"; node_modules=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; bs_die 2 "unknown argument '$1'" ;;
  esac
done
[[ -d $root ]] || bs_die 2 "root '$root' is not a directory"
root=$(cd "$root" && pwd)
[[ $root == / ]] && root=''
[[ -z $prebuilt || -f $prebuilt ]] || bs_die 2 "prebuilt tarball '$prebuilt' not found"
[[ -z $prebuilt || -z $export_to ]] || bs_die 2 "--export applies to a build, not to --prebuilt"
[[ -z $jobs || $jobs =~ ^[1-9][0-9]{0,2}$ ]] || bs_die 2 "--jobs must be a positive integer, got '$jobs'"
if [[ -z $ort_version ]]; then
  pkg=$SCRIPT_DIR/../node_modules/onnxruntime-node/package.json
  [[ -f $pkg ]] && ort_version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkg" | head -n 1)
  [[ -n $ort_version ]] || bs_die 2 "cannot tell the onnxruntime-node version: pass --ort-version"
fi
bs_semver_valid "$ort_version" || bs_die 2 "invalid --ort-version '$ort_version'"

say() { printf '%s\n' "$*"; }
errors=()
problem() {
  if ((skip_checks)); then say "warning: $*"; else errors+=("$*"); fi
}

# ------------------------------------------------------------------ checks --
release_file=$root/etc/nv_tegra_release
parsed=$(bs_jetson_release "$release_file") ||
  bs_die 1 "not a Jetson: $release_file not found or unreadable; onnxruntime with TensorRT is built on the unit's JetPack"
l4t=${parsed% *}
jetpack=${parsed#* }
say "check: L4T $l4t (JetPack $jetpack)"
((jetpack == 5 || jetpack == 6)) || problem "JetPack $jetpack is not supported (5 or 6)"

libdir=$root/usr/lib/aarch64-linux-gnu
cuda=$(bs_cuda_version "$root")
trt=$(bs_so_version "$libdir" libnvinfer)
cudnn=$(bs_so_version "$libdir" libcudnn)
if [[ -n $cuda ]]; then say "check: CUDA $cuda"; else problem "CUDA not found under $root/usr/local/cuda"; fi
if [[ -n $cudnn ]]; then say "check: cuDNN $cudnn"; else problem "cuDNN not found ($libdir/libcudnn.so.*)"; fi
if [[ -n $trt ]]; then say "check: TensorRT $trt"; else problem "TensorRT not found ($libdir/libnvinfer.so.*)"; fi
# onnxruntime 1.19+ builds against CUDA 11.8 or 12; JetPack 5 has CUDA 11.4.
if [[ -n $cuda && ${cuda%%.*} -lt 12 && $(bs_semver_cmp "$ort_version" 1.19.0) != -1 ]]; then
  problem "onnxruntime $ort_version needs CUDA >= 11.8 and this JetPack has CUDA $cuda: use --ort-version 1.18.1 and pin onnxruntime-node to the same version, or move to JetPack 6"
fi
if [[ -n $trt && ${trt%%.*} -lt 10 && $(bs_semver_cmp "$ort_version" 1.18.0) != -1 ]]; then
  say "warning: onnxruntime $ort_version is tested with TensorRT 10 and this JetPack has TensorRT $trt (JetPack 6.1+ ships 10.3)"
fi
if [[ -z $cuda_arch ]]; then
  # Xavier is sm_72, Orin sm_87; JetPack 6 runs on Orin only.
  if ((jetpack == 5)); then cuda_arch='72;87'; else cuda_arch=87; fi
fi

if [[ -z $prebuilt ]]; then
  [[ -x $root/usr/local/cuda/bin/nvcc ]] || problem "nvcc not found ($root/usr/local/cuda/bin/nvcc): install cuda-toolkit"
  [[ -f $root/usr/include/aarch64-linux-gnu/NvInfer.h ]] || problem "TensorRT headers not found ($root/usr/include/aarch64-linux-gnu/NvInfer.h): install libnvinfer-dev"
  for tool in git python3 g++ make; do
    command -v "$tool" >/dev/null || problem "$tool not found"
  done
  cmake_v=$(cmake --version 2>/dev/null | sed -n 's/^cmake version \([0-9.]*\).*/\1/p')
  if [[ -z $cmake_v ]]; then
    problem "cmake not found (onnxruntime needs >= 3.26: pip3 install cmake)"
  elif [[ $(printf '%s\n3.26\n' "$cmake_v" | sort -V | head -n 1) != 3.26 ]]; then
    problem "cmake $cmake_v is too old (onnxruntime needs >= 3.26: pip3 install cmake)"
  else
    say "check: cmake $cmake_v"
  fi
  probe=$build_dir
  while [[ ! -d $probe ]]; do probe=$(dirname "$probe"); done
  free_gb=$(($(df -Pk "$probe" | awk 'NR == 2 {print $4}') / 1048576))
  ((free_gb >= 30)) || problem "only ${free_gb} GB free under $probe; the build needs about 30 GB (--build-dir elsewhere)"
  if [[ -z $jobs ]]; then
    mem_gb=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1048576))
    jobs=$(nproc)
    ((jobs > mem_gb / 3)) && jobs=$((mem_gb / 3))
    ((jobs >= 1)) || jobs=1
  fi
fi

if ((${#errors[@]} > 0)); then
  for e in "${errors[@]}"; do bs_log "$e"; done
  bs_die 1 "${#errors[@]} check(s) failed; fix them or pass --skip-checks"
fi

# -------------------------------------------------------------------- plan --
install_dir=$root/opt/bestshot/onnxruntime/$ort_version
binding_dir=$node_modules/onnxruntime-node/bin/napi-v6/linux/arm64
required=(onnxruntime_binding.node libonnxruntime.so.1 libonnxruntime_providers_shared.so
  libonnxruntime_providers_cuda.so libonnxruntime_providers_tensorrt.so)
cuda_home=/usr/local/cuda
trt_home=/usr/lib/aarch64-linux-gnu
src=$build_dir/onnxruntime
build_cmd=(./build.sh --config Release --update --build --parallel "$jobs" --build_shared_lib
  --skip_tests --allow_running_as_root
  --use_cuda --cuda_home "$cuda_home" --cudnn_home "$trt_home"
  --use_tensorrt --tensorrt_home "$trt_home"
  --build_nodejs
  --cmake_extra_defines "CMAKE_CUDA_ARCHITECTURES=$cuda_arch" onnxruntime_BUILD_UNIT_TESTS=OFF)

# run CMD... — run it, or print it (shell-quoted) with --dry-run.
run() {
  if ((dry)); then
    printf 'would:'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

# install_from DIR — copy the required files found under DIR into place.
install_from() {
  local dir=$1 f found
  run mkdir -p "$install_dir"
  for f in "${required[@]}"; do
    found=$(find "$dir" -name "$f" \( -type f -o -type l \) -print -quit 2>/dev/null || true)
    if [[ -z $found ]]; then
      ((dry)) || bs_die 1 "$f not found in ${prebuilt:-the build output $dir}"
      found="$dir/.../$f" # not built yet: the dry run names the search root
    fi
    run cp -L "$found" "$install_dir/$f"
  done
  if [[ -d $binding_dir || $dry == 1 ]]; then
    for f in "${required[@]}"; do run cp "$install_dir/$f" "$binding_dir/$f"; done
  else
    say "warning: $binding_dir not found: run npm ci in the checkout, then copy $install_dir/* there"
  fi
}

say "plan: onnxruntime $ort_version with TensorRT + CUDA for JetPack $jetpack (L4T $l4t), CUDA archs $cuda_arch"
if [[ -n $prebuilt ]]; then
  listing=$(tar -tf "$prebuilt" 2>/dev/null) || bs_die 1 "prebuilt '$prebuilt' is not a tar archive"
  if grep -Eq '(^/|(^|/)\.\.(/|$))' <<<"$listing"; then bs_die 1 "prebuilt '$prebuilt' has unsafe paths"; fi
  for f in "${required[@]}"; do
    grep -Eq "(^|/)${f//./\\.}$" <<<"$listing" || bs_die 1 "prebuilt '$prebuilt' lacks $f"
  done
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  tar -xf "$prebuilt" -C "$tmp" --no-same-owner
  install_from "$tmp"
else
  if [[ -d $src/.git ]]; then
    say "ok: reusing the clone in $src"
  else
    run mkdir -p "$build_dir"
    run git clone --recursive --depth 1 --branch "v$ort_version" https://github.com/microsoft/onnxruntime.git "$src"
  fi
  if ((dry)); then
    printf 'would: cd %q &&' "$src"
    printf ' %q' "${build_cmd[@]}"
    printf '\n'
  else
    (cd "$src" && "${build_cmd[@]}")
  fi
  install_from "$src"
  if [[ -n $export_to ]]; then
    run tar -czf "$export_to" -C "$install_dir" "${required[@]}"
  fi
fi
if ((dry)); then
  say "dry run: nothing changed"
else
  say "installed onnxruntime $ort_version into $install_dir"
  say "next: npm run build, then scripts/package.sh --target linux-arm64 ... to bundle it"
fi
