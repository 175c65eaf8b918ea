#!/usr/bin/env bash
# Merge per-app translation fragments (src/yiwang/<app>/i18n_zh.po) into the zh-Hans catalog
# and compile it. Idempotent: entries already in the catalog keep their translation.
set -euo pipefail
cd "$(dirname "$0")/../src/yiwang"
po=locale/zh_Hans/LC_MESSAGES/django.po
shopt -s nullglob
frags=(*/i18n_zh.po)
exec 9>/tmp/yiwang-merge-i18n.lock
flock 9
if [ ${#frags[@]} -gt 0 ]; then
  msgcat --use-first "$po" "${frags[@]}" -o "$po.new"
  mv "$po.new" "$po"
fi
msgfmt --check-format -o locale/zh_Hans/LC_MESSAGES/django.mo "$po"
