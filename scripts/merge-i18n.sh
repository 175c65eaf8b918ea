#!/usr/bin/env bash
# Merge per-app translation fragments (src/yiwang/<app>/i18n_zh*.po) into the zh-Hans catalog
# and compile it. Idempotent: entries already in the catalog keep their translation.
set -euo pipefail
cd "$(dirname "$0")/../src/yiwang"
po=locale/zh_Hans/LC_MESSAGES/django.po
shopt -s nullglob
frags=(*/i18n_zh*.po)
exec 9>/tmp/yiwang-merge-i18n.lock
flock 9
if [ ${#frags[@]} -gt 0 ]; then
  # fragments may come without a header: give each one (in a temporary copy)
  tmp=$(mktemp -d)
  with_header=()
  for f in "${frags[@]}"; do
    out="$tmp/$(echo "$f" | tr / _)"
    if grep -q '^"Content-Type:' "$f"; then cp "$f" "$out"; else
      printf 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n' > "$out"
      cat "$f" >> "$out"
    fi
    with_header+=("$out")
  done
  msgcat --use-first "$po" "${with_header[@]}" -o "$po.new"
  mv "$po.new" "$po"
  rm -rf "$tmp"
fi
msgfmt --check-format -o locale/zh_Hans/LC_MESSAGES/django.mo "$po"
