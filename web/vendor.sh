#!/bin/sh
# Fetches the workbench's front-end packages from the npm registry (versions pinned in
# package-lock.json) and copies cytoscape.js, with its licence, to where `ekg serve` embeds it.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
cp node_modules/cytoscape/dist/cytoscape.min.js ../src/serve/assets/vendor/cytoscape.min.js
cp node_modules/cytoscape/LICENSE ../src/serve/assets/vendor/cytoscape.LICENSE
echo "cytoscape $(node -p 'require("./node_modules/cytoscape/package.json").version') vendored"
