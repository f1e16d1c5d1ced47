#!/bin/sh
# Installs every Debian package DeepCloud needs to build, test and run.
# Safe to run again: apt-get install skips what is already there.
set -eu

PKGS="build-essential gcc clang cmake make pkg-config git ca-certificates
      libuv1-dev libsodium-dev libsqlite3-dev libmicrohttpd-dev libjansson-dev
      libseccomp-dev libcmocka-dev libcurl4-openssl-dev libraft-dev libxgboost-dev
      libclang-rt-14-dev sqlite3 curl procps iproute2 util-linux python3
      python3-cryptography"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -z "$missing" ]; then
  echo "deps: all packages present"
  exit 0
fi

echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
