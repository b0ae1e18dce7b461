#!/usr/bin/env bash
# One-command set-up: installs what a fresh Debian/Ubuntu or JetPack machine
# lacks (GStreamer dev files and plugins, cmake, g++), runs `npm ci` (which
# builds the native addon), builds the TypeScript, fetches the model, and,
# unless --no-run is given, runs the embedded default (npm start).
# Idempotent; works as root or through sudo; says what it does and what failed.
set -euo pipefail

RUN_DEMO=1
for arg in "$@"; do
  case "$arg" in
    --no-run) RUN_DEMO=0 ;;
    -h|--help) echo "usage: scripts/setup.sh [--no-run]"; exit 0 ;;
    *) echo "setup: unknown option $arg" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nsetup FAILED: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else fail "not root and no sudo: run as root, or install sudo"; fi
fi

# Debian package names; GStreamer's -bad set brings h264parse/h265parse for
# raw H.264 files and RTSP. gpsd/gpsd-clients serve the vehicle position tests;
# the OTA tests lint every script with shellcheck. mosquitto is the MQTT
# broker the fleet-sink tests start; chromium renders the report in the
# browser tests (driven by puppeteer-core, no browser download); faketime
# steps the wall clock under a running service (test/cli/clock-step.test.ts).
APT_PACKAGES=(
  pkg-config cmake g++ make python3 curl openssl ca-certificates
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly
  gstreamer1.0-plugins-bad gstreamer1.0-libav gstreamer1.0-tools gstreamer1.0-plugins-base-apps
  gpsd gpsd-clients v4l-utils shellcheck sqlite3
  mosquitto mosquitto-clients chromium faketime
)

if command -v apt-get >/dev/null 2>&1; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    step "installing system packages: ${missing[*]}"
    $SUDO apt-get update -qq || fail "apt-get update failed (network or sources.list?)"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || fail "apt-get install failed for: ${missing[*]}"
    # gpsd's package enables a system daemon on port 2947; the product and
    # its tests start their own, so the packaged one is stopped if running.
    if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now gpsd.socket gpsd.service >/dev/null 2>&1 || true; fi
  else
    step "system packages present"
  fi
else
  echo "setup: no apt-get; make sure these are installed: ${APT_PACKAGES[*]}" >&2
fi

command -v node >/dev/null 2>&1 || fail "Node.js 20+ is required (https://nodejs.org or your distribution's nodejs package)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || fail "Node.js 20+ is required, found $(node --version)"
pkg-config --exists gstreamer-1.0 gstreamer-app-1.0 gstreamer-video-1.0 || fail "GStreamer development files not found by pkg-config"

# onnxruntime-node's install step downloads CUDA provider files (x86-64);
# the CPU binaries ship inside the package. package.json's allowScripts
# denies that step (npm >= 11.16 never runs it); an older npm (Node 20 ships
# npm 10) runs it, and .npmrc's onnxruntime-node-install=skip and the
# package's own environment switch, exported here, skip it. A GPU user runs
# `ONNXRUNTIME_NODE_INSTALL=cuda12 bash scripts/setup.sh` (README, "GPU"):
# the step then runs below, after npm ci.
export ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}"
step "installing npm dependencies and building the native addon (npm ci)"
mkdir -p .bestshot
npm ci --no-audit --no-fund 2>&1 | tee .bestshot/npm-ci.log || fail "npm ci failed (see the log above)"
# Install hygiene: a deprecated project config or an install script outside
# allowScripts is a warning today and a broken install in a future npm. The
# one project config kept on purpose is .npmrc's onnxruntime-node-install=skip
# (a plain offline `npm ci` with an npm older than 11.16 must not fetch CUDA files).
if grep -E "Unknown project config|install-scripts|not yet covered by allowScripts" .bestshot/npm-ci.log | grep -v 'Unknown project config "onnxruntime-node-install"'; then
  fail "npm ci printed warnings the project must prevent (above; full log in .bestshot/npm-ci.log)"
fi
# (npm < 11.16 ran it already in npm ci: not twice.)
if [ "$ONNXRUNTIME_NODE_INSTALL" != skip ] && [ -z "$(find node_modules/onnxruntime-node/bin -name 'libonnxruntime_providers_cuda.so' 2>/dev/null)" ]; then
  step "onnxruntime-node's install step: $ONNXRUNTIME_NODE_INSTALL (CUDA / TensorRT provider files)"
  node node_modules/onnxruntime-node/script/install.js || fail "onnxruntime-node's install step ($ONNXRUNTIME_NODE_INSTALL) failed: it downloads from NuGet; see the error above"
fi

step "building TypeScript"
npm run --silent build:ts || fail "TypeScript build failed"

step "fetching the detection model"
if [ -x scripts/fetch-model.sh ]; then
  scripts/fetch-model.sh || echo "setup: model not fetched; the product also looks in \$BESTSHOT_SHARED_DIR/models (default ../shared/models)" >&2
fi

step "checking the addon loads"
node --input-type=module -e "import('./dist/src/capture/native.js').then(m => console.log('GStreamer', m.loadNative().gstVersion()))" \
  || fail "native addon does not load"

if [ "$RUN_DEMO" -eq 1 ]; then
  step "running the embedded default (npm start)"
  npm start
fi
