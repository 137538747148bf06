# lib.sh -- sourced by the command-line checks of tests/cli: counted assertions.  The
# script ends with  echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]
pass=0
fail=0
check() { # check NAME EXPECTED_STATUS ACTUAL_STATUS
    if [ "$2" = "$3" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1 (exit $3, expected $2)"; fi
}
contains() { # contains NAME FILE TEXT
    if grep -qF -- "$3" "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1: '$3' not in:"; cat "$2"; fi
}
