# shellcheck shell=bash
# Python tools for the test scripts (sourced, not run): each set in a venv of its own under
# ${XDG_CACHE_HOME:-$HOME/.cache}/ssehub-ci, made once and made anew when its pinned
# requirements change. Installs python3 and python3-venv (Debian) when missing.

ssehub_ci_cache=${XDG_CACHE_HOME:-$HOME/.cache}/ssehub-ci
venv_lib_scripts=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# python_venv NAME REQUIREMENT... : prints the venv's directory, making it first if needed.
# All output but the directory goes to stderr.
python_venv() {
  local name=$1
  shift
  local dir="$ssehub_ci_cache/$name" want="$*"
  if [[ -x $dir/bin/python && -f $dir/.ssehub-ci-stamp && "$(cat "$dir/.ssehub-ci-stamp")" == "$want" ]]; then
    printf '%s\n' "$dir"
    return 0
  fi
  "$venv_lib_scripts/install-debian-packages.sh" python3 python3-venv >&2 || return 1
  echo "creating $dir ($want)" >&2
  rm -rf "$dir"
  mkdir -p "$ssehub_ci_cache"
  python3 -m venv "$dir" >&2 || return 1
  "$dir/bin/pip" install --quiet --disable-pip-version-check "$@" >&2 || return 1
  printf '%s' "$want" >"$dir/.ssehub-ci-stamp"
  printf '%s\n' "$dir"
}
