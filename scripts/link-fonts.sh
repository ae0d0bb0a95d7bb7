#!/usr/bin/env bash
# Fill fonts/ with links to the Korean faces of Debian's font packages (idempotent).
set -euo pipefail
dest="${1:-fonts}"
mkdir -p "$dest"
link_dir() {  # link_dir NAME SOURCE_DIR GLOB
  local name="$1" src="$2" glob="$3"
  [ -d "$src" ] || { echo "warning: $src not found (package not installed?)" >&2; return 0; }
  mkdir -p "$dest/$name"
  find "$src" -maxdepth 1 -type f -name "$glob" -print0 | while IFS= read -r -d '' f; do
    ln -sfn "$f" "$dest/$name/$(basename "$f")"
  done
}
# nanum/ also holds fonts-nanum-eco's files, noto-cjk/ fonts-noto-cjk-extra's weights.
link_dir nanum /usr/share/fonts/truetype/nanum "*.ttf"
link_dir unfonts-core /usr/share/fonts/truetype/unfonts-core "*.ttf"
link_dir baekmuk /usr/share/fonts/truetype/baekmuk "*.ttf"
link_dir noto-cjk /usr/share/fonts/opentype/noto "Noto*CJK*.ttc"
link_dir naver-d2coding /usr/share/fonts/truetype/naver-d2coding "*.ttc"
link_dir lexi /usr/share/fonts/truetype/lexi "*.ttf"
count=$(find -L "$dest" -type f \( -name '*.ttf' -o -name '*.ttc' \) | wc -l)
echo "fonts/: $count font files linked"
