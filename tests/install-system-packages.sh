#!/bin/sh
# What the test suite needs beyond Python: Debian's Chromium, which tests/test_http_browser.py
# drives with Playwright. Idempotent: does nothing when /usr/bin/chromium is there already.
set -eu

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "tests need Chromium at /usr/bin/chromium; this is not a Debian-like system: install Chromium there by hand" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    apt-get update && apt-get install -y chromium
elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update && sudo apt-get install -y chromium
else
    echo "tests need Chromium at /usr/bin/chromium: as root, run apt-get install chromium" >&2
    exit 1
fi
