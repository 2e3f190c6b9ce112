#!/usr/bin/env bash
# Builds LazyFS (a FUSE file system that keeps written data in its own cache until fsync, and
# drops what was not synced on the command `lazyfs::clear-cache`: a simulated power cut) and
# prints the path of its binary. Source: dsrhaslab/lazyfs at a47a5ba (LICENSE beside this file
# and inside the tarball), its CMake files changed to use Debian's toml11 and spdlog instead of
# downloading them. Idempotent; builds into $LAZYFS_BUILD_DIR (default: a cache folder outside
# any repository). `build.sh --path` only prints the binary's path, and fails when it is not built.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=${LAZYFS_BUILD_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lazyfs-a47a5ba}
bin=$dest/lazyfs/lazyfs/build/lazyfs
if [ "${1:-}" = --path ]; then
  [ -x "$bin" ] || { echo "no LazyFS binary at $bin" >&2; exit 1; }
  command -v fusermount3 >/dev/null 2>&1 || { echo "fusermount3 is missing (Debian package fuse3)" >&2; exit 1; }
  echo "$bin"; exit 0
fi
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
need=()
for p in cmake g++ libfuse3-dev fuse3 libtoml11-dev libspdlog-dev; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
if [ ! -x "$bin" ]; then
  mkdir -p "$dest"
  tar xzf "$here/lazyfs-src.tar.gz" -C "$dest"
  (cd "$dest/lazyfs/libs/libpcache" && ./build.sh) >&2
  (cd "$dest/lazyfs/lazyfs" && ./build.sh) >&2
fi
# The tests mount with -o allow_other.
grep -q '^user_allow_other' /etc/fuse.conf 2>/dev/null || echo user_allow_other | $sudo tee -a /etc/fuse.conf >/dev/null
echo "$bin"
