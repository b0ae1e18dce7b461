# shellcheck shell=bash
# Shared helpers for the bestshot deployment scripts (install, package, OTA).
# Sourced, never executed. Every function is pure bash + coreutils so it runs
# on a bare JetPack image.

# The program name used as the prefix of every message; callers set it.
BS_PROG=${BS_PROG:-bestshot}

# BS_LOG_FILE, when a caller sets it: every message is also appended there
# with a UTC timestamp (stderr has none: a terminal or the journal dates it,
# a log file read weeks later does not). A file that cannot be written is
# skipped, never fatal.
BS_LOG_FILE=${BS_LOG_FILE:-}
bs_log_file() {
  [[ -n $BS_LOG_FILE ]] || return 0
  printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$BS_PROG" "$*" 2>/dev/null >>"$BS_LOG_FILE" || true
}

bs_log() {
  printf '%s: %s\n' "$BS_PROG" "$*" >&2
  bs_log_file "$@"
}

# bs_die CODE MESSAGE — print "<prog>: MESSAGE" on stderr and exit CODE.
bs_die() {
  local code=$1
  shift
  printf '%s: %s\n' "$BS_PROG" "$*" >&2
  bs_log_file "$* (exit $code)"
  exit "$code"
}

# A release version is semver 2.0 without build metadata:
# MAJOR.MINOR.PATCH[-PRERELEASE], numbers without leading zeros.
BS_SEMVER_RE='^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$'

bs_semver_valid() { [[ $1 =~ $BS_SEMVER_RE ]]; }

# bs_semver_cmp A B — prints -1, 0 or 1 following semver 2.0 precedence
# (numeric core, a pre-release sorts before its release, pre-release
# identifiers compared numerically when both are numbers, else as ASCII).
bs_semver_cmp() {
  local a=$1 b=$2 ca cb pa='' pb='' i
  ca=${a%%-*}
  cb=${b%%-*}
  [[ $a == *-* ]] && pa=${a#*-}
  [[ $b == *-* ]] && pb=${b#*-}
  local -a na nb
  IFS=. read -r -a na <<<"$ca"
  IFS=. read -r -a nb <<<"$cb"
  for i in 0 1 2; do
    # Compare as decimal strings of numbers: length first, then lexically,
    # so versions beyond 2^63 still order correctly.
    if ((${#na[i]} != ${#nb[i]})); then
      ((${#na[i]} < ${#nb[i]})) && echo -1 || echo 1
      return
    fi
    if [[ ${na[i]} != "${nb[i]}" ]]; then
      [[ ${na[i]} < ${nb[i]} ]] && echo -1 || echo 1
      return
    fi
  done
  if [[ -z $pa && -z $pb ]]; then echo 0; return; fi
  if [[ -z $pa ]]; then echo 1; return; fi
  if [[ -z $pb ]]; then echo -1; return; fi
  local -a ia ib
  IFS=. read -r -a ia <<<"$pa"
  IFS=. read -r -a ib <<<"$pb"
  local n=${#ia[@]} x y
  ((${#ib[@]} > n)) && n=${#ib[@]}
  for ((i = 0; i < n; i++)); do
    if ((i >= ${#ia[@]})); then echo -1; return; fi
    if ((i >= ${#ib[@]})); then echo 1; return; fi
    x=${ia[i]}
    y=${ib[i]}
    [[ $x == "$y" ]] && continue
    if [[ $x =~ ^[0-9]+$ && $y =~ ^[0-9]+$ ]]; then
      if ((${#x} != ${#y})); then
        ((${#x} < ${#y})) && echo -1 || echo 1
      else
        [[ $x < $y ]] && echo -1 || echo 1
      fi
      return
    fi
    # Numeric identifiers have lower precedence than alphanumeric ones.
    if [[ $x =~ ^[0-9]+$ ]]; then echo -1; return; fi
    if [[ $y =~ ^[0-9]+$ ]]; then echo 1; return; fi
    [[ $x < $y ]] && echo -1 || echo 1
    return
  done
  echo 0
}

# bs_host_target — the release target of this machine (linux-arm64 on Jetson).
bs_host_target() {
  case $(uname -m) in
    aarch64 | arm64) echo linux-arm64 ;;
    x86_64 | amd64) echo linux-x64 ;;
    *) echo "linux-$(uname -m)" ;;
  esac
}

bs_target_valid() { [[ $1 == linux-arm64 || $1 == linux-x64 ]]; }

# bs_root_path ROOT ABS — ABS (an absolute path) under the root prefix ROOT.
bs_root_path() {
  local root=${1%/}
  printf '%s%s\n' "$root" "$2"
}

# bs_jetson_release FILE — parse /etc/nv_tegra_release ("# R36 (release),
# REVISION: 3.0, ..."). Prints "L4T JETPACK", e.g. "R36.3.0 6" (JetPack 5 is
# L4T R34/R35, JetPack 6 is R36; older prints JETPACK 4, newer 7+).
# Fails when FILE is missing or unparsable.
bs_jetson_release() {
  local first major jp
  [[ -f $1 ]] || return 1
  first=$(head -n 1 "$1")
  [[ $first =~ ^#\ R([0-9]+)\ \(release\),\ REVISION:\ ([0-9]+(\.[0-9]+)*) ]] || return 1
  major=${BASH_REMATCH[1]}
  if ((major >= 37)); then jp=7
  elif ((major == 36)); then jp=6
  elif ((major >= 34)); then jp=5
  else jp=4
  fi
  printf 'R%s.%s %s\n' "$major" "${BASH_REMATCH[2]}" "$jp"
}

# bs_cuda_version ROOT — the CUDA toolkit version under ROOT/usr/local/cuda
# (version.json of CUDA 11.1+, version.txt before); empty when absent.
bs_cuda_version() {
  local d=$1/usr/local/cuda
  if [[ -f $d/version.json ]]; then
    grep -m1 -A2 '"cuda"' "$d/version.json" | sed -n 's/.*"version" *: *"\([0-9.]*\)".*/\1/p' | head -n 1
  elif [[ -f $d/version.txt ]]; then
    sed -n 's/^CUDA Version \([0-9.]*\).*/\1/p' "$d/version.txt"
  fi
}

# bs_so_version LIBDIR NAME — the highest version suffix of LIBDIR/NAME.so.*,
# e.g. 10.3.0 for libnvinfer.so.10.3.0; empty when absent.
bs_so_version() {
  local f v best=''
  for f in "$1/$2".so.*; do
    [[ -e $f ]] || continue
    v=${f##*.so.}
    if [[ -z $best || $(printf '%s\n%s\n' "$best" "$v" | sort -V | tail -n 1) == "$v" ]]; then best=$v; fi
  done
  printf '%s' "$best"
}
