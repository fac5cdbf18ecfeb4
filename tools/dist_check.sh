#!/bin/sh
# make dist-check: installs alicloud-<VERSION>-1.src.rock with luarocks into a fresh tree, cut
# off from the network when this machine allows it (unshare -n), then loads the installed
# module and calls the fake cloud with it (tools/dist_check.lua).
set -eu
cd "$(dirname "$0")/.."

version=$(cat VERSION)
rock="alicloud-$version-1.src.rock"
[ -f "$rock" ] || { echo "dist-check: $rock is missing; run make dist" >&2; exit 1; }

tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT

offline="offline (in a network namespace with no interface up)"
if unshare -n true 2>/dev/null; then
  run="unshare -n"
else
  run="" offline="with the network reachable (unshare -n is not allowed here)"
fi
if ! $run luarocks --lua-version=5.4 --tree="$tree" install --deps-mode=none "./$rock" \
    >"$tree/install.log" 2>&1; then
  tail -30 "$tree/install.log" >&2
  echo "dist-check: luarocks install ./$rock failed" >&2
  exit 1
fi
echo "dist-check: luarocks installed ./$rock $offline"

LUA_PATH_5_4="$tree/share/lua/5.4/?.lua;$tree/share/lua/5.4/?/init.lua;./?.lua;;" \
LUA_CPATH_5_4="$tree/lib/lua/5.4/?.so;;" ALIBABA_CLOUD_ECS_METADATA_DISABLED=true \
  ${LUA:-lua5.4} tools/dist_check.lua "$tree" "$version"
