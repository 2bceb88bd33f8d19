#!/usr/bin/env bash
# Make sure the real brokers the integration tests start are installed:
# mosquitto (MQTT) and influxd (InfluxDB 1.x), both from Debian's archive, and the
# influx CLI (influxdb-client) that install.sh drives (tests/integration/test_install.py),
# and the headless browser of pvopt web's browser tests (chromium, driven by Playwright
# from the test extra: Debian's build, never a download by `playwright install`).
set -euo pipefail
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
missing=()
have mosquitto || missing+=(mosquitto)
have influxd || missing+=(influxdb)
have influx || missing+=(influxdb-client)  # the influx CLI install.sh uses
have chromium || missing+=(chromium)  # tests/integration/test_web_browser.py
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (Debian packages) for the integration tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
    exit 0
fi
echo "make test: ${missing[*]} not installed; run: sudo apt-get install -y ${missing[*]}" >&2
echo "(without them the integration tests are skipped, and fail when CI=true)" >&2
