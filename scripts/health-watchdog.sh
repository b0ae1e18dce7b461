#!/usr/bin/env bash
# bestshot health watchdog, run every 30 s by bestshot-watchdog.timer
# (installed to /opt/bestshot/ota/ by install-jetson.sh).
#
# Restarts bestshot.service when its HTTP server stops answering at all: a
# hung event loop. Any HTTP status counts as alive, 503 included: /healthz is
# 503 while a new model builds its TensorRT engine, and a restart then would
# only start the build again. Crashes are Restart=always's.
#
# A connection refused is no hang: a hung process keeps its listening socket
# (the kernel queues the connections, the tries time out). Refused on every
# try means nothing serves /healthz at --health-url — the config turned the
# metrics server off (metrics.enabled: false) or moved it (metrics.port,
# metrics.host) — and restarting for it restarted a healthy service every
# minute, for ever. Said once (until it answers again), never restarted.
#
# Usage: health-watchdog.sh [--health-url URL] [--unit NAME] [--state FILE]
#                           [--tries N] [--max-time S] [--pause S]
# Exit 0 always but for usage errors (2): a failed check is no failed unit.
set -u
BS_PROG=bestshot-watchdog
# shellcheck source=lib/common.sh
. "$(dirname "$(readlink -f "$0")")/lib/common.sh"

url='http://127.0.0.1:9464/healthz' unit='bestshot.service' state='/run/bestshot-watchdog.unreachable'
tries=3 max_time=5 pause=5
while (($#)); do
  case $1 in
    --health-url) url=${2:?--health-url needs a URL}; shift 2 ;;
    --unit) unit=${2:?--unit needs a name}; shift 2 ;;
    --state) state=${2:?--state needs a file}; shift 2 ;;
    --tries) tries=${2:?--tries needs a number}; shift 2 ;;
    --max-time) max_time=${2:?--max-time needs seconds}; shift 2 ;;
    --pause) pause=${2:?--pause needs seconds}; shift 2 ;;
    *) bs_die 2 "unknown option '$1'" ;;
  esac
done
[[ $tries =~ ^[1-9][0-9]*$ ]] || bs_die 2 "--tries: expected a positive integer but received '$tries'"

systemctl is-active --quiet "$unit" || exit 0

refused=0
for ((i = 1; i <= tries; i++)); do
  rc=0
  curl -sS -o /dev/null --max-time "$max_time" "$url" 2>/dev/null || rc=$?
  if ((rc == 0)); then
    if [[ -e $state ]]; then
      rm -f "$state"
      echo "$unit answers again at $url"
    fi
    exit 0
  fi
  # curl 7: could not connect (refused); anything else (timeout 28, empty reply) is a server that took the connection.
  ((rc == 7)) && refused=$((refused + 1))
  ((i < tries)) && sleep "$pause"
done

if ((refused == tries)); then
  if [[ ! -e $state ]]; then
    : >"$state" 2>/dev/null || true
    echo "nothing listens at $url: this watchdog cannot check $unit and does not restart it; the config serves /healthz elsewhere (metrics.port, metrics.host) or not at all (metrics.enabled: false): set them back, or re-run install-jetson.sh with --health-url (ota-update.sh checks the same URL)"
  fi
  exit 0
fi
rm -f "$state"
echo "$unit: $url does not answer: restarting"
systemctl restart "$unit"
exit 0
