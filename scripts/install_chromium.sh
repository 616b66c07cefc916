#!/usr/bin/env bash
# Install Debian's chromium for the dashboard's headless-browser test
# (tests/integration/test_dashboard.py). Needs root and apt; does nothing when a chromium is
# already on PATH. The test runs it with flags for a closed network; nothing here downloads
# anything but the apt packages.
set -euo pipefail

for name in chromium chromium-browser google-chrome; do
    if command -v "$name" >/dev/null 2>&1; then
        echo "chromium: $(command -v "$name") ($("$name" --version 2>/dev/null || true))"
        exit 0
    fi
done

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium: no apt-get; install chromium yourself (the dashboard test skips without it)" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install_chromium: needs root (or sudo)" >&2; exit 1; }
    sudo="sudo"
fi
echo "installing chromium with apt (log: /tmp/install_chromium.log)"
{ $sudo apt-get update && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y chromium; } \
    >/tmp/install_chromium.log 2>&1 || { tail -20 /tmp/install_chromium.log >&2; exit 1; }
echo "chromium: $(command -v chromium) ($(chromium --version 2>/dev/null || true))"
