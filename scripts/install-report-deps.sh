#!/usr/bin/env bash
# System libraries for the policy-lab reports: WeasyPrint (PDF) needs Pango and a font;
# pdftotext (poppler-utils) lets the report tests read the PDF's text. Idempotent: installs only
# what is missing, and does nothing when everything is present.
set -euo pipefail
need=()
for pkg in libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
