#!/usr/bin/env bash
# Builds web/dist when it is missing or older than any web source file.
set -euo pipefail
cd "$(dirname "$0")/../web"
[ -f package.json ] || exit 0
if ! command -v npm >/dev/null 2>&1; then
  echo "renovo: npm is missing; install Node.js 20 (sudo apt-get install nodejs npm) to build the web app" >&2
  exit 1
fi
if [ -f dist/index.html ] && [ -z "$(find src index.html package.json package-lock.json vite.config.* -newer dist/index.html 2>/dev/null | head -1)" ]; then
  exit 0
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run build --silent
