# Shared by scripts/run and scripts/test: configure and build a tree with Ninja (and
# ccache when present). Sourced, not executed.
#   sandbank_build DIR [extra cmake args...]   e.g. sandbank_build build
#   SANDBANK_TARGETS="a b" limits what is built (default: everything).

sandbank_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

sandbank_build() {
  local dir=$1
  shift
  local root
  root=$(sandbank_root)
  local jobs=${SANDBANK_JOBS:-2}
  if [ ! -f "$root/$dir/build.ninja" ]; then
    cmake -S "$root" -B "$root/$dir" -G Ninja "$@" || return 1
  else
    # Re-apply the options in case they changed; cheap when nothing did.
    cmake "$root/$dir" "$@" >/dev/null || return 1
  fi
  # shellcheck disable=SC2086
  ninja -C "$root/$dir" -j "$jobs" ${SANDBANK_TARGETS:-}
}
