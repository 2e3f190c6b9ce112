# shellcheck shell=bash disable=SC2034  # sourced: the names are used by the scripts that source it
# Shared locations of the Wine test environment (sourced by setup.sh, run.sh and the smoke test).
#
# Debian 12's Wine 8 cannot run Node 24's node.exe (V8 needs MEM_RESERVE_PLACEHOLDER), so the
# Windows build is run by Wine 10 from a Debian 13 ("trixie") chroot kept in a cache outside
# the repository.
#
#   DICOMBRIDGE_WINE_CACHE   cache folder (default /var/cache/dicombridge/wine-trixie)
#   DICOMBRIDGE_DEBIAN_MIRROR  Debian mirror (default http://deb.debian.org/debian)

WINE_CACHE="${DICOMBRIDGE_WINE_CACHE:-/var/cache/dicombridge/wine-trixie}"
WINE_MIRROR="${DICOMBRIDGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The chroot, and inside it the Wine prefix (one prefix, owned by root like every run here).
WINE_ROOT="$WINE_CACHE/root"
WINE_PREFIX_IN_CHROOT=/wineprefix
WINE_PREFIX_HOST="$WINE_ROOT$WINE_PREFIX_IN_CHROOT"
# C:\ as the host sees it; C:\CrypeDcm is "$WINE_DRIVE_C/CrypeDcm".
WINE_DRIVE_C="$WINE_PREFIX_HOST/drive_c"
# Written last by setup.sh; its content names the recipe, so a changed recipe rebuilds.
WINE_STAMP="$WINE_CACHE/ready"
WINE_RECIPE="trixie minbase; wine wine64 --no-install-recommends; wineboot; Graphics=null; hardlink; v2"
# Quiet Wine, no Gecko/Mono installers, no display (console programs only).
WINE_ENV="WINEPREFIX=$WINE_PREFIX_IN_CHROOT WINEDEBUG=-all WINEDLLOVERRIDES=mscoree,mshtml= HOME=/root LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin"

# True when setup.sh has finished the environment for the current recipe.
wine_env_ready() {
  [ -f "$WINE_STAMP" ] && [ "$(cat "$WINE_STAMP")" = "$WINE_RECIPE" ] && [ -x "$WINE_ROOT/usr/lib/wine/wine64" ]
}
