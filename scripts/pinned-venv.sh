# Sourced by scripts/checkov/install.sh and scripts/localstack/install.sh: a Python virtualenv
# holding exactly a pinned requirements file from PyPI.
#
#   pinned_venv LABEL VENV REQUIREMENTS X.Y OVERRIDE_VARIABLE MARKER READY_FUNCTION
#
# Does nothing when VENV/MARKER (an executable) exists and the venv was made from exactly this
# REQUIREMENTS (its sha256 is stamped in the venv). Otherwise finds Python X.Y (the variable
# named OVERRIDE_VARIABLE, else pyenv's, else pythonX.Y on PATH), makes the venv afresh,
# installs the file with --no-deps (the file is the whole dependency set; `pip check` proves it
# complete and consistent), runs READY_FUNCTION (a shell function of the caller's, given VENV)
# to prove the tools start, and only then stamps it. Paths are relative to the current directory.
pinned_venv() {
  local label=$1 venv=$2 req=$3 version=$4 override=$5 marker=$6 ready=$7
  local stamp="$venv/.requirements.sha256" want
  want=$(sha256sum "$req" | cut -d' ' -f1)
  if [[ -x "$venv/$marker" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "$label: $venv is up to date"
    return 0
  fi

  local python='' candidate candidates
  if [[ -n "${!override:-}" ]]; then
    candidates=("${!override}")
  else
    # pyenv's shim for pythonX.Y exists even when it refuses to run it, so each candidate is tried.
    candidates=("${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version"*/bin/python3 /root/.pyenv/versions/"$version"*/bin/python3 "python$version")
  fi
  for candidate in "${candidates[@]}"; do
    if "$candidate" -c "import sys; assert '%d.%d' % sys.version_info[:2] == '$version'" >/dev/null 2>&1; then
      python=$candidate
      break
    fi
  done
  if [[ -z "$python" ]]; then
    echo "$label needs Python $version (the pinned set was made on it): ${!override:-none found}${!override:+ is not one}; set $override=/path/to/python$version" >&2
    return 1
  fi

  echo "$label: installing the pinned set into $venv with $("$python" --version)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$req"
  "$venv/bin/pip" check
  "$ready" "$venv"
  echo "$want" > "$stamp"
}
