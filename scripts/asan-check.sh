#!/usr/bin/env bash
# Memory check of the native addon (STYLE 11): builds it with AddressSanitizer
# into build-asan/, runs test/native/asan-exercise.ts with LeakSanitizer, and
# fails on any memory error, or on a leak whose stack passes through the addon.
# Leaks inside GLib/GStreamer/Node themselves are listed, not counted.
set -euo pipefail
cd "$(dirname "$0")/.."
npx cmake-js compile --out build-asan --CDBESTSHOT_ASAN=ON --log-level error >/dev/null
libasan=$(gcc -print-file-name=libasan.so)
[ -f "$libasan" ] || { echo "asan-check: libasan not found (apt install libasan8)" >&2; exit 2; }
log=$(mktemp -d)/asan
BESTSHOT_NATIVE_PATH="$PWD/build-asan/Release/bestshot_native.node" LD_PRELOAD="$libasan" \
  ASAN_OPTIONS="detect_leaks=1:log_path=$log" LSAN_OPTIONS="exitcode=0" \
  node --expose-gc --import tsx test/native/asan-exercise.ts
reports=$(cat "$log".* 2>/dev/null || true)
if grep -q "ERROR: AddressSanitizer" <<<"$reports"; then
  echo "$reports"
  echo "asan-check: memory error in the addon" >&2
  exit 1
fi
ours=$(awk '/leak of/{block=$0; next} /^$/{if (block ~ /bestshot/) print block; block=""} {block=block"\n"$0}' <<<"$reports")
if [ -n "$ours" ]; then
  echo "$ours"
  echo "asan-check: leak through the addon" >&2
  exit 1
fi
others=$(grep -c "leak of" <<<"$reports" || true)
echo "asan-check: no memory error, no leak through the addon ($others leak report(s) outside it, in GLib/GStreamer/Node)"
