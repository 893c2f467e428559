#!/usr/bin/env bash
# System packages the test suite needs: LibreOffice headless, to recalculate exported workbooks (issue 6).
# Installs only what is missing; needs root (or sudo) and Debian's package registry.
set -euo pipefail
if command -v soffice >/dev/null 2>&1 || command -v libreoffice >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
if command -v apt-get >/dev/null 2>&1; then
  echo "installing LibreOffice (libreoffice-calc-nogui) for the spreadsheet tests..." >&2
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends libreoffice-calc-nogui >/dev/null
else
  echo "warning: no apt-get; the LibreOffice tests will be skipped" >&2
fi
