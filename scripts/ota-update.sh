#!/usr/bin/env bash
# ota-update.sh — apply a signed bestshot release bundle, or recover from an
# interrupted update.
#
#   ota-update.sh BUNDLE.tar|URL [options]   install a release
#   ota-update.sh --recover [options]        finish or undo an interrupted one
#   ota-update.sh --verify VERSION           re-check an installed release
#
# Layout under the root prefix (--root, default /):
#   opt/bestshot/releases/<version>/              one release tree each
#   opt/bestshot/releases/<version>.manifest.json its signed manifest (+ .sig)
#   opt/bestshot/current  -> releases/<version>   what the service runs
#   opt/bestshot/previous -> releases/<version>   the rollback target
#   var/lib/bestshot/ota/                          lock, journal, downloads
#   etc/bestshot/, var/lib/bestshot/ (but ota/)    config and queue: never
#                                                  written by an update
#
# Steps of an update: fetch (resumable, size-limited) -> verify (Ed25519
# signature of the manifest against the unit's trusted key, target, no
# downgrade unless --force, payload hash) -> unpack into <version>.partial,
# check every file's hash and size, rename -> self-check of the new release
# -> switch `current` atomically (symlink to a temporary name + rename) ->
# restart -> wait for the health URL -> commit (`previous`, prune to --keep).
# A failed self-check leaves `current` untouched; a failed restart or health
# check switches back, restarts the old release and waits for its health.
#
# Every step from unpacking on is recorded in a journal before it starts, so a
# kill -9 (or power loss) at any point leaves `current` on a complete release
# and the next run (an update, or `--recover` from the boot unit) completes the
# update (before the switch: discards it) or rolls it back.
#
# Exit codes: 0 installed, recovered or nothing to do; 1 bundle rejected,
# self-check failed or the config has no health endpoint (unit unchanged); 2 usage; 3 another update holds the lock;
# 4 the new release failed after the switch and the old one is back and
# healthy; 5 the rollback target is not healthy either.
#
# Test hook: BESTSHOT_OTA_PAUSE_AT=<step> makes the script announce
# "paused at <step>" on stderr and sleep there, so a test can kill it. Steps:
# downloaded verified unpacking unpacked selfchecked switching switched
# restarted committing rolling-back.
set -euo pipefail
umask 022

BS_PROG=ota-update
SCRIPT_DIR=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=lib/common.sh
. "$SCRIPT_DIR/lib/common.sh"

usage() {
  cat <<'USAGE'
usage: ota-update.sh BUNDLE|URL [--force] [options]
       ota-update.sh --recover [options]
       ota-update.sh --verify VERSION [--root DIR] [--pubkey FILE]
options:
  --root DIR               root prefix (default /)
  --force                  allow a downgrade
  --keep N                 releases kept on disk, current and previous always (default 3, min 2)
  --target T               this unit's target (default from uname -m)
  --pubkey FILE            trusted Ed25519 public key, repeatable (default ROOT/etc/bestshot/ota-pubkey.pem
                           and ROOT/etc/bestshot/ota-pubkeys.d/*.pem: several keys allow a key rotation)
  --config FILE            config handed to the self-check (default ROOT/etc/bestshot/config.yaml)
  --selfcheck-cmd CMD      run by bash in the new release dir (default: bin/bestshot check-config --quiet --load-model --config "$BESTSHOT_CONFIG")
  --selfcheck-timeout S    seconds (default 120)
  --env-file FILE          environment for the self-check, as the service gets it (repeatable;
                           default ROOT/etc/bestshot/platform.env and bestshot.env when present)
  --restart-cmd CMD        restarts the service (default: systemctl reset-failed + restart bestshot.service)
  --health-url URL         polled after a restart (default: /healthz at the config's metrics.host and
                           metrics.port, read by the installed release; else http://127.0.0.1:9464/healthz)
  --health-timeout S       seconds to wait for health (default 180: a new model may build its TensorRT engine first)
  --max-size BYTES         largest bundle accepted or downloaded (default 2147483648)
  --reserve BYTES          free space an update must leave on the releases disk (default 268435456)
USAGE
}

root=/ force=0 keep=3 target='' config='' mode=update source='' verify_version=''
pubkeys=()
# shellcheck disable=SC2016 # expanded later by the bash that runs the check
selfcheck_cmd='bin/bestshot check-config --quiet --load-model --config "$BESTSHOT_CONFIG"'
selfcheck_timeout=120
env_files=()
# reset-failed first: a unit that hit its start limit refuses a plain restart.
restart_cmd='systemctl reset-failed bestshot.service 2>/dev/null; systemctl restart bestshot.service'
health_url='http://127.0.0.1:9464/healthz'
health_url_given=0
health_timeout=180
max_size=2147483648
# The upload queue usually shares the disk: an update must leave it room.
reserve=268435456

need() { [[ $# -ge 2 && -n $2 ]] || bs_die 2 "$1 needs a value"; }
while (($# > 0)); do
  case $1 in
    --root) need "$@"; root=$2; shift 2 ;;
    --force) force=1; shift ;;
    --keep) need "$@"; keep=$2; shift 2 ;;
    --target) need "$@"; target=$2; shift 2 ;;
    --pubkey) need "$@"; pubkeys+=("$2"); shift 2 ;;
    --config) need "$@"; config=$2; shift 2 ;;
    --selfcheck-cmd) need "$@"; selfcheck_cmd=$2; shift 2 ;;
    --selfcheck-timeout) need "$@"; selfcheck_timeout=$2; shift 2 ;;
    --env-file) need "$@"; env_files+=("$2"); shift 2 ;;
    --restart-cmd) need "$@"; restart_cmd=$2; shift 2 ;;
    --health-url) need "$@"; health_url=$2; health_url_given=1; shift 2 ;;
    --health-timeout) need "$@"; health_timeout=$2; shift 2 ;;
    --max-size) need "$@"; max_size=$2; shift 2 ;;
    --reserve) need "$@"; reserve=$2; shift 2 ;;
    --recover) mode=recover; shift ;;
    --verify) need "$@"; mode=verify; verify_version=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; bs_die 2 "unknown option '$1'" ;;
    *)
      [[ -z $source ]] || bs_die 2 "only one bundle can be given"
      source=$1
      shift
      ;;
  esac
done

int_at_least() { [[ $1 =~ ^[0-9]{1,18}$ ]] && (($1 >= $2)); }
int_at_least "$keep" 2 || bs_die 2 "--keep must be an integer >= 2, got '$keep'"
int_at_least "$health_timeout" 1 || bs_die 2 "--health-timeout must be a positive integer, got '$health_timeout'"
int_at_least "$selfcheck_timeout" 1 || bs_die 2 "--selfcheck-timeout must be a positive integer, got '$selfcheck_timeout'"
int_at_least "$max_size" 1 || bs_die 2 "--max-size must be a positive integer, got '$max_size'"
int_at_least "$reserve" 0 || bs_die 2 "--reserve must be a non-negative integer, got '$reserve'"
[[ -d $root ]] || bs_die 2 "root '$root' is not a directory"
root=$(cd "$root" && pwd)
[[ $root == / ]] && root=''
# What an update did, dated, where an operator looks weeks later (rotated by logrotate); the boot
# recovery unit's output goes to the journal.
[[ -d $root/var/log/bestshot ]] && BS_LOG_FILE=$root/var/log/bestshot/ota.log
[[ -n $target ]] || target=$(bs_host_target)
bs_target_valid "$target" || bs_die 2 "invalid target '$target' (expected linux-arm64 or linux-x64)"
if ((${#pubkeys[@]} == 0)); then
  for f in "$root/etc/bestshot/ota-pubkey.pem" "$root"/etc/bestshot/ota-pubkeys.d/*.pem; do
    [[ -f $f ]] && pubkeys+=("$f")
  done
fi
[[ -n $config ]] || config=$root/etc/bestshot/config.yaml
if ((${#env_files[@]} == 0)); then
  for f in "$root/etc/bestshot/platform.env" "$root/etc/bestshot/bestshot.env"; do
    [[ -f $f ]] && env_files+=("$f")
  done
fi
for f in "${env_files[@]}"; do [[ -r $f ]] || bs_die 2 "cannot read env file '$f'"; done
case $mode in
  update) [[ -n $source ]] || { usage >&2; bs_die 2 "no bundle given"; } ;;
  *) [[ -z $source ]] || bs_die 2 "$mode takes no bundle" ;;
esac

opt=$root/opt/bestshot
releases=$opt/releases
state=$root/var/lib/bestshot/ota
journal=$state/journal

# ---------------------------------------------------------------- helpers --

pause_at() {
  [[ ${BESTSHOT_OTA_PAUSE_AT-} == "$1" ]] || return 0
  bs_log "paused at $1 (pid $$)"
  sleep 600 9>&-
}

# Flush a file or directory to disk; falls back to a global sync.
flush() { sync "$@" 2>/dev/null || sync; }

link_version() { # link_version LINK — the version a release link points at, or ''
  local t
  t=$(readlink "$1" 2>/dev/null) || { echo ''; return 0; }
  t=${t##*/}
  if bs_semver_valid "$t" && [[ -d $releases/$t ]]; then echo "$t"; else echo ''; fi
}

# set_link NAME VERSION — atomically point opt/NAME at releases/VERSION:
# a new symlink under a temporary name, renamed over the old one (rename(2)
# replaces it in one step: readers see the old or the new target, never none).
set_link() {
  local tmp=$opt/.$1.tmp.$$
  ln -sfn "releases/$2" "$tmp"
  mv -T "$tmp" "$opt/$1"
  flush "$opt"
}

journal_write() { # journal_write STEP — record the step about to run
  local tmp=$journal.tmp
  printf 'step=%s\nold=%s\nnew=%s\n' "$1" "$j_old" "$j_new" >"$tmp"
  flush "$tmp"
  mv -f "$tmp" "$journal"
  flush "$state"
}

journal_clear() {
  rm -f "$journal" "$journal.tmp"
  flush "$state"
}

j_step='' j_old='' j_new=''
journal_read() { # strict key=value parse; the journal is never sourced
  j_step='' j_old='' j_new=''
  local k v
  while IFS='=' read -r k v; do
    case $k in
      step) j_step=$v ;;
      old) j_old=$v ;;
      new) j_new=$v ;;
      *) ;;
    esac
  done <"$journal"
  case $j_step in
    unpacking | unpacked | selfchecked | switching | switched | restarted | committing | rolling-back) ;;
    *) bs_die 1 "journal $journal is corrupt (step '$j_step'); inspect and remove it" ;;
  esac
  bs_semver_valid "$j_new" || bs_die 1 "journal $journal is corrupt (new '$j_new')"
  [[ -z $j_old ]] || bs_semver_valid "$j_old" || bs_die 1 "journal $journal is corrupt (old '$j_old')"
}

# load_env_file FILE — export KEY=VALUE lines the way systemd's
# EnvironmentFile= reads them (comments and blank lines skipped, one pair of
# surrounding quotes removed), so the self-check sees the service's
# environment (e.g. the upload token the config refers to). Never sourced.
load_env_file() {
  local line key value
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line =~ ^[[:space:]]*(#|;|$) ]] && continue
    [[ $line =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
    key=${BASH_REMATCH[1]}
    value=${BASH_REMATCH[2]}
    if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
    export "$key=$value"
  done <"$1"
}

restart_service() { # restart_service VERSION — returns the command's status
  bs_log "restarting the service on $1"
  BESTSHOT_ROOT=${root:-/} BESTSHOT_RELEASE=$1 bash -c "$restart_cmd" 9>&- </dev/null
}

# What the last health try got, for the failure's message: 'health check failed' alone sent the
# operator of a unit whose config has the metrics server off (or on another port) after a broken
# release, and exit 5 said neither release was healthy.
health_last=''
wait_healthy() { # wait_healthy — 0 once the health URL answers 2xx in time
  local deadline=$((SECONDS + health_timeout)) rc code
  while ((SECONDS < deadline)); do
    rc=0
    code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 "$health_url" 9>&- 2>/dev/null) || rc=$?
    if ((rc == 0)) && [[ $code == 2?? ]]; then return 0; fi
    case $rc in
      0) health_last="$health_url answered HTTP $code" ;;
      7) health_last="nothing listens at $health_url: the service did not start (see its journal), or its config serves /healthz elsewhere or not at all (metrics.enabled, metrics.port, metrics.host; --health-url)" ;;
      28) health_last="$health_url took the connection and did not answer within 2 s" ;;
      *) health_last="$health_url: curl exit $rc" ;;
    esac
    sleep 0.2
  done
  return 1
}

# Manifest parsing. package.sh writes one field or one file per line with a
# restricted path alphabet, so a strict line grammar is enough and no JSON
# tool is needed on the unit. Anything else is refused.
m_version='' m_target='' m_payload_sha='' m_payload_size='' m_files=()
parse_manifest() { # parse_manifest FILE
  local f=$1 n=0 line fre
  local -a expect=(
    '^\{$'
    '^  "format": 1,$'
    '^  "name": "bestshot",$'
    '^  "version": "([^"]+)",$'
    '^  "target": "([^"]+)",$'
    '^  "created": "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z",$'
    '^  "payload": \{"file": "payload.tar.gz", "sha256": "([0-9a-f]{64})", "size": ([0-9]+)\},$'
    '^  "files": \[$'
  )
  fre='^    \{"path": "([A-Za-z0-9._@+=,~/-]+)", "sha256": "([0-9a-f]{64})", "size": ([0-9]+), "mode": "(0[0-7]{3})"\}(,?)$'
  m_files=()
  local in_files=0 closed=0 last_sep=','
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    if ((n <= ${#expect[@]})); then
      [[ $line =~ ${expect[n - 1]} ]] || bs_die 1 "manifest.json is malformed at line $n"
      case $n in
        4) m_version=${BASH_REMATCH[1]} ;;
        5) m_target=${BASH_REMATCH[1]} ;;
        7) m_payload_sha=${BASH_REMATCH[1]}; m_payload_size=${BASH_REMATCH[2]} ;;
        8) in_files=1 ;;
      esac
      continue
    fi
    if ((in_files)); then
      if [[ $line == '  ]' ]]; then
        [[ $last_sep == '' ]] || bs_die 1 "manifest.json is malformed at line $n"
        in_files=0
        continue
      fi
      [[ $last_sep == ',' && $line =~ $fre ]] || bs_die 1 "manifest.json is malformed at line $n"
      local p=${BASH_REMATCH[1]}
      last_sep=${BASH_REMATCH[5]}
      [[ /$p/ != */../* && /$p/ != */./* && $p != /* && $p != */ && $p != *//* ]] ||
        bs_die 1 "manifest.json has an unsafe path '$p'"
      m_files+=("${BASH_REMATCH[2]} ${BASH_REMATCH[3]} ${BASH_REMATCH[4]} $p")
      continue
    fi
    if ((!closed)) && [[ $line == '}' ]]; then closed=1; continue; fi
    bs_die 1 "manifest.json is malformed at line $n"
  done <"$f"
  ((closed)) || bs_die 1 "manifest.json is malformed: truncated"
  ((${#m_files[@]} > 0)) || bs_die 1 "manifest.json lists no files"
  bs_semver_valid "$m_version" || bs_die 1 "manifest.json has an invalid version '$m_version'"
}

verify_signature() { # verify_signature MANIFEST SIG
  local k
  ((${#pubkeys[@]} > 0)) || bs_die 1 "no trusted public key (${root}/etc/bestshot/ota-pubkey.pem or ota-pubkeys.d/*.pem)"
  for k in "${pubkeys[@]}"; do
    [[ -r $k ]] || bs_die 1 "cannot read trusted public key $k"
    openssl pkeyutl -verify -pubin -inkey "$k" -rawin -in "$1" -sigfile "$2" >/dev/null 2>&1 && return 0
  done
  local IFS=' '
  bs_die 1 "bad signature: manifest.json is not signed by a trusted key (${pubkeys[*]})"
}

# verify_tree DIR — every manifest file present with its hash and size, and
# nothing else in DIR. Prints the first offending path's problem and fails.
verify_tree() {
  local dir=$1 entry size p type actual bad
  local -A want_size=()
  # Entries are "sha256 size mode path"; split with expansions (no fork).
  for entry in "${m_files[@]}"; do
    size=${entry#* }
    want_size[${entry#* * * }]=${size%% *}
  done
  # One find for the whole tree: every entry listed, a regular file, right size.
  while IFS=$'\t' read -r -d '' p type actual; do
    [[ -n ${want_size[$p]-} ]] || { bs_log "file not in the manifest: $p"; return 1; }
    [[ $type == f ]] || { bs_log "not a regular file: $p"; return 1; }
    [[ $actual == "${want_size[$p]}" ]] || { bs_log "file size mismatch: $p"; return 1; }
    unset "want_size[$p]"
  done < <(find "$dir" -mindepth 1 ! -type d -printf '%P\t%y\t%s\0')
  for p in "${!want_size[@]}"; do
    bs_log "missing file: $p"
    return 1
  done
  # One sha256sum for every file: it reports each mismatch as "PATH: FAILED".
  bad=$(for entry in "${m_files[@]}"; do
    printf '%s  %s\n' "${entry%% *}" "${entry#* * * }"
  done | (cd "$dir" && LC_ALL=C sha256sum --strict --quiet -c - 2>/dev/null)) && return 0
  p=$(sed -n '1s/: FAILED.*$//p' <<<"$bad")
  bs_log "file hash mismatch: ${p:-?}"
  return 1
}

current_version() { link_version "$opt/current"; }

# prune — keep `current`, `previous` and the newest releases up to --keep;
# drop leftovers of interrupted unpacks and stray temporary links.
prune() {
  local cur prev name kept=0
  cur=$(current_version)
  prev=$(link_version "$opt/previous")
  rm -f "$opt"/.current.tmp.* "$opt"/.previous.tmp.*
  for name in "$releases"/*.partial; do
    [[ -e $name ]] && rm -rf "$name"
  done
  ((kept += 1)) # current
  [[ -n $prev && $prev != "$cur" ]] && ((kept += 1))
  while IFS= read -r name; do
    [[ -n $name ]] || continue
    [[ $name == "$cur" || $name == "$prev" ]] && continue
    if ((kept < keep)); then
      kept=$((kept + 1))
      continue
    fi
    bs_log "pruning release $name"
    rm -rf "${releases:?}/$name" "$releases/$name.manifest.json" "$releases/$name.manifest.sig"
  done < <(cd "$releases" && find . -mindepth 1 -maxdepth 1 -type d ! -name '*.partial' -printf '%T@ %f\n' | sort -rn | cut -d' ' -f2-)
}

discard_release() { # discard_release VERSION — remove an unfinished/failed release
  local v=$1
  [[ -n $v ]] || return 0
  [[ $v == "$(current_version)" || $v == "$(link_version "$opt/previous")" ]] && return 0
  rm -rf "${releases:?}/$v.partial" "${releases:?}/$v" "$releases/$v.manifest.json" "$releases/$v.manifest.sig"
}

# ------------------------------------------------ switch, health, rollback --

# commit — the new release is live and healthy.
commit() {
  journal_write committing
  pause_at committing
  [[ -n $j_old && -d $releases/$j_old ]] && set_link previous "$j_old"
  prune
  journal_clear
  bs_log "updated to $j_new${j_old:+ (previous $j_old)}"
}

# rollback REASON — point `current` back at the old release and restart it.
rollback() {
  local reason=$1
  if [[ -z $j_old || ! -d $releases/$j_old ]]; then
    journal_clear
    bs_die 5 "$reason; there is no previous release to roll back to"
  fi
  journal_write rolling-back
  pause_at rolling-back
  set_link current "$j_old"
  local healthy=1
  health_last=''
  restart_service "$j_old" || healthy=0
  ((healthy)) && { wait_healthy || healthy=0; }
  discard_release "$j_new"
  journal_clear
  ((healthy)) || bs_die 5 "$reason; rolled back to $j_old but it is not healthy either (${health_last:-its restart failed})"
  bs_die 4 "$reason; rolled back to $j_old"
}

# go_live — from the journal's `switching` step on: switch, restart, health.
go_live() {
  journal_write switching
  pause_at switching
  set_link current "$j_new"
  journal_write switched
  pause_at switched
  if ! restart_service "$j_new"; then
    rollback "restart of $j_new failed"
  fi
  journal_write restarted
  pause_at restarted
  if ! wait_healthy; then
    rollback "health check failed for $j_new after ${health_timeout}s ($health_last)"
  fi
  commit
}

# recover — act on a journal left by an interrupted run.
recover() {
  if [[ ! -f $journal ]]; then
    # No update in flight. Still repair a dangling `current` if we can.
    if [[ -z $(current_version) && -n $(link_version "$opt/previous") ]]; then
      local prev
      prev=$(link_version "$opt/previous")
      bs_log "current is missing or dangling; switching back to $prev"
      set_link current "$prev"
      restart_service "$prev" || true
    fi
    [[ -d $releases ]] && prune
    return 0
  fi
  journal_read
  bs_log "recovering an interrupted update ($j_old -> $j_new, interrupted at $j_step)"
  case $j_step in
    unpacking | unpacked | selfchecked)
      # Never switched: `current` still names the old release. Discard.
      discard_release "$j_new"
      journal_clear
      bs_log "discarded the unfinished release $j_new; staying on ${j_old:-nothing}"
      ;;
    switching | switched | restarted)
      # The switch may or may not have happened: complete it, re-checking the
      # release files first; health decides whether it stays.
      if [[ -d $releases/$j_new && -f $releases/$j_new.manifest.json ]] &&
        parse_manifest "$releases/$j_new.manifest.json" && verify_tree "$releases/$j_new"; then
        go_live
      else
        rollback "release $j_new is incomplete"
      fi
      ;;
    committing) commit ;;
    rolling-back) rollback "update to $j_new was being rolled back" ;;
  esac
}

# ------------------------------------------------------------------ modes --

if [[ $mode == verify ]]; then
  bs_semver_valid "$verify_version" || bs_die 2 "invalid version '$verify_version'"
  [[ -d $releases/$verify_version ]] || bs_die 1 "release $verify_version is not installed"
  verify_signature "$releases/$verify_version.manifest.json" "$releases/$verify_version.manifest.sig"
  parse_manifest "$releases/$verify_version.manifest.json"
  verify_tree "$releases/$verify_version" || bs_die 1 "release $verify_version does not match its manifest"
  bs_log "release $verify_version matches its signed manifest (${#m_files[@]} files)"
  exit 0
fi

mkdir -p "$state" "$releases"
exec 9>"$state/lock"
flock -n 9 || bs_die 3 "another update is running (lock $state/lock)"

if [[ $mode == recover ]]; then
  recover
  exit 0
fi
# An update first settles any interrupted one. Its rollback exits 4 or 5,
# which here only means the unit is back on the old release: go on.
rc=0
(recover) || rc=$?
((rc == 0 || rc == 4 || rc == 5)) || exit "$rc"

# ---- the health check must have something to ask
# After the switch only /healthz says whether the new release works. A config
# with the metrics server off (metrics.enabled: false) has nothing answer there:
# every update was installed, found "not healthy" and rolled back to the old
# release, which with the same config was not healthy either (exit 5). The
# installed release's check-config reads the config (defaults filled in, the
# service's environment loaded) and the update is refused before anything is
# fetched. A first install, or a config that release cannot read, is not checked
# here: the self-check judges the config.
# metrics_settings — prints the config's "enabled host port" (metrics.*), or nothing when it cannot tell.
metrics_settings() {
  [[ -x $opt/current/bin/bestshot ]] && command -v node >/dev/null || return 0
  local json
  json=$(cd "$opt/current" && for f in "${env_files[@]}"; do load_env_file "$f"; done &&
    timeout "$selfcheck_timeout" bin/bestshot check-config --json --no-model-check --config "$config" 9>&- </dev/null 2>/dev/null) || return 0
  node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { const m = JSON.parse(s).metrics ?? {}; process.stdout.write([m.enabled !== false, m.host ?? "127.0.0.1", m.port ?? 9464].join(" ")); });' <<<"$json" 2>/dev/null || true
}
read -r metrics_on metrics_host metrics_port <<<"$(metrics_settings)" || true
if [[ ${metrics_on-} == false ]]; then
  bs_die 1 "refusing the update: $config turns the metrics server off (metrics.enabled: false), so nothing would answer the health check at $health_url after the restart and the update would be rolled back; set metrics.enabled: true (/healthz is served on metrics.port), then update again; nothing was changed"
fi
# Without --health-url, /healthz is where the config serves it: a metrics.port other than 9464 had
# a healthy update polled at the default, rolled back, and the old release "not healthy either" (exit 5).
if ((!health_url_given)) && [[ -n ${metrics_port-} ]]; then
  [[ $metrics_port != 0 ]] ||
    bs_die 1 "refusing the update: $config has metrics.port 0 (a free port chosen at each start), so the health check cannot find /healthz after the restart; set a fixed metrics.port, or pass --health-url; nothing was changed"
  case $metrics_host in
    0.0.0.0 | '::' | '') metrics_host=127.0.0.1 ;;
    *:*) metrics_host="[$metrics_host]" ;;
  esac
  health_url="http://$metrics_host:$metrics_port/healthz"
fi

# ---- fetch
mkdir -p "$state/downloads"
bundle=''
cleanup_download=''
if [[ $source =~ ^https?:// ]]; then
  id=$(printf '%s' "$source" | sha256sum | cut -c1-16)
  part=$state/downloads/$id.part
  bundle=$state/downloads/$id.tar
  if [[ ! -f $bundle ]]; then
    [[ -f $part ]] && bs_log "resuming the download at $(stat -c %s "$part") bytes"
    code=0
    http=$(curl -sSL --retry 3 --connect-timeout 20 -C - --max-filesize "$max_size" \
      -w '%{http_code}' -o "$part" "$source" 9>&-) || code=$?
    if [[ $http == 416 && -s $part ]]; then
      code=0 # the partial file was already complete
    elif ((code == 63)); then
      rm -f "$part"
      bs_die 1 "download exceeds --max-size $max_size bytes"
    elif ((code != 0)) || [[ ! $http =~ ^2 ]]; then
      [[ $http =~ ^2 ]] || rm -f "$part"
      bs_die 1 "download of $source failed (curl exit $code, HTTP $http)"
    fi
    # curl only enforces --max-filesize when the size is announced up front.
    if (($(stat -c %s "$part") > max_size)); then
      rm -f "$part"
      bs_die 1 "download exceeds --max-size $max_size bytes"
    fi
    mv -f "$part" "$bundle"
  fi
  cleanup_download=$bundle
else
  [[ ! -d $source ]] || bs_die 1 "bundle '$source' is a folder: give the bundle file (bestshot-<version>-<target>.tar)"
  [[ -f $source ]] || bs_die 1 "bundle '$source' not found"
  bundle=$source
fi
pause_at downloaded

# ---- verify
size=$(stat -c %s "$bundle")
((size <= max_size)) || bs_die 1 "bundle exceeds --max-size $max_size bytes"
mib() { echo $((($1 + 1048575) / 1048576)); }
free_bytes_under() { echo $(($(df -Pk "$1" | awk 'NR == 2 {print $4}') * 1024)); }
work=$state/work
rm -rf "$work"
mkdir -p "$work"
# The bundle's members are unpacked beside it first: a full state disk is
# said in these words, not in tar's.
state_free=$(free_bytes_under "$work")
((size <= state_free)) ||
  bs_die 1 "not enough disk space to unpack the bundle: needs $(mib "$size") MiB, $((state_free / 1048576)) MiB free under $state"
trap 'rm -rf "$work"; [[ -z $cleanup_download ]] || rm -f "$cleanup_download"' EXIT
# A bundle cut short (a copy or download that stopped) was called "not a tar
# archive", or said to hold the wrong members: it is said to be truncated.
if ! names=$(tar -tf "$bundle" 2>"$work/tar-list.err"); then
  if grep -q 'Unexpected EOF' "$work/tar-list.err"; then
    bs_die 1 "bundle is truncated ($size bytes, tar: Unexpected EOF in archive): copy or download it again"
  fi
  bs_die 1 "bundle is not a tar archive"
fi
members=$(LC_ALL=C sort <<<"$names" | tr '\n' ' ')
if [[ $members != 'manifest.json manifest.sig payload.tar.gz ' ]]; then
  # Members in the order package.sh writes them, ending early: the end of the file is missing.
  [[ -n $names && 'manifest.json manifest.sig payload.tar.gz ' == "$(tr '\n' ' ' <<<"$names")"* ]] &&
    bs_die 1 "bundle is truncated ($size bytes, it ends after ${members% }): copy or download it again"
  bs_die 1 "bundle must hold exactly manifest.json, manifest.sig and payload.tar.gz (it holds: ${members% })"
fi
listing=$(tar -tvf "$bundle")
if grep -qv '^-' <<<"$listing"; then bs_die 1 "bundle members must be regular files"; fi
if ! tar_err=$(tar -xf "$bundle" -C "$work" --no-same-owner --no-same-permissions manifest.json manifest.sig payload.tar.gz 2>&1); then
  bs_die 1 "cannot unpack the bundle under $state: ${tar_err%%$'\n'*}"
fi
verify_signature "$work/manifest.json" "$work/manifest.sig"
parse_manifest "$work/manifest.json"
[[ $m_target == "$target" ]] || bs_die 1 "wrong target: bundle is for $m_target, this unit is $target"
cur=$(current_version)
if [[ -n $cur ]]; then
  [[ $m_version != "$cur" ]] || { bs_log "$m_version is already the current release"; exit 0; }
  if [[ $(bs_semver_cmp "$m_version" "$cur") == -1 ]] && ((!force)); then
    bs_die 1 "refusing downgrade from $cur to $m_version (use --force)"
  fi
fi
[[ $(stat -c %s "$work/payload.tar.gz") == "$m_payload_size" &&
  $(sha256sum "$work/payload.tar.gz" | cut -d' ' -f1) == "$m_payload_sha" ]] ||
  bs_die 1 "payload hash mismatch: payload.tar.gz is not the one the manifest signs"
# The payload is now known to be the signed one; still refuse anything but
# regular files with the listed names before letting tar write.
listing=$(tar -tvzf "$work/payload.tar.gz") || bs_die 1 "payload.tar.gz is not a gzip tar archive"
if grep -qv '^-' <<<"$listing"; then bs_die 1 "payload members must be regular files"; fi
listed=$(for e in "${m_files[@]}"; do printf '%s\n' "${e#* * * }"; done | LC_ALL=C sort)
# Names are the last column of the verbose listing: manifest paths hold no
# blanks, and a member whose name does would not match any of them.
[[ $(awk '{print $NF}' <<<"$listing" | LC_ALL=C sort) == "$listed" ]] ||
  bs_die 1 "payload files differ from the manifest's list"
need_bytes=0
for e in "${m_files[@]}"; do
  fsize=${e#* }
  need_bytes=$((need_bytes + ${fsize%% *}))
done
free_bytes=$(free_bytes_under "$releases")
((need_bytes + reserve <= free_bytes)) ||
  bs_die 1 "not enough disk space for $m_version: needs $(mib "$need_bytes") MiB plus the reserve of $(mib "$reserve") MiB, $((free_bytes / 1048576)) MiB free under $releases"
pause_at verified

# ---- unpack
j_old=$cur j_new=$m_version
journal_write unpacking
pause_at unpacking
partial=$releases/$m_version.partial
rm -rf "$partial"
[[ $m_version == "$(link_version "$opt/previous")" ]] || discard_release "$m_version"
mkdir -p "$partial"
# The space was checked above, but the queue shares the disk and may have
# filled it since: a failed unpack installs nothing and says why.
if ! tar_err=$(tar -xzf "$work/payload.tar.gz" -C "$partial" --no-same-owner --no-same-permissions 2>&1); then
  discard_release "$m_version"
  journal_clear
  bs_die 1 "release $m_version could not be unpacked under $releases (${tar_err%%$'\n'*}); nothing installed"
fi
if ! verify_tree "$partial"; then
  discard_release "$m_version"
  journal_clear
  bs_die 1 "release $m_version does not match its manifest; nothing installed"
fi
# Modes from the manifest, one chmod per distinct mode.
for e in "${m_files[@]}"; do
  fmode=${e#* * }
  printf '%s\t%s\0' "${fmode%% *}" "${e#* * * }"
done | sort -z | (
  cd "$partial"
  cur_mode='' batch=()
  while IFS=$'\t' read -r -d '' fmode fpath; do
    if [[ $fmode != "$cur_mode" && ${#batch[@]} -gt 0 ]]; then
      chmod "$cur_mode" -- "${batch[@]}"
      batch=()
    fi
    cur_mode=$fmode
    batch+=("$fpath")
  done
  ((${#batch[@]} == 0)) || chmod "$cur_mode" -- "${batch[@]}"
)
cp "$work/manifest.json" "$releases/$m_version.manifest.json"
cp "$work/manifest.sig" "$releases/$m_version.manifest.sig"
flush "$partial"
rm -rf "${releases:?}/$m_version"
mv -T "$partial" "$releases/$m_version"
touch "$releases/$m_version" # install time orders pruning
flush "$releases"
journal_write unpacked
pause_at unpacked

# ---- self-check (before anything live changes)
bs_log "self-checking $m_version"
sc=0
(cd "$releases/$m_version" &&
  for f in "${env_files[@]}"; do load_env_file "$f"; done &&
  BESTSHOT_CONFIG=$config BESTSHOT_RELEASE_DIR=$releases/$m_version BESTSHOT_ROOT=${root:-/} \
    timeout "$selfcheck_timeout" bash -c "$selfcheck_cmd" 9>&- </dev/null >&2) || sc=$?
if ((sc != 0)); then
  discard_release "$m_version"
  journal_clear
  bs_die 1 "self-check failed for $m_version (exit $sc); staying on ${cur:-nothing}"
fi
journal_write selfchecked
pause_at selfchecked

# ---- switch, restart, health; commit or roll back
go_live
