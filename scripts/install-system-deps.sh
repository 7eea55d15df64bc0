#!/usr/bin/env bash
# System packages mmedc needs: tesseract with the six language packs (textbook OCR), a CJK font
# (tests render Chinese/Japanese pages), and Java 17 or later (Apache Spark; the tests start a local
# session and a standalone master + worker on loopback themselves). Skips what is already there.
set -euo pipefail
pkgs=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd tesseract-ocr-chi-sim tesseract-ocr-jpn tesseract-ocr-fra
      tesseract-ocr-rus tesseract-ocr-spa fonts-noto-cjk fonts-dejavu-core)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
need_java=0
command -v java >/dev/null 2>&1 || need_java=1
if [ ${#missing[@]} -eq 0 ] && [ $need_java -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
if [ $need_java -eq 1 ]; then
  # the release decides which JDKs it has (Debian 12: 17; Debian 13: 21, 25); Spark 4 runs on 17+
  java_pkg=""
  for v in 17 21 25; do
    if apt-cache show "openjdk-$v-jre-headless" >/dev/null 2>&1; then java_pkg="openjdk-$v-jre-headless"; break; fi
  done
  [ -n "$java_pkg" ] || { echo "no openjdk-17/21/25-jre-headless package found: install Java 17+ by hand" >&2; exit 1; }
  missing+=("$java_pkg")
fi
echo "installing system packages: ${missing[*]}"
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
