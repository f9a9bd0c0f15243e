#!/usr/bin/env bash
# Re-vendor the NHS.UK frontend assets shipped in src/ipmo/web/static/nhsuk (MIT, NHS England)
# and Swagger UI in src/ipmo/web/static/swagger-ui (Apache-2.0, SmartBear) for /docs.
# Run by a developer when upgrading; the product never downloads at run time (it works offline).
set -euo pipefail
version=${1:-10.6.1}
swagger_version=${2:-5.36.0}
tmp=$(mktemp -d)
(cd "$tmp" && npm pack "nhsuk-frontend@$version" >/dev/null && tar xzf "nhsuk-frontend-$version.tgz")
dest="$(dirname "$0")/../src/ipmo/web/static/nhsuk"
rm -rf "$dest" && mkdir -p "$dest"
cp "$tmp/package/dist/nhsuk/nhsuk-frontend.min.css" "$tmp/package/dist/nhsuk/nhsuk-frontend.min.js" "$dest/"
cp -r "$tmp/package/dist/nhsuk/assets/"* "$dest/"
# The Frutiger webfont is licensed to NHS England for nhs.uk only and is fetched from
# assets.nhs.uk: drop the @font-face rules so no page waits on a third-party host (the stack then
# falls back to Arial, as the NHS.UK frontend itself does when the font is unavailable).
python3 - "$dest/nhsuk-frontend.min.css" <<'PY'
import re, sys
path = sys.argv[1]
css = open(path, encoding="utf-8").read()
css, n = re.subn(r"@font-face\{[^}]*assets\.nhs\.uk[^}]*\}", "", css)
assert n and "assets.nhs.uk" not in css, "font-face rules not found: check the new release"
open(path, "w", encoding="utf-8").write(css)
PY
echo "nhsuk-frontend $version vendored into $dest"

(cd "$tmp" && npm pack "swagger-ui-dist@$swagger_version" >/dev/null && mkdir swagger && \
  tar xzf "swagger-ui-dist-$swagger_version.tgz" -C swagger)
swagger="$(dirname "$0")/../src/ipmo/web/static/swagger-ui"
rm -rf "$swagger" && mkdir -p "$swagger"
for f in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt; do
  cp "$tmp/swagger/package/$f" "$swagger/"
done
sed -i '/^\/\/# sourceMappingURL=/d' "$swagger/swagger-ui-bundle.js"
sed -i 's|/\*# sourceMappingURL=[^*]*\*/||' "$swagger/swagger-ui.css"
echo "swagger-ui-dist $swagger_version vendored into $swagger"
