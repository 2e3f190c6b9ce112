#!/usr/bin/env bash
# Runs a Windows executable from the host under Wine 10 in the cached Debian 13 chroot
# (built by setup.sh), passing standard input/output/error and the exit code through.
#
#   run.sh EXE [ARGS...]   run EXE (a host path); ARGS are passed unchanged
#   run.sh --kill-server   end the prefix's wineserver and every Wine process left (wineserver -k)
#   run.sh --wine CMD...   run a command of the chroot with the Wine environment (wine, wineserver...)
#
# Only the mount namespace is new (unshare -m): the program shares the caller's network
# namespace (a test's `unshare -n` with loopback up) and its process IDs. Every step execs,
# so (output not a pipe, see below) the PID of this script is the Wine process of EXE:
# `kill -INT PID` is a Ctrl+C for the Windows program (Wine's SIGINT handler raises
# CTRL_C_EVENT: Node's process.on('SIGINT') runs). SIGTERM to the Wine process ends it at once
# (no handler runs); Wine's `taskkill` without /F only closes windows, which a console program
# has none of. After the program, `run.sh --kill-server` ends the wineserver and Wine's helpers.
#
# Node under Wine cannot write to a Unix pipe (process.stdout throws EBADF: libuv takes it for
# a Windows named pipe). Standard output/error that are files, terminals or /dev/null are
# handed over as they are; when either is a pipe, the program writes to temporary files that
# are relayed as they grow, and this script stays in between: it exits with the program's code
# and forwards SIGTERM (and SIGINT, except in a background job of a script, where bash cannot
# trap it) to the program as SIGINT. Standard input is handed over as is (Node cannot read a
# Unix pipe either).
#
# Inside, the host's /tmp is mounted at /tmp (also Z:\tmp) and EXE's folder at
# /run/host-exe (Z:\run\host-exe). C:\ is the prefix's drive_c: on the host "$WINE_DRIVE_C"
# (see env.sh; C:\CrypeDcm is "$WINE_DRIVE_C/CrypeDcm"). Needs root.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
. "$here/env.sh"

usage() { sed -n '2,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
if ! wine_env_ready; then
  echo "wine-run: no Wine environment in $WINE_CACHE: run scripts/wine/setup.sh first" >&2
  exit 2
fi

exe_dir=""
case "$1" in
  --kill-server) set -- wineserver -k ;;
  --wine) shift; [ $# -ge 1 ] || usage ;;
  -*) usage ;;
  *)
    [ -f "$1" ] || { echo "wine-run: no such file: $1" >&2; exit 2; }
    exe_dir="$(cd "$(dirname "$1")" && pwd)"
    exe="$(basename "$1")"; shift
    set -- wine "/run/host-exe/$exe" "$@"
    ;;
esac

launch() {
  # shellcheck disable=SC2086  # WINE_ENV is a list of NAME=value words
  exec unshare -m --propagation private sh -ec '
    root=$1 exe_dir=$2; shift 2
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --bind /tmp "$root/tmp"
    if [ -n "$exe_dir" ]; then
      mkdir -p "$root/run/host-exe"
      mount --bind -o ro "$exe_dir" "$root/run/host-exe"
    fi
    exec chroot "$root" "$@"' sh "$WINE_ROOT" "$exe_dir" env -i $WINE_ENV "$@"
}

if [ ! -p /dev/stdout ] && [ ! -p /dev/stderr ]; then
  launch "$@"
fi

relay="$(mktemp -d /tmp/wine-run.XXXXXX)"
: > "$relay/out"; : > "$relay/err"
( launch "$@" ) > "$relay/out" 2> "$relay/err" &
child=$!
trap 'kill -INT "$child" 2>/dev/null || true' INT TERM
tail -q -n +1 -f --pid="$child" "$relay/out" &
tail_out=$!
tail -q -n +1 -f --pid="$child" "$relay/err" >&2 &
tail_err=$!
# wait returns early (> 128) when a trapped signal arrives: wait again while the program lives.
rc=0
wait "$child" || rc=$?
while [ "$rc" -gt 128 ] && kill -0 "$child" 2>/dev/null; do rc=0; wait "$child" || rc=$?; done
wait "$tail_out" "$tail_err" || true
rm -rf "$relay"
exit "$rc"
