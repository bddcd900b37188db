#!/bin/sh
# What the test suite needs beyond Python, from Debian: Chromium (tests/test_http_browser.py drives
# it with Playwright), wrk (the bench smoke tests drive HTTP load with it), the PostgreSQL server
# (tests/postgres_server.py starts throwaway clusters with its initdb and pg_ctl) and faketime
# (tests/test_tui_wall_clock.py moves the wall clock under the dashboard snapshots). Idempotent: does
# nothing when all are there already.
set -eu

missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
command -v faketime >/dev/null 2>&1 || missing="$missing faketime"
if [ -z "$missing" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "tests need:$missing; this is not a Debian-like system: install them by hand" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $missing
elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y $missing
else
    echo "tests need:$missing: as root, run apt-get install$missing" >&2
    exit 1
fi
