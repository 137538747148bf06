#!/bin/sh
# Builds the targets of tests/house: the control must compile, each breach of the rule must
# fail because the private header is not found (not for any other reason).
# Usage: include_rule.sh BUILD_DIR
set -u
build=$1
fail=0
out=$(cmake --build "$build" --target house_public_only 2>&1) || {
  echo "FAIL: the control (public headers only) does not compile:"; echo "$out"; exit 1; }
for rule in provider_includes_vm:vm/vm.h tools_includes_bundle:vm/bundle.h; do
  target=house_${rule%%:*} header=${rule#*:}
  if out=$(cmake --build "$build" --target "$target" 2>&1); then
    echo "FAIL: $target compiled: \"$header\" is reachable where it must not be"; fail=1
  elif ! printf '%s\n' "$out" | grep -Eq "$header: No such file or directory|'$header' file not found"; then
    echo "FAIL: $target failed, but not because \"$header\" is out of reach:"; echo "$out"; fail=1
  else
    echo "ok: $target does not compile: $header is private"
  fi
done
exit $fail
