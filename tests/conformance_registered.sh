#!/bin/sh
# Every case folder of the conformance suite is a ctest test of its own: the number of
# conformance/ tests ctest lists equals the number of folders.
# usage: conformance_registered.sh CTEST BINARY_DIR CASES_DIR
set -u
registered=$("$1" --test-dir "$2" -N | grep -c ' conformance/')
folders=$(find "$3" -mindepth 1 -maxdepth 1 -type d | wc -l | tr -d ' ')
echo "$registered conformance tests registered, $folders case folders"
[ "$registered" -eq "$folders" ] && [ "$folders" -gt 0 ]
