#!/usr/bin/env bash
# package.sh — build a signed release bundle of bestshot for one target.
#
#   scripts/package.sh --version 1.4.0 --target linux-arm64 \
#       --key ota-key.pem --out dist/releases [--source DIR] [--model FILE]...
#
# The bundle is one uncompressed tar, bestshot-<version>-<target>.tar, holding
# exactly three members:
#   manifest.json   version, target, created, the payload's sha256 and size,
#                   and every file's path, sha256, size and mode
#   manifest.sig    detached Ed25519 signature of manifest.json's exact bytes
#                   (openssl pkeyutl -sign -rawin)
#   payload.tar.gz  the release tree (regular files only)
# The signature covers the manifest; the manifest covers the payload and each
# file, so ota-update.sh trusts nothing it has not verified.
#
# --source DIR packs DIR as the release tree (tests pass a small app). Without
# it the built app of this checkout is staged: package.json, package-lock.json,
# bin/, dist/src, build/Release/*.node, production node_modules (npm prune
# --omit=dev on a copy), config/, schemas/, models/*.json and models/*.onnx,
# plus each --model FILE (e.g. $BESTSHOT_SHARED_DIR/models/yolox_nano.onnx)
# copied into models/.
# Native addons are built for the machine they were compiled on, so without
# --source the target must be this machine's.
set -euo pipefail

BS_PROG=package
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
. "$SCRIPT_DIR/lib/common.sh"

usage() {
  cat <<'USAGE'
usage: package.sh --version V --target linux-arm64|linux-x64 --key KEY.pem --out DIR
                  [--source DIR] [--model FILE]...
USAGE
}

version='' target='' key='' out='' source=''
models=()
while (($# > 0)); do
  case $1 in
    --version) version=${2-}; shift 2 || bs_die 2 "--version needs a value" ;;
    --target) target=${2-}; shift 2 || bs_die 2 "--target needs a value" ;;
    --key) key=${2-}; shift 2 || bs_die 2 "--key needs a value" ;;
    --out) out=${2-}; shift 2 || bs_die 2 "--out needs a value" ;;
    --source) source=${2-}; shift 2 || bs_die 2 "--source needs a value" ;;
    --model) models+=("${2-}"); shift 2 || bs_die 2 "--model needs a value" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; bs_die 2 "unknown argument '$1'" ;;
  esac
done

[[ -n $version ]] || bs_die 2 "--version is required"
[[ -n $target ]] || bs_die 2 "--target is required"
[[ -n $key ]] || bs_die 2 "--key is required"
[[ -n $out ]] || bs_die 2 "--out is required"
[[ ! -e $out || -d $out ]] || bs_die 2 "--out '$out' is a file: give the folder the bundle is written into"
bs_semver_valid "$version" || bs_die 2 "invalid version '$version' (expected MAJOR.MINOR.PATCH[-PRERELEASE])"
bs_target_valid "$target" || bs_die 2 "invalid target '$target' (expected linux-arm64 or linux-x64)"
[[ -r $key ]] || bs_die 2 "cannot read key '$key'"
# Absolute: the leaked-key check below runs in the staging folder, where a relative --key
# (as docs/deploy.md writes it: --key ota-key.pem) named nothing and the run failed.
key=$(realpath -- "$key")
openssl pkey -in "$key" -noout -text 2>/dev/null | head -n 1 | grep -q '^ED25519 Private-Key' ||
  bs_die 2 "key '$key' is not an Ed25519 private key"

work=$(mktemp -d "${TMPDIR:-/tmp}/bestshot-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/stage
mkdir -p "$stage"

if [[ -n $source ]]; then
  [[ -d $source ]] || bs_die 2 "source '$source' is not a directory"
  cp -a "$source/." "$stage/"
else
  repo=$(cd "$SCRIPT_DIR/.." && pwd)
  host=$(bs_host_target)
  [[ $target == "$host" ]] ||
    bs_die 2 "the built app holds native addons for $host; build the $target bundle on a $target machine or pass --source"
  [[ -d $repo/dist/src ]] || bs_die 2 "no dist/src in $repo: run 'npm run build' first"
  compgen -G "$repo/build/Release/*.node" >/dev/null || bs_die 2 "no build/Release/*.node in $repo: run 'npm run build:native' first"
  cp -a "$repo/package.json" "$repo/bin" "$stage/"
  mkdir -p "$stage/dist"
  cp -a "$repo/dist/src" "$stage/dist/"
  for d in config schemas; do
    if [[ -d $repo/$d ]]; then cp -a "$repo/$d" "$stage/"; fi
  done
  [[ -f $repo/package-lock.json ]] && cp -a "$repo/package-lock.json" "$stage/"
  mkdir -p "$stage/build/Release" "$stage/models"
  cp -a "$repo"/build/Release/*.node "$stage/build/Release/"
  if compgen -G "$repo/models/*.json" >/dev/null; then cp -a "$repo"/models/*.json "$stage/models/"; fi
  if compgen -G "$repo/models/*.onnx" >/dev/null; then cp -a "$repo"/models/*.onnx "$stage/models/"; fi
  cp -a "$repo/node_modules" "$stage/"
  (cd "$stage" && npm prune --omit=dev --no-audit --no-fund >/dev/null)
  rm -rf "$stage/node_modules/.bin"
  # The unit's ExecStart is <release>/bin/bestshot: a launcher for the JS CLI.
  if [[ ! -e $stage/bin/bestshot ]]; then
    cat >"$stage/bin/bestshot" <<'LAUNCHER'
#!/bin/sh
# bestshot launcher: runs the release's CLI with the system node (>= 20).
here=$(dirname "$(readlink -f "$0")")
exec node "$here/bestshot.js" "$@"
LAUNCHER
    chmod 0755 "$stage/bin/bestshot"
  fi
fi

for m in "${models[@]}"; do
  [[ -f $m ]] || bs_die 2 "model '$m' not found"
  mkdir -p "$stage/models"
  cp "$m" "$stage/models/"
done
if [[ -z $source ]] && ! compgen -G "$stage/models/*.onnx" >/dev/null; then
  bs_log "warning: no .onnx model in the bundle (--model FILE): the unit needs one where its config points"
fi

# Only regular files travel: a symlink or device in a release could point
# outside it, so it is refused rather than silently dropped.
bad=$(cd "$stage" && find . -mindepth 1 ! -type f ! -type d -print | head -n 5)
[[ -z $bad ]] || bs_die 1 "only regular files can be packed; found: ${bad//$'\n'/, }"

# Paths are restricted to a plain character set so the manifest needs no JSON
# escaping and ota-update.sh can parse it strictly, line by line.
path_re='^[A-Za-z0-9._@+=,~/-]+$'
# Third-party packages ship files such names cannot carry (mqtt's dependency help-me keeps test
# fixtures named 'hello world.txt'): every bundle of the checkout was refused. Under node_modules/
# they are left out, and said; anywhere else such a name is refused below.
if [[ -d $stage/node_modules ]]; then
  odd=()
  while IFS= read -r -d '' f; do
    [[ ${f#./} =~ $path_re ]] || odd+=("${f#./}")
  done < <(cd "$stage" && find ./node_modules -type f -print0)
  if ((${#odd[@]} > 0)); then
    for f in "${odd[@]}"; do rm -f -- "$stage/$f"; done
    bs_log "left out ${#odd[@]} file(s) of node_modules whose names a manifest cannot carry: ${odd[*]:0:3}$( ((${#odd[@]} > 3)) && printf ' …')"
  fi
fi
: >"$work/files"
while IFS= read -r -d '' f; do
  p=${f#./}
  [[ $p =~ $path_re ]] || bs_die 1 "unsupported character in file name '$p' (allowed: A-Z a-z 0-9 . _ @ + = , ~ / -)"
  printf '%s\n' "$p" >>"$work/files"
done < <(cd "$stage" && find . -type f -print0 | LC_ALL=C sort -z)
[[ -s $work/files ]] || bs_die 1 "source has no files"
# The signing key must not travel: a copy of it in the tree (ota-key.pem left in config/, which is
# packed whole) would put the fleet's private key on every unit, and anyone with one unit could
# sign updates for all. Compared by content, whatever its name.
key_sha=$(sha256sum <"$key" | cut -d' ' -f1)
leaked=$(cd "$stage" && find . -type f -size "$(stat -c %s "$key")c" -print0 | xargs -0 -r sha256sum -- |
  awk -v k="$key_sha" '$1 == k { sub(/^[0-9a-f]+  \.\//, ""); print }' | head -n 3)
[[ -z $leaked ]] || bs_die 1 "the signing key $key is inside the bundle (${leaked//$'\n'/, }): move it out of the source tree"
[[ -f $stage/bin/bestshot ]] || bs_die 1 "source has no bin/bestshot (the unit's ExecStart)"

created=${SOURCE_DATE_EPOCH:-$(date +%s)}
# --hard-dereference: hard links (npm and node-gyp make them) travel as
# regular files, since ota-update.sh accepts regular members only.
(cd "$stage" && tar --create --gzip --file "$work/payload.tar.gz" --no-recursion \
  --owner=0 --group=0 --numeric-owner --mtime="@$created" --format=gnu --hard-dereference \
  --files-from "$work/files")
payload_sha=$(sha256sum "$work/payload.tar.gz" | cut -d' ' -f1)
payload_size=$(stat -c %s "$work/payload.tar.gz")

{
  printf '{\n'
  printf '  "format": 1,\n'
  printf '  "name": "bestshot",\n'
  printf '  "version": "%s",\n' "$version"
  printf '  "target": "%s",\n' "$target"
  printf '  "created": "%s",\n' "$(date -u -d "@$created" +%Y-%m-%dT%H:%M:%SZ)"
  printf '  "payload": {"file": "payload.tar.gz", "sha256": "%s", "size": %s},\n' "$payload_sha" "$payload_size"
  printf '  "files": [\n'
  # One sha256sum and one find over the whole tree (thousands of files in
  # node_modules); joined by path. Modes are normalised: executable by its
  # owner -> 0755, else 0644.
  (cd "$stage" && tr '\n' '\0' <"$work/files" | xargs -0 sha256sum --) | sed 's/^\([0-9a-f]\{64\}\)  /\1\t/' >"$work/sums"
  (cd "$stage" && find . -type f -printf '%P\t%s\t%m\n') | LC_ALL=C sort -t $'\t' -k1,1 >"$work/stats"
  LC_ALL=C sort -t $'\t' -k2,2 "$work/sums" | awk -F '\t' 'NR == FNR { size[$1] = $2; perm[$1] = $3; next }
    { print $2 "\t" $1 "\t" size[$2] "\t" perm[$2] }' "$work/stats" - | LC_ALL=C sort -t $'\t' -k1,1 |
    awk -F '\t' -v n="$(wc -l <"$work/files")" '{
      mode = (int(substr(sprintf("%04d", $4), 2, 1)) % 2 == 1) ? "0755" : "0644"
      printf "    {\"path\": \"%s\", \"sha256\": \"%s\", \"size\": %s, \"mode\": \"%s\"}%s\n", $1, $2, $3, mode, (NR == n ? "" : ",")
    }'
  printf '  ]\n'
  printf '}\n'
} >"$work/manifest.json"

openssl pkeyutl -sign -rawin -inkey "$key" -in "$work/manifest.json" -out "$work/manifest.sig"
# Check the signature with the key's own public half before shipping it.
openssl pkey -in "$key" -pubout -out "$work/pub.pem"
openssl pkeyutl -verify -pubin -inkey "$work/pub.pem" -rawin -in "$work/manifest.json" \
  -sigfile "$work/manifest.sig" >/dev/null || bs_die 1 "self-verification of the signature failed"

mkdir -p "$out"
bundle=$out/bestshot-$version-$target.tar
(cd "$work" && tar --create --file "$work/bundle.tar" --owner=0 --group=0 --numeric-owner \
  --mtime="@$created" --format=gnu manifest.json manifest.sig payload.tar.gz)
# Copied beside the bundle under a temporary name, then renamed: a plain mv to
# another disk that filled up left a truncated bundle under the release's own
# name (and an older good bundle of that version replaced by it).
partial=$out/.bestshot-$version-$target.tar.partial-$$
if ! err=$(cp "$work/bundle.tar" "$partial" 2>&1); then
  rm -f "$partial"
  bs_die 1 "cannot write the bundle into $out: ${err##*: } ($(stat -c %s "$work/bundle.tar") bytes); nothing was left there"
fi
mv -f "$partial" "$bundle"
printf '%s\n' "$bundle"
bs_log "packed $(wc -l <"$work/files") files, version $version, target $target, sha256 $(sha256sum "$bundle" | cut -d' ' -f1)"
