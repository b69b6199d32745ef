# Sourced by interop/*/setup.sh: the one way a stack's client is cached.
#
# A client is built into OUT (under the target directory, which outlives
# the clone that made it and is shared by every clone on the machine). So
# OUT must never refer back into the clone: a setup copies what its client
# runs (sources, protos) into OUT, and the stamp is a hash of the contents
# it was built from, never of their paths. A second clone, a moved clone
# and a deleted one then all find a client that still runs.
#
#   up_to_date OUT FILE...   true if OUT was built, where it is, from exactly
#                            these files (and this helper and the calling
#                            script);
#                            otherwise empties OUT and returns false
#   mark_built OUT           records the stamp once OUT is complete
up_to_date() {
  local out=$1
  shift
  # OUT's own path too: OUT/run names it, so a moved OUT is rebuilt.
  _yes_stamp=$({ echo "$out"; cat "$@" "${BASH_SOURCE[0]}" "$0"; } | sha256sum | cut -c1-16)
  if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$_yes_stamp" ]; then
    return 0
  fi
  rm -rf "$out"
  mkdir -p "$out"
  return 1
}

mark_built() {
  echo "$_yes_stamp" > "$1/stamp"
}
