#!/usr/bin/env bash
# Installs the named Debian packages that are missing, with one `apt-get update` first, as root
# (or through sudo). Idempotent: a package counts as present when what the tests use from it is
# there (its command; go for golang-go; a venv with pip for python3-venv).
#
#   scripts/install-debian-packages.sh PACKAGE...
#
# Package scripts may not start daemons while this runs (nginx would bind port 80).
set -euo pipefail

present() {
  case $1 in
    golang-go) command -v go >/dev/null 2>&1 ;;
    nginx) command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] ;;
    python3-venv) python3 -c 'import venv, ensurepip' >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "install-debian-packages: need root (or sudo) to run: $*" >&2
    return 1
  fi
}

missing=()
for package in "$@"; do
  present "$package" || missing+=("$package")
done
[[ ${#missing[@]} -gt 0 ]] || exit 0

echo "installing Debian packages: ${missing[*]}"
policy=/usr/sbin/policy-rc.d
created=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
  as_root chmod 0755 "$policy"
  created=1
fi
rc=0
as_root apt-get update -qq || rc=$?
if [[ $rc == 0 ]]; then
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" || rc=$?
fi
if [[ $created == 1 ]]; then
  as_root rm -f "$policy"
fi
exit "$rc"
