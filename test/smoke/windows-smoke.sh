#!/usr/bin/env bash
# Smoke test of the packaged Windows executable under Wine 10 (scripts/wine/), as a user would
# check it: start it in service mode, C-ECHO it, send a study, find the study's ZIP under
# C:\CrypeDcm\Inbox_Manual with its exact name, open the GUI, stop it with Ctrl+C (SIGINT to
# the Wine process: Wine raises CTRL_C_EVENT, the bridge's SIGINT path runs) and expect exit 0.
#
#   test/smoke/windows-smoke.sh EXE
#
# Runs itself in a private network namespace (unshare -n, loopback up). Needs root, DCMTK
# (echoscu, storescu), python3 and pydicom's CT_small.dcm on the host. Builds the Wine cache
# first if missing (scripts/wine/setup.sh, before entering the namespace: it downloads). Every
# wait is bounded; the last line says PASS or FAIL and the exit code is non-zero on failure.
# The program's output and config stay in C:\dicombridge-smoke (path printed) for a look.
#
#   WINDOWS_SMOKE_PRE_ARGS  words put before the bridge's arguments, to check this harness with
#                           plain node.exe and a script: EXE=node.exe and e.g.
#                           'Z:\tmp\bridge\bin\dicombridge.js' (the host's /tmp is Z:\tmp)
#   WINDOWS_SMOKE_START_SECONDS  bound for the first C-ECHO answer (default 180)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
name=windows-smoke

if [ $# -ne 1 ]; then
  echo "usage: $0 EXE" >&2
  exit 2
fi
[ -f "$1" ] || { echo "$name: FAIL: no such file: $1" >&2; exit 1; }
exe="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"

if [ "${WINDOWS_SMOKE_IN_NETNS:-}" != 1 ]; then
  # Built (once) before leaving the network: setup.sh downloads from the Debian mirror.
  bash "$repo/scripts/wine/setup.sh"
  exec unshare -n env WINDOWS_SMOKE_IN_NETNS=1 bash -c 'ip link set lo up && exec bash "$0" "$1"' "${BASH_SOURCE[0]}" "$exe"
fi

started=$(date +%s)
fail() {
  echo "$name: FAIL: $*" >&2
  exit 1
}
[ -f "$exe" ] || fail "no such file: $exe"
for tool in echoscu storescu python3; do command -v "$tool" >/dev/null || fail "$tool is missing on the host"; done
study=/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm
[ -f "$study" ] || fail "no $study (install python3-pydicom)"
# The bridge's name for CT_small.dcm's study (README "ZIP file names"; taken from a Linux run).
expected_zip='CompressedSamples, CT1__O_2004-01-19_CT_1.3.6.1.4.1.5962.1.2.1.20040119072730.12322.zip'

# shellcheck source=../../scripts/wine/env.sh
. "$repo/scripts/wine/env.sh"
wine_env_ready || fail "no Wine environment in $WINE_CACHE (scripts/wine/setup.sh)"
run="$repo/scripts/wine/run.sh"
# One smoke test at a time: runs share the Wine prefix, its wineserver and C:\CrypeDcm.
exec 8> "$WINE_CACHE/smoke.lock"
flock -w 900 8 || fail "another smoke test held $WINE_CACHE/smoke.lock for 900 s"

# Ports the kernel says are free in this namespace.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
dicom_port=$(free_port)
gui_port=$(free_port)
while [ "$gui_port" = "$dicom_port" ]; do gui_port=$(free_port); done

storage="$WINE_DRIVE_C/CrypeDcm"            # C:\CrypeDcm
work="$WINE_DRIVE_C/dicombridge-smoke"       # C:\dicombridge-smoke
rm -rf "$storage" "$work"
mkdir -p "$work"
cat > "$work/config.json" <<JSON
{
  "storageFolder": "C:\\\\CrypeDcm",
  "receive": { "host": "127.0.0.1", "port": $dicom_port, "timeoutSeconds": 1 },
  "gui": { "port": $gui_port }
}
JSON

pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  "$run" --kill-server 2>/dev/null 8>&- || true
}
trap cleanup EXIT
show_logs() {
  echo "--- $name: program output (last lines)" >&2
  tail -n 30 "$work/stdout.txt" "$work/stderr.txt" >&2 || true
}
fail() {
  show_logs
  echo "$name: FAIL: $*" >&2
  exit 1
}
# wait_for SECONDS WHAT COMMAND...: polls COMMAND until it succeeds; fails past SECONDS or when
# the program has ended.
wait_for() {
  local limit=$1 what=$2; shift 2
  local deadline=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || fail "the program ended while waiting for $what"
    [ "$(date +%s)" -lt "$deadline" ] || fail "no $what within $limit s"
    sleep 0.5
  done
}

# shellcheck disable=SC2086  # WINDOWS_SMOKE_PRE_ARGS is a list of words
"$run" "$exe" ${WINDOWS_SMOKE_PRE_ARGS:-} -s --config 'C:\dicombridge-smoke\config.json' \
  < /dev/null > "$work/stdout.txt" 2> "$work/stderr.txt" 8>&- &
pid=$!
echo "$name: started $(basename "$exe") (PID $pid), DICOM 127.0.0.1:$dicom_port, GUI 127.0.0.1:$gui_port, storage C:\\CrypeDcm = $storage"

wait_for "${WINDOWS_SMOKE_START_SECONDS:-180}" "C-ECHO answer" echoscu -to 5 -ta 5 -td 5 127.0.0.1 "$dicom_port"
echo "$name: C-ECHO answered after $(( $(date +%s) - started )) s"

storescu -to 10 -ta 10 -td 10 127.0.0.1 "$dicom_port" "$study" > "$work/storescu.txt" 2>&1 \
  || { cat "$work/storescu.txt" >&2; fail "storescu could not send $study"; }
echo "$name: study sent"

wait_for 60 "ZIP C:\\CrypeDcm\\Inbox_Manual\\$expected_zip" test -s "$storage/Inbox_Manual/$expected_zip"
python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; n = z.namelist(); assert n == ["S001_CT/I00001.dcm"], n' \
  "$storage/Inbox_Manual/$expected_zip" || fail "the ZIP is not the expected one-instance ZIP"
if [ -n "$(ls -A "$storage/Inbox_Failed" 2>/dev/null)" ]; then fail "Inbox_Failed is not empty: $(ls "$storage/Inbox_Failed")"; fi
echo "$name: ZIP found: Inbox_Manual/$expected_zip"

python3 - "$gui_port" > "$work/gui.txt" 2>&1 <<'PY' || { cat "$work/gui.txt" >&2; fail "the GUI page is not served"; }
import sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=10) as r:
    body = r.read().decode("utf-8", "replace")
    assert r.status == 200, r.status
    assert "DicomBridge" in body, "no DicomBridge in the page"
print("GUI", r.status)
PY
echo "$name: GUI page served (HTTP 200, DicomBridge)"

# Graceful stop: Ctrl+C. The bridge's own bound is 30 s; 45 s leaves room for Wine.
kill -INT "$pid"
deadline=$(( $(date +%s) + 45 ))
while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.5; done
kill -0 "$pid" 2>/dev/null && fail "still running 45 s after Ctrl+C (SIGINT)"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" = 0 ] || fail "exit code $rc after Ctrl+C (SIGINT), expected 0"
echo "$name: stopped by Ctrl+C (SIGINT), exit code 0"

"$run" --kill-server 8>&- || fail "wineserver -k failed"
trap - EXIT
echo "$name: PASS ($(( $(date +%s) - started )) s)"
