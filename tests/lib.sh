# lib.sh: what the end-to-end scripts (tests/e2e_*.sh) share. Sourced from the
# repository root after setting D, the script's own folder under tests/tmp (made anew).
rm -rf "$D"
mkdir -p "$D"
fail() { echo "FAIL: $*"; exit 1; }
expect_status() { # want cmd...: runs cmd, output in $D/out, checks the exit status
    want=$1; shift
    "$@" >"$D/out" 2>&1; got=$?
    [ "$got" -eq "$want" ] || { tail -n 20 "$D/out"; fail "exit status $got, expected $want: $*"; }
}
expect_text() { grep -qF -- "$1" "$D/out" || { tail -n 20 "$D/out"; fail "output lacks '$1'"; }; }
