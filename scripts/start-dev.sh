#!/usr/bin/env bash
# `npm start`: runs the bridge in the foreground on the development settings (DICOM on
# 127.0.0.1:11112, GUI on http://127.0.0.1:8104/, storage in ./data). The settings file is
# data/dicombridge.json, copied from config/dev.json on the first start, so the GUI's Save
# changes your copy and never the file under version control.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p data
[ -e data/dicombridge.json ] || cp config/dev.json data/dicombridge.json
# The project's pinned Node.js 24 (node_modules/.bin, first in PATH under npm), whatever the system has.
node=node_modules/.bin/node
[ -x "$node" ] || node=node
exec "$node" bin/dicombridge.js --config data/dicombridge.json "$@"
