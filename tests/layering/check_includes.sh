#!/usr/bin/env bash
# The layer rule (docs/architecture.md): every project include names a layer the
# including file's layer may use. Dependencies point one way:
#   experiments -> {policies, calibrate} -> models -> traces -> sim -> util
# CMake's per-layer include views make most violations compile errors; this check
# also covers headers that only a higher layer compiles.
# Usage: check_includes.sh <source root>   (exit 1 and one line per violation)
#        check_includes.sh --self-test      (the check must reject a planted violation)
set -euo pipefail

allowed() {
  case "$1" in
    util) echo "util" ;;
    sim) echo "util sim" ;;
    traces) echo "util sim traces" ;;
    models) echo "util sim traces models" ;;
    calibrate) echo "util sim traces models calibrate" ;;
    policies) echo "util sim traces models policies" ;;
    experiments) echo "util sim traces models policies calibrate experiments" ;;
  esac
}
layers="util sim traces models calibrate policies experiments"

check() {
  local root=$1 bad=0 layer file target
  for layer in $layers; do
    [[ -d "$root/$layer" ]] || continue
    local ok=" $(allowed "$layer") "
    while IFS=: read -r file target; do
      if [[ "$ok" != *" $target "* ]]; then
        echo "${file#"$root"/}: $layer may not include $target/ (allowed: $(allowed "$layer"))"
        bad=1
      fi
    done < <(grep -rEo --include='*.h' --include='*.cpp' --include='*.cu' --include='*.in' \
               '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z_]+/' "$root/$layer" |
             sed -E 's/^([^:]*):.*"([a-z_]+)\/$/\1:\2/' |
             while IFS=: read -r f t; do [[ " $layers " == *" $t "* ]] && echo "$f:$t"; done)
  done
  return $bad
}

if [[ "${1:-}" == "--self-test" ]]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/models/serving" "$tmp/policies" "$tmp/sim"
  echo '#include "sim/simulator.h"' >"$tmp/models/serving/ok.h"
  echo '#include "models/moe_model.h"' >"$tmp/policies/ok.cpp"
  check "$tmp" >/dev/null || { echo "self-test: a clean tree was rejected"; exit 1; }
  echo '  #include "policies/registry.h"' >"$tmp/models/serving/bad.cpp"
  if check "$tmp" >/dev/null; then echo "self-test: models including policies/ was accepted"; exit 1; fi
  echo '#include "models/moe_model.h"' >"$tmp/models/serving/bad.cpp"
  echo '#include "models/topology.h"' >"$tmp/sim/bad.h"
  if check "$tmp" >/dev/null; then echo "self-test: sim including models/ was accepted"; exit 1; fi
  echo "self-test passed"
  exit 0
fi

root=${1:?usage: check_includes.sh <source root>}
if check "$root"; then echo "layer rule holds"; else exit 1; fi
