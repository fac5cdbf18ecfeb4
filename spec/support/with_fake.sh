#!/bin/sh
# Runs a command with a fake cloud started outside it: ALICLOUD_FAKE_ENDPOINT tells the specs
# where it is. For tools under which the spec process cannot spawn a shell (ThreadSanitizer).
set -eu
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
python3 "$(dirname "$0")/fake_cloud.py" --port-file "$dir/port" --lifetime 3600 </dev/null >/dev/null &
pid=$!
i=0
while [ ! -s "$dir/port" ]; do
  i=$((i + 1))
  if [ "$i" -gt 500 ] || ! kill -0 "$pid" 2>/dev/null; then echo "fake cloud did not start" >&2; exit 1; fi
  sleep 0.02
done
ALICLOUD_FAKE_ENDPOINT="127.0.0.1:$(cat "$dir/port")" "$@"
