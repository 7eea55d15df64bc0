#!/usr/bin/env bash
# System packages mmedc needs: tesseract with the six language packs (textbook OCR), a CJK font
# (tests render Chinese/Japanese pages), and Java 17 (Apache Spark). Skips what is already there.
set -euo pipefail
pkgs=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd tesseract-ocr-chi-sim tesseract-ocr-jpn tesseract-ocr-fra
      tesseract-ocr-rus tesseract-ocr-spa fonts-noto-cjk fonts-dejavu-core)
command -v java >/dev/null 2>&1 || pkgs+=(openjdk-17-jre-headless)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && { echo "system packages: all present"; exit 0; }
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
