#!/usr/bin/env bash
# Install the Debian packages hangulgan needs, when they are missing.
# Usage: scripts/system-deps.sh [fonts|build|all]   (default: all)
#   fonts: the Korean font packages the default corpus is rendered from
#   build: what pypotrace compiles against, fontconfig for check-font, tesseract for evaluate --ocr
# As root it installs with apt-get; otherwise it lists what is missing and fails.
set -euo pipefail

# The first five give the default set; the last four add styles (other Noto CJK weights,
# Nanum Eco, the D2Coding monospace, Lexi Gulim) for style-conditioned models.
FONT_PACKAGES="fonts-nanum fonts-nanum-extra fonts-unfonts-core fonts-baekmuk fonts-noto-cjk
  fonts-noto-cjk-extra fonts-nanum-eco fonts-naver-d2coding fonts-lexi-gulim"
# tesseract-ocr(-kor): `hangulgan evaluate --ocr` reads a paragraph set in a font.
BUILD_PACKAGES="libpotrace-dev libagg-dev pkg-config fontconfig build-essential tesseract-ocr tesseract-ocr-kor"

case "${1:-all}" in
  fonts) wanted="$FONT_PACKAGES" ;;
  build) wanted="$BUILD_PACKAGES" ;;
  all) wanted="$FONT_PACKAGES $BUILD_PACKAGES" ;;
  *) echo "usage: $0 [fonts|build|all]" >&2; exit 2 ;;
esac

missing=""
for pkg in $wanted; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages:$missing" >&2
  echo "install them with: sudo apt-get install$missing" >&2
  exit 1
fi
echo "installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
fc-cache -f >/dev/null 2>&1 || true
