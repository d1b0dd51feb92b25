#!/usr/bin/env bash
# The library as a user's project sees it: installs build/ into a scratch
# prefix, builds examples/classify against the installed CMake package, and
# classifies the example's reviews with a checkpoint and with its compiled
# model file. Needs a finished build (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
work="$PWD/build/library-check"
model=models/bert-tiny-imdb-mlm-cls
rm -rf "$work"
mkdir -p "$work"
cmake --install build --prefix "$work/prefix" >/dev/null
cmake -S examples/classify -B "$work/example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/example" >/dev/null
./build/whittle compile --from "$model" --out "$work/model.whittle" >/dev/null 2>&1

for source in "$model" "$work/model.whittle"; do
  output=$("$work/example/classify" "$source")
  echo "$output"
  # The example's first review is plainly positive, the second plainly negative.
  if ! sed -n 2p <<<"$output" | grep -q '^positive 1 ' || ! sed -n 3p <<<"$output" | grep -q '^negative 0 '; then
    echo "check_library: $source did not classify the example's reviews as expected" >&2
    exit 1
  fi
done
if "$work/example/classify" "$work/missing" 2>"$work/error.txt"; then
  echo "check_library: a missing model did not fail" >&2
  exit 1
fi
grep -q "^classify: model $work/missing does not exist$" "$work/error.txt" || {
  echo "check_library: unexpected error message: $(cat "$work/error.txt")" >&2
  exit 1
}
echo "check_library: the installed package builds, links and classifies"
