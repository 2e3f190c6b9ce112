#!/usr/bin/env bash
# Runs the test suite. DICOM peers such as DCMTK storescp and Orthanc listen on every
# interface, so when this machine allows it (root, or unprivileged user namespaces) the whole
# suite runs in a private network namespace whose only interface is its own loopback:
# nothing a test starts is reachable from, or talks to, the network.
# First, the Windows executable (built by `pretest`) is smoke-tested under Wine 10
# (test/smoke/windows-smoke.sh; its Debian 13 environment is built once and cached, see
# scripts/wine/README.md). DICOMBRIDGE_SKIP_WINDOWS_SMOKE=1 leaves it out (a machine without
# root or debootstrap); CI never sets it.
# Last, the work tree must be as the run found it: no test writes into tracked or
# unignored paths (the README's screenshots are `npm run screenshots`, not a test's side effect).
# Arguments, if any, are the test files to run instead of the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# Under npm, node_modules/.bin comes first in PATH: `node` is the project's pinned Node.js 24.
echo "run-tests: $(command -v node) $(node --version)"

# Everything git sees as changed, by name and content: tracked changes and unignored new files.
tree_state() {
  git status --porcelain=v1 --untracked-files=all
  git diff HEAD --binary | sha256sum
  git ls-files --others --exclude-standard -z | xargs -0 -r sha256sum
}
in_git=0
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  in_git=1
  tree_before=$(tree_state)
else
  echo "run-tests: not a git work tree; the check that tests leave it unchanged is skipped" >&2
fi

smoke=0
if [ "${DICOMBRIDGE_SKIP_WINDOWS_SMOKE:-}" != 1 ]; then
  version=$(node -p "require('./package.json').version")
  bash test/smoke/windows-smoke.sh "dist/pkg/dicombridge-$version-win-x64.exe" || smoke=$?
fi

run=(node --test --test-concurrency=1 'dist/test/**/*.test.js')
[ "$#" -gt 0 ] && run=(node --test --test-concurrency=1 "$@")
suite=0
if [ -z "${DICOMBRIDGE_NETNS:-}" ] && command -v unshare >/dev/null 2>&1 && unshare -n true 2>/dev/null; then
  export DICOMBRIDGE_NETNS=private
  unshare -n sh -c 'ip link set lo up && exec "$@"' sh "${run[@]}" || suite=$?
else
  echo "run-tests: no private network namespace available; peers bind on this machine's interfaces" >&2
  "${run[@]}" || suite=$?
fi
tree=0
if [ "$in_git" -eq 1 ]; then
  tree_after=$(tree_state)
  if [ "$tree_before" != "$tree_after" ]; then
    tree=1
    echo "run-tests: the tests changed the work tree (git status before vs after):" >&2
    diff <(echo "$tree_before") <(echo "$tree_after") >&2 || true
  fi
fi
[ "$smoke" -eq 0 ] || echo "run-tests: the Windows executable's smoke test FAILED (exit $smoke; see above)" >&2
[ "$suite" -ne 0 ] && exit "$suite"
[ "$smoke" -ne 0 ] && exit "$smoke"
exit "$tree"
