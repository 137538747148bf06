#!/bin/sh
# The dashboard in headless Chromium (dashboard_test.py), run by Debian's python3, the one
# with python3-selenium.  Skipped (77) without Chromium, its driver or Selenium.
# Usage: dashboard.sh OUTDIR stub STUB_SCRIPT ASSET_DIR | OUTDIR serve PROVOST SOURCE_DIR
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
exec "$PY" "$(dirname "$0")/dashboard_test.py" "$@"
