#!/usr/bin/env bash
# Fetch the default detection model (YOLOX-Nano, COCO) into models/ and check
# its sha256 against the digests listed in models/yolox_nano.json (D1).
#
#   scripts/fetch-model.sh               ../shared copy when present, else the upstream release
#   scripts/fetch-model.sh --download    the upstream release first, the ../shared copy if that fails
#   scripts/fetch-model.sh <path.onnx>   a local file
#
# Idempotent: without arguments, a model already in place with an accepted
# digest is kept.
# Anything whose digest is not listed is refused and not installed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MANIFEST="$ROOT/models/yolox_nano.json"
# Destination folder; BESTSHOT_MODELS_DIR overrides it (tests).
DEST_DIR="${BESTSHOT_MODELS_DIR:-$ROOT/models}"
DEST="$DEST_DIR/yolox_nano.onnx"
URL="https://github.com/Megvii-BaseDetection/YOLOX/releases/download/0.1.1rc0/yolox_nano.onnx"
SHARED="${BESTSHOT_SHARED_DIR:-$ROOT/../shared}/models/yolox_nano.onnx"

die() { echo "fetch-model: $*" >&2; exit 1; }

# A mistyped option was taken for a file ("not a file: --downlaod", exit 1) and
# extra arguments were ignored: both are usage errors (exit 2), as elsewhere.
usage_error() { echo "fetch-model: $*; usage: scripts/fetch-model.sh [--download | <path.onnx>]" >&2; exit 2; }
[ "$#" -le 1 ] || usage_error "one argument at most, got $#"
case "${1:-}" in
  -h|--help|--download|"") ;;
  -*) usage_error "unknown option '$1'" ;;
esac

[ -f "$MANIFEST" ] || die "manifest not found: $MANIFEST"
# Accepted digests: the manifest's sha256 list (one source of truth).
mapfile -t ACCEPTED < <(tr -d '\n ' < "$MANIFEST" | grep -o '"sha256":\[[^]]*\]' | grep -o '[0-9a-f]\{64\}')
[ "${#ACCEPTED[@]}" -gt 0 ] || die "no sha256 digests in $MANIFEST"

describe_digest() {
  case "$1" in
    4903c9058f6e2553834e9905be1ae5d67e262cb6321964dbc57a49edc6fa10da) echo "the ../shared copy (skpawar1305/rs_yolox@18ff8bc weights/yolox_nano.onnx, same size as the upstream asset)" ;;
    c789161ed43c8269fcd4e67c67eeeb4e80c622da2eb296a20bc6007bd18a0b7d) echo "the third-party pin of the upstream 0.1.1rc0 release asset" ;;
    *) echo "a digest listed in $MANIFEST" ;;
  esac
}

# Print the digest when accepted; return 1 otherwise.
check() {
  local digest
  digest="$(sha256sum "$1" | cut -d' ' -f1)"
  for d in "${ACCEPTED[@]}"; do
    if [ "$d" = "$digest" ]; then echo "$digest"; return 0; fi
  done
  echo "$digest"
  return 1
}

if [ -z "${1:-}" ] && [ -f "$DEST" ]; then
  if digest="$(check "$DEST")"; then
    echo "fetch-model: $DEST already present; sha256 $digest matches $(describe_digest "$digest")"
    exit 0
  fi
  echo "fetch-model: $DEST has sha256 $digest, not an accepted digest: replacing it" >&2
fi

mkdir -p "$DEST_DIR"
TMP="$(mktemp "$DEST_DIR/.yolox_nano.XXXXXX")"
trap 'rm -f "$TMP"' EXIT

# A full or read-only models folder is the end, not a reason to try the next
# source: it was reported as "no shared copy and the download failed".
download() {
  command -v curl >/dev/null || { echo "fetch-model: curl not installed" >&2; return 1; }
  echo "fetch-model: downloading $URL"
  local code=0
  curl -fL --connect-timeout 10 --max-time 120 -sS -o "$TMP" "$URL" || code=$?
  # curl 23: it could not write what it received.
  [ "$code" -ne 23 ] || die "cannot write the download into $DEST_DIR (disk full or not writable); nothing installed"
  return "$code"
}
copy_shared() {
  [ -f "$SHARED" ] || { echo "fetch-model: no shared copy at $SHARED" >&2; return 1; }
  echo "fetch-model: copying $SHARED"
  local err
  err="$(cp "$SHARED" "$TMP" 2>&1)" || die "cannot copy $SHARED into $DEST_DIR: ${err##*: }; nothing installed"
}

case "${1:-}" in
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  --download) download || { echo "fetch-model: download failed; falling back to the shared copy" >&2; copy_shared; } || die "no source worked" ;;
  "") { [ -f "$SHARED" ] && copy_shared; } || download || die "no shared copy and the download failed" ;;
  *) [ -f "$1" ] || die "not a file: $1"; echo "fetch-model: copying $1"; err="$(cp "$1" "$TMP" 2>&1)" || die "cannot copy $1 into $DEST_DIR: ${err##*: }; nothing installed" ;;
esac

if ! digest="$(check "$TMP")"; then
  die "refused: sha256 $digest is not one of the accepted digests (${ACCEPTED[*]})"
fi
chmod 644 "$TMP"
mv "$TMP" "$DEST"
trap - EXIT
echo "fetch-model: installed $DEST; sha256 $digest matches $(describe_digest "$digest")"
