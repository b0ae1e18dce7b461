#!/usr/bin/env bash
# install-jetson.sh — prepare a Jetson (JetPack 5 or 6) to run bestshot.
#
#   sudo scripts/install-jetson.sh --pubkey ota-pubkey.pem [--config config.yaml]
#   scripts/install-jetson.sh --root /tmp/unit --skip-checks      # lay out a tree
#   scripts/install-jetson.sh --dry-run                           # print the plan
#
# 1. Checks: L4T release (/etc/nv_tegra_release: R35 = JetPack 5, R36 =
#    JetPack 6), CUDA, cuDNN, TensorRT libraries, GStreamer elements
#    (nvarguscamerasrc, nvvidconv, nvjpegenc, nvv4l2decoder) and Node >= 20.
#    Missing hardware parts are errors unless --skip-checks.
# 2. The system user `bestshot` (groups video, render).
# 3. Directories: /opt/bestshot/releases, /opt/bestshot/ota (the updater),
#    /etc/bestshot (config, trusted OTA key), /var/lib/bestshot (queue and
#    state), /var/log/bestshot.
# 4. Files: bestshot.service (Restart=always; with --sd-notify a drop-in for
#    Type=notify and WatchdogSec), bestshot-watchdog.timer (restarts the unit
#    when /healthz fails), bestshot-ota-recover.service (finishes or rolls
#    back an interrupted update at boot), logrotate, platform.env (what was
#    detected: the capture code picks nvv4l2decoder/nvvidconv/nvjpegenc itself
#    when they exist).
# 5. systemctl daemon-reload and enable (only when --root is /).
#
# It never overwrites an existing config.yaml, and never touches releases or
# the queue: install a first release with ota-update.sh afterwards.
set -euo pipefail

BS_PROG=install-jetson
SCRIPT_DIR=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=lib/common.sh
. "$SCRIPT_DIR/lib/common.sh"

usage() {
  cat <<'USAGE'
usage: install-jetson.sh [--root DIR] [--dry-run] [--skip-checks] [--user NAME]
                         [--pubkey FILE] [--config FILE] [--sd-notify]
                         [--health-url URL] [--gst-inspect CMD]
options:
  --root DIR         root prefix (default /); systemctl and useradd run only for /
  --dry-run          print every action, change nothing
  --skip-checks      warn about a missing JetPack part instead of failing
  --user NAME        service user (default bestshot)
  --pubkey FILE      trusted Ed25519 public key for OTA bundles
  --config FILE      initial /etc/bestshot/config.yaml (kept if one exists)
  --sd-notify        the runtime sends READY=1/WATCHDOG=1: Type=notify, WatchdogSec=30
  --health-url URL   for the health watchdog (default http://127.0.0.1:9464/healthz)
  --gst-inspect CMD  GStreamer inspector (default gst-inspect-1.0)
USAGE
}

root=/ dry=0 skip_checks=0 user=bestshot pubkey='' config='' sd_notify=0
health_url='http://127.0.0.1:9464/healthz' gst_inspect=gst-inspect-1.0
need() { [[ $# -ge 2 && -n $2 ]] || bs_die 2 "$1 needs a value"; }
while (($# > 0)); do
  case $1 in
    --root) need "$@"; root=$2; shift 2 ;;
    --dry-run) dry=1; shift ;;
    --skip-checks) skip_checks=1; shift ;;
    --user) need "$@"; user=$2; shift 2 ;;
    --pubkey) need "$@"; pubkey=$2; shift 2 ;;
    --config) need "$@"; config=$2; shift 2 ;;
    --sd-notify) sd_notify=1; shift ;;
    --health-url) need "$@"; health_url=$2; shift 2 ;;
    --gst-inspect) need "$@"; gst_inspect=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; bs_die 2 "unknown argument '$1'" ;;
  esac
done
[[ $user =~ ^[a-z_][a-z0-9_-]*$ ]] || bs_die 2 "invalid user name '$user'"
if ((dry)) && [[ ! -e $root ]]; then
  # A dry run makes nothing, so the root it plans for need not exist yet (it was refused).
  root=$(realpath -m -- "$root")
else
  [[ -d $root ]] || bs_die 2 "root '$root' is not a directory"
  root=$(cd "$root" && pwd)
fi
[[ -z $pubkey || -r $pubkey ]] || bs_die 2 "cannot read public key '$pubkey'"
[[ -z $config || -r $config ]] || bs_die 2 "cannot read config '$config'"
[[ $root == / ]] && root=''
system=0
[[ -z $root ]] && system=1
if ((system && !dry)) && [[ $(id -u) != 0 ]]; then bs_die 2 "run as root (or use --root DIR / --dry-run)"; fi

say() { printf '%s\n' "$*"; }
# act CMD... — run a change, or print it with --dry-run.
act() {
  if ((dry)); then say "would: $*"; else "$@"; fi
}
# put SRC DEST MODE — install a file (prints the action with --dry-run).
put() {
  if ((dry)); then say "would: install -m $3 $1 $2"; else install -D -m "$3" "$1" "$2"; fi
}
# write DEST MODE — install stdin as a file.
write() {
  local tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if ((dry)); then
    say "would: write $1 (mode $2, $(wc -c <"$tmp") bytes)"
  else
    install -D -m "$2" "$tmp" "$1"
  fi
  rm -f "$tmp"
}

# ------------------------------------------------------------------ checks --
errors=()
problem() {
  if ((skip_checks)); then say "warning: $*"; else errors+=("$*"); fi
}

l4t='' jetpack=''
release_file=$root/etc/nv_tegra_release
if [[ -f $release_file ]]; then
  if parsed=$(bs_jetson_release "$release_file"); then
    l4t=${parsed% *}
    jetpack=${parsed#* }
    case $jetpack in
      5 | 6) say "check: L4T $l4t (JetPack $jetpack)" ;;
      4) problem "L4T $l4t is JetPack 4 or older: not supported (Node 20 needs Ubuntu 20.04, JetPack 5+)" ;;
      *) problem "L4T $l4t is newer than JetPack 6: untested" ;;
    esac
  else
    problem "cannot parse $release_file: '$(head -n 1 "$release_file")'"
  fi
else
  ((skip_checks)) || bs_die 1 "not a Jetson: $release_file not found (use --skip-checks to lay out directories anyway)"
  say "warning: not a Jetson ($release_file not found); checks skipped"
fi

libdir=$root/usr/lib/aarch64-linux-gnu
cuda_version=$(bs_cuda_version "$root")
trt_version=$(bs_so_version "$libdir" libnvinfer)
cudnn_version=$(bs_so_version "$libdir" libcudnn)
if [[ -f $release_file ]]; then
  if [[ -n $cuda_version ]]; then say "check: CUDA $cuda_version"; else problem "CUDA not found under $root/usr/local/cuda (install nvidia-jetpack)"; fi
  if [[ -n $cudnn_version ]]; then say "check: cuDNN $cudnn_version"; else problem "cuDNN not found ($libdir/libcudnn.so.*)"; fi
  if [[ -n $trt_version ]]; then say "check: TensorRT $trt_version"; else problem "TensorRT not found ($libdir/libnvinfer.so.*)"; fi
fi

gst_found=() gst_missing=()
for el in nvarguscamerasrc nvvidconv nvjpegenc nvv4l2decoder; do
  if $gst_inspect "$el" >/dev/null 2>&1; then gst_found+=("$el"); else gst_missing+=("$el"); fi
done
((${#gst_found[@]} == 0)) || say "check: GStreamer elements ${gst_found[*]}"
((${#gst_missing[@]} == 0)) || problem "GStreamer elements missing: ${gst_missing[*]} (install nvidia-l4t-gstreamer); software elements will be used"

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if ((node_major >= 20)); then say "check: Node $(node --version)"; else problem "Node >= 20 not found (install it from NodeSource for arm64)"; fi

if ((${#errors[@]} > 0)); then
  for e in "${errors[@]}"; do bs_log "$e"; done
  bs_die 1 "${#errors[@]} check(s) failed; fix them or pass --skip-checks"
fi

# -------------------------------------------------------------------- user --
if ((system)); then
  if getent passwd "$user" >/dev/null; then
    say "ok: user $user exists"
  else
    act useradd --system --user-group --home-dir /var/lib/bestshot --no-create-home --shell /usr/sbin/nologin "$user"
  fi
  for g in video render; do
    if getent group "$g" >/dev/null; then act usermod -a -G "$g" "$user"; fi
  done
else
  say "skip: system user $user (root prefix $root)"
fi

# -------------------------------------------------------------- directories --
owner() { # owner USER:GROUP PATH — chown only on a real system install
  if ((system)); then act chown "$1" "$2"; fi
}
act mkdir -p "$root/opt/bestshot/releases" "$root/opt/bestshot/ota/lib" "$root/etc/bestshot" \
  "$root/var/lib/bestshot/ota" "$root/var/log/bestshot" "$root/etc/systemd/system" "$root/etc/logrotate.d"
act chmod 0750 "$root/etc/bestshot" "$root/var/lib/bestshot" "$root/var/log/bestshot"
act chmod 0700 "$root/var/lib/bestshot/ota"
owner "root:$user" "$root/etc/bestshot"
owner "$user:$user" "$root/var/lib/bestshot"
owner "root:root" "$root/var/lib/bestshot/ota"
owner "root:$user" "$root/var/log/bestshot"

# -------------------------------------------------------------------- files --
put "$SCRIPT_DIR/ota-update.sh" "$root/opt/bestshot/ota/ota-update.sh" 0755
put "$SCRIPT_DIR/lib/common.sh" "$root/opt/bestshot/ota/lib/common.sh" 0644
put "$SCRIPT_DIR/health-watchdog.sh" "$root/opt/bestshot/ota/health-watchdog.sh" 0755
sed "s/^User=bestshot$/User=$user/; s/^Group=bestshot$/Group=$user/" "$SCRIPT_DIR/bestshot.service" |
  write "$root/etc/systemd/system/bestshot.service" 0644
sed "s/ root bestshot$/ root $user/" "$SCRIPT_DIR/logrotate.conf" | write "$root/etc/logrotate.d/bestshot" 0644

if ((sd_notify)); then
  write "$root/etc/systemd/system/bestshot.service.d/10-watchdog.conf" 0644 <<'EOF'
# The runtime sends READY=1 once /healthz is ready and WATCHDOG=1 at least
# every 15 s; systemd restarts it when the pings stop for 30 s.
[Service]
Type=notify
WatchdogSec=30
EOF
fi

write "$root/etc/systemd/system/bestshot-watchdog.service" 0644 <<EOF
# Restarts bestshot when its HTTP server stops answering at all (three tries,
# 5 s each): a hung event loop. Any status counts as alive, 503 included:
# /healthz says 503 while a new model builds its TensorRT engine, and a
# restart then would only start the build again. Crashes are Restart=always's.
# Nothing listening at the URL (metrics off or moved in the config) is said
# once and never restarted (health-watchdog.sh).
[Unit]
Description=bestshot health watchdog
After=bestshot.service

[Service]
Type=oneshot
ExecStart=/opt/bestshot/ota/health-watchdog.sh --health-url $health_url
EOF
write "$root/etc/systemd/system/bestshot-watchdog.timer" 0644 <<'EOF'
[Unit]
Description=bestshot health watchdog every 30 s

[Timer]
OnBootSec=3min
OnUnitActiveSec=30s
AccuracySec=5s

[Install]
WantedBy=timers.target
EOF
write "$root/etc/systemd/system/bestshot-ota-recover.service" 0644 <<EOF
# Finishes or rolls back an OTA update that a power cut or kill interrupted.
[Unit]
Description=bestshot OTA recovery
After=bestshot.service network-online.target

[Service]
Type=oneshot
ExecStart=/opt/bestshot/ota/ota-update.sh --recover --health-url $health_url

[Install]
WantedBy=multi-user.target
EOF

{
  say "# Written by install-jetson.sh: what this unit has. The capture code picks"
  say "# nvv4l2decoder / nvvidconv / nvjpegenc by itself when they exist."
  say "BESTSHOT_L4T=${l4t:-none}"
  say "BESTSHOT_JETPACK=${jetpack:-none}"
  say "BESTSHOT_CUDA=${cuda_version:-none}"
  say "BESTSHOT_TENSORRT=${trt_version:-none}"
  say "BESTSHOT_GST_HW_ELEMENTS=\"${gst_found[*]}\""
  if [[ " ${gst_found[*]} " == *' nvjpegenc '* ]]; then say 'BESTSHOT_JPEG_ENCODER=nvjpegenc'; else say 'BESTSHOT_JPEG_ENCODER=jpegenc'; fi
  if [[ " ${gst_found[*]} " == *' nvv4l2decoder '* ]]; then say 'BESTSHOT_DECODER=nvv4l2decoder'; else say 'BESTSHOT_DECODER=software'; fi
  if [[ " ${gst_found[*]} " == *' nvvidconv '* ]]; then say 'BESTSHOT_CONVERTER=nvvidconv'; else say 'BESTSHOT_CONVERTER=videoconvert'; fi
} | write "$root/etc/bestshot/platform.env" 0644

if [[ -n $pubkey ]]; then
  openssl pkey -pubin -in "$pubkey" -noout -text 2>/dev/null | head -n 1 | grep -q '^ED25519 Public-Key' ||
    bs_die 2 "public key '$pubkey' is not an Ed25519 public key"
  put "$pubkey" "$root/etc/bestshot/ota-pubkey.pem" 0644
elif [[ ! -f $root/etc/bestshot/ota-pubkey.pem ]]; then
  say "warning: no OTA public key installed (--pubkey): ota-update.sh will refuse every bundle"
fi
if [[ -f $root/etc/bestshot/config.yaml ]]; then
  say "ok: keeping $root/etc/bestshot/config.yaml"
elif [[ -n $config ]]; then
  put "$config" "$root/etc/bestshot/config.yaml" 0640
  owner "root:$user" "$root/etc/bestshot/config.yaml"
else
  say "warning: no config at $root/etc/bestshot/config.yaml (--config); the service will not start without one"
fi

# ------------------------------------------------------------------ systemd --
if ((system)); then
  act systemctl daemon-reload
  act systemctl enable bestshot.service bestshot-ota-recover.service bestshot-watchdog.timer
else
  say "skip: systemctl daemon-reload and enable (root prefix $root)"
fi
if ((dry)); then say "dry run: nothing changed"; else say "installed under ${root:-/}"; fi
