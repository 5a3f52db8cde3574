#!/bin/sh
# Installs the Debian packages this project needs, by name, when any is missing:
# as root with apt-get, otherwise with sudo; where neither works, prints the command.
#   scripts/install-deps.sh          what make, make test and make demo need
#   scripts/install-deps.sh bench    and python3-torch, for make bench's PyTorch anchor
set -eu
PACKAGES="darknet libopenblas-dev libcmocka-dev zlib1g-dev libcairo2-dev libxml2-dev libjansson-dev gnuplot-nox dataset-fashion-mnist libopenmpi-dev openmpi-bin python3-opencv"
case "${1:-}" in
"") ;;
bench) PACKAGES="$PACKAGES python3-torch" ;;
*)
    echo "install-deps: unknown argument '$1' (expected nothing or bench)" >&2
    exit 2
    ;;
esac
missing=""
for p in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing"
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo"
else
    echo "install-deps: cannot install as $(id -un); run: sudo apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
