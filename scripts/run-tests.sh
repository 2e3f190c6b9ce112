#!/usr/bin/env bash
# Runs the test suite. DICOM peers such as DCMTK storescp and Orthanc listen on every
# interface, so when this machine allows it (root, or unprivileged user namespaces) the whole
# suite runs in a private network namespace whose only interface is its own loopback:
# nothing a test starts is reachable from, or talks to, the network.
set -euo pipefail
cd "$(dirname "$0")/.."
# Under npm, node_modules/.bin comes first in PATH: `node` is the project's pinned Node.js 24.
echo "run-tests: $(command -v node) $(node --version)"
run=(node --test --test-concurrency=1 'dist/test/**/*.test.js')
if [ -z "${DICOMBRIDGE_NETNS:-}" ] && command -v unshare >/dev/null 2>&1 && unshare -n true 2>/dev/null; then
  export DICOMBRIDGE_NETNS=private
  exec unshare -n sh -c 'ip link set lo up && exec "$@"' sh "${run[@]}"
fi
echo "run-tests: no private network namespace available; peers bind on this machine's interfaces" >&2
exec "${run[@]}"
