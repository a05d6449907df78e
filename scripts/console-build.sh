#!/usr/bin/env bash
# Builds the web console only when one of its inputs changed since the last build: its sources,
# static files, configuration and lock file, and the API schema the installed clipdex prints (the
# typed client is generated from it). Two stamps in console/dist:
#   .sources-HASH  console inputs + the Python sources: unchanged -> nothing to do, not even starting clipdex
#   .inputs-HASH   console inputs + the printed API schema: a Python change that leaves the API as it
#                  was costs one `clipdex openapi`, not a build
#
#   CLIPDEX_BIN      the clipdex CLI (default .venv/bin/clipdex)
#   CONSOLE_DIR      the console folder (default console/ beside this script)
#   PYTHON_SRC       the Python sources the schema comes from (default src/ beside this script)
#   CONSOLE_BUILD    the build command, run in CONSOLE_DIR (default: npm run build --silent)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${CONSOLE_DIR:-$root/console}"
src="${PYTHON_SRC:-$root/src}"
bin="${CLIPDEX_BIN:-$root/.venv/bin/clipdex}"
build="${CONSOLE_BUILD:-npm run build --silent}"

hash_files() {  # "name sha1" of every file named on stdin, then one hash of it all
  LC_ALL=C sort | while read -r f; do printf '%s %s\n' "$f" "$(sha1sum < "$f" | cut -c1-40)"; done
}

# Generated files (the typed client, openapi.json, tsc's build info) are outputs, not inputs.
console_inputs="$(
  cd "$dir"
  {
    find src public scripts -type f ! -name schema.d.ts ! -name '*.tsbuildinfo' 2>/dev/null
    for f in index.html ./*.json ./*.ts; do [[ -f "$f" && "$f" != ./openapi.json ]] && echo "$f"; done
  } | hash_files
)"
python_sources="$( { [[ -d "$src" ]] && find "$src" -name '*.py' -type f; true; } | hash_files)"
quick="$(printf '%s\n%s\n' "$console_inputs" "$python_sources" | sha1sum | cut -c1-16)"
if [[ -f "$dir/dist/index.html" && -f "$dir/dist/.sources-$quick" ]]; then
  echo "console is up to date (sources $quick)"
  exit 0
fi

spec="$(mktemp)"
trap 'rm -f "$spec"' EXIT
"$bin" openapi > "$spec"
full="$(printf '%s\n%s\n' "$console_inputs" "$(sha1sum < "$spec")" | sha1sum | cut -c1-16)"
if [[ -f "$dir/dist/index.html" && -f "$dir/dist/.inputs-$full" ]]; then
  echo "console is up to date (API schema unchanged, inputs $full)"
else
  (cd "$dir" && CLIPDEX_BIN="$bin" bash -c "$build")
  rm -f "$dir"/dist/.inputs-*
  touch "$dir/dist/.inputs-$full"
fi
rm -f "$dir"/dist/.sources-*
touch "$dir/dist/.sources-$quick"
