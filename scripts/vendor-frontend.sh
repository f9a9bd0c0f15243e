#!/usr/bin/env bash
# Re-vendor the NHS.UK frontend assets shipped in src/ipmo/web/static/nhsuk (MIT, NHS England).
# Run by a developer when upgrading; the product never downloads at run time.
set -euo pipefail
version=${1:-10.6.1}
tmp=$(mktemp -d)
(cd "$tmp" && npm pack "nhsuk-frontend@$version" >/dev/null && tar xzf "nhsuk-frontend-$version.tgz")
dest="$(dirname "$0")/../src/ipmo/web/static/nhsuk"
rm -rf "$dest" && mkdir -p "$dest"
cp "$tmp/package/dist/nhsuk/nhsuk-frontend.min.css" "$tmp/package/dist/nhsuk/nhsuk-frontend.min.js" "$dest/"
cp -r "$tmp/package/dist/nhsuk/assets/"* "$dest/"
echo "nhsuk-frontend $version vendored into $dest"
