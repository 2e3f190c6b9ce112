#!/usr/bin/env bash
# Builds (once) the Wine 10 environment that runs the Windows executable in tests: a Debian 13
# minbase chroot with wine/wine64 (no recommends, no X server) and an initialised Wine prefix,
# cached outside the repository (see env.sh). A finished cache is recognised by its stamp and
# the script returns at once. Needs root (debootstrap, chroot, mount namespace).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
. "$here/env.sh"

t0=$(date +%s)
step_start=$t0
step() { # prints the time the previous step took, then names the next one
  local now; now=$(date +%s)
  [ -n "${step_name:-}" ] && echo "wine-setup: $step_name: $((now - step_start)) s"
  step_name="$1"; step_start=$now
  [ -n "$1" ] && echo "wine-setup: $1 ..."
  return 0
}

cached() {
  wine_env_ready || return 1
  echo "wine-setup: cached environment ready in $WINE_CACHE ($(( $(date +%s) - t0 )) s)"
}
cached && exit 0

[ "$(id -u)" = 0 ] || { echo "wine-setup: must run as root" >&2; exit 1; }
# One builder at a time; a second one waits and then finds the cache ready.
mkdir -p "$(dirname "$WINE_CACHE")"
exec 9> "$WINE_CACHE.lock"
flock 9
cached && exit 0

if ! command -v debootstrap >/dev/null; then
  step "installing debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends debootstrap >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get install -y --no-install-recommends debootstrap >/dev/null; }
fi

# A half-built cache (interrupted run, older recipe) is thrown away: the stamp comes last.
mkdir -p "$WINE_CACHE"
rm -f "$WINE_STAMP"
build="$WINE_CACHE/root.building"
if [ -d "$build" ] || [ -d "$WINE_ROOT" ]; then
  step "removing an unfinished or outdated environment"
  # A failed earlier run may have left mounts behind (mounts are normally private to a namespace).
  grep -o " $WINE_CACHE/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l || true
  rm -rf --one-file-system "$build" "$WINE_ROOT"
fi

step "debootstrap trixie (minbase) from $WINE_MIRROR"
debootstrap --variant=minbase trixie "$build" "$WINE_MIRROR" > "$WINE_CACHE/debootstrap.log" 2>&1 \
  || { tail -20 "$WINE_CACHE/debootstrap.log" >&2; exit 1; }

# Runs a command in the chroot, in a private mount namespace (nothing stays mounted after).
in_chroot() {
  unshare -m --propagation private sh -ec '
    root=$1; shift
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    exec chroot "$root" "$@"' sh "$build" "$@"
}

step "installing wine (wine64, no recommends) in the chroot"
cp /etc/resolv.conf "$build/etc/resolv.conf"
in_chroot sh -ec '
  export DEBIAN_FRONTEND=noninteractive
  echo "deb '"$WINE_MIRROR"' trixie main" > /etc/apt/sources.list
  apt-get update -q
  apt-get install -y -q --no-install-recommends wine wine64
  apt-get clean
  rm -rf /var/lib/apt/lists/*' > "$WINE_CACHE/apt.log" 2>&1 \
  || { tail -20 "$WINE_CACHE/apt.log" >&2; exit 1; }
in_chroot env WINEDEBUG=-all wine --version

step "initialising the Wine prefix (wineboot)"
# shellcheck disable=SC2086  # WINE_ENV is a list of NAME=value words
# Graphics=null: Wine's headless display driver (console programs only, no X server, no
# Wayland probing). hardlink: the prefix's system32 holds copies of Wine's PE DLLs (~700 MB);
# linking them to the originals halves the cache (Wine never rewrites them in place).
in_chroot env -i $WINE_ENV sh -ec '
  wineboot --init
  wine reg add "HKCU\\Software\\Wine\\Drivers" /v Graphics /d null /f
  wineserver --wait
  hardlink -t -q /usr/lib/x86_64-linux-gnu/wine "$WINEPREFIX/drive_c/windows"'
mkdir -p "$build$WINE_PREFIX_IN_CHROOT/drive_c/CrypeDcm"

step "finishing"
mv "$build" "$WINE_ROOT"
echo "$WINE_RECIPE" > "$WINE_STAMP"
step ""
echo "wine-setup: environment ready in $WINE_CACHE, $(du -sh --one-file-system "$WINE_CACHE" | cut -f1), total $(( $(date +%s) - t0 )) s"
