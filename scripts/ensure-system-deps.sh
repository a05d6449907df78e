#!/usr/bin/env bash
# Installs the system tools clipdex needs when missing and we are root; otherwise says exactly what
# to install. `--test` adds what only the tests need (media generators, a browser).
set -euo pipefail
need=()
command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
if [ "${1:-}" = "--test" ]; then
  # speech tests make their media with espeak-ng (known text) and sox (music, silence)
  command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
  command -v sox >/dev/null 2>&1 || need+=(sox)
  # the media-sandbox test traces every file FFmpeg opens
  command -v strace >/dev/null 2>&1 || need+=(strace)
  # the visual tests draw on-screen text with FFmpeg drawtext, which needs a font
  [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || need+=(fonts-dejavu-core)
  # the console's end-to-end tests drive the system Chromium headless (Playwright downloads no browser)
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${need[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "clipdex needs: ${need[*]}. Install it with your package manager (e.g. 'sudo apt-get install ${need[*]}') and re-run." >&2
  exit 1
fi
