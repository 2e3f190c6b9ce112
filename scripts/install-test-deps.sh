#!/usr/bin/env bash
# Installs the system packages the tests talk to, when they are missing: the tests use real
# DICOM peers (DCMTK, GDCM, Orthanc), real sample files (python3-pydicom's data folder) and a
# real browser (Debian's chromium, driven by playwright-core), never mocks.
# Needs root (or sudo) and Debian's apt repositories.
set -euo pipefail
need=()
command -v storescu >/dev/null 2>&1 || need+=(dcmtk)
command -v gdcmscu >/dev/null 2>&1 || need+=(libgdcm-tools)
command -v Orthanc >/dev/null 2>&1 || need+=(orthanc)
[ -d /usr/lib/python3/dist-packages/pydicom/data/test_files ] || need+=(python3-pydicom)
command -v chromium >/dev/null 2>&1 || need+=(chromium)   # the admin GUI tests drive it with playwright-core
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)   # the service unit is checked with systemd-analyze verify
command -v openssl >/dev/null 2>&1 || need+=(openssl)   # the TLS tests make their own certificates
command -v script >/dev/null 2>&1 || need+=(bsdutils)   # the console test gives the CLI a terminal
if [ ${#need[@]} -gt 0 ]; then
  echo "install-test-deps: installing missing Debian packages: ${need[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# LazyFS, for the power-cut test: built from the vendored source into a cache folder outside
# the repository (idempotent; see scripts/lazyfs/README.md).
bash "$(dirname "$0")/lazyfs/build.sh" >/dev/null
