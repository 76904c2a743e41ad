#!/usr/bin/env bash
# Make sure the browser tests have Debian's Chromium at /usr/bin/chromium (Playwright drives it via
# executable_path; it never downloads a browser of its own). Installs it with apt when we are root;
# otherwise prints exactly what to run. With CI=true a missing browser is a failure, never a skip.
set -euo pipefail

# LEDTREE_CHROMIUM only exists so the tests can point this at a missing file.
CHROMIUM="${LEDTREE_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Chromium is missing: installing it with apt-get (needed by the browser tests)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
    if [ -x "$CHROMIUM" ]; then
        exit 0
    fi
    echo "apt-get install chromium finished but $CHROMIUM is still missing" >&2
    exit 1
fi

echo "Chromium is missing; the browser tests need it at $CHROMIUM. Install it with:" >&2
echo "    sudo apt-get update && sudo apt-get install -y chromium" >&2
if [ "${CI:-}" = "true" ]; then
    echo "CI=true: a missing browser is a failure" >&2
    exit 1
fi
echo "(continuing without it: the browser tests will be skipped)" >&2
exit 0
