#!/bin/sh
# Writes alicloud-<VERSION>-1.src.rock at the top of the tree (make dist): a tarball of the
# checkout's files (tracked and new, not ignored), packed by luarocks with the release rockspec.
# Needs git (to list the files) and luarocks; no network, no remote.
set -eu
cd "$(dirname "$0")/.."

version=$(cat VERSION)
name="alicloud-$version"
rockspec="$name-1.rockspec"
out="build/dist"

[ -f "rockspec/$rockspec" ] || { echo "dist: rockspec/$rockspec is missing; run make rockspec" >&2; exit 1; }
git rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
  { echo "dist: needs a git checkout (the files to ship are git's list)" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/pack"

# Fixed owner, order and time, so the same tree gives the same tarball.
mtime=$(git log -1 --format=%ct 2>/dev/null || echo 0)
git ls-files --cached --others --exclude-standard --deduplicate |
  while IFS= read -r f; do if [ -f "$f" ]; then printf '%s\n' "$f"; fi; done |
  LC_ALL=C sort | tar -T - --format=gnu --owner=0 --group=0 --numeric-owner --mtime="@$mtime" \
    --transform "s,^,$name/," -cf - | gzip -n > "$out/$name.tar.gz"

# luarocks pack reads the source from a temporary directory of its own, so the rockspec it
# packs names the tarball by absolute path; the rock then carries the release rockspec itself,
# whose url is the bare file name that luarocks install finds inside the rock.
sed "s|^  url = \"$name.tar.gz\",|  url = \"file://$PWD/$out/$name.tar.gz\",|" "rockspec/$rockspec" \
  > "$out/pack/$rockspec"
grep -q "file://" "$out/pack/$rockspec" ||
  { echo "dist: rockspec/$rockspec has no url \"$name.tar.gz\"" >&2; exit 1; }
(cd "$out/pack" && luarocks --lua-version=5.4 pack "$rockspec" >/dev/null)
cp "rockspec/$rockspec" "$out/$rockspec"
(cd "$out" && zip -q "pack/$name-1.src.rock" "$rockspec")
mv "$out/pack/$name-1.src.rock" "$name-1.src.rock"
rm -rf "$out/pack"

echo "dist: $name-1.src.rock ($(unzip -Z1 "$name-1.src.rock" | tr '\n' ' '))"
