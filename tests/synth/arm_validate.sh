#!/usr/bin/env bash
# Validates every ARM template under the golden folder given (default: tests/synth/golden) and,
# given the exoflow binary too, the templates of a generated 151-service app (over 800 resources: nested deployments), with
# validate_arm.js against tests/synth/arm-schemas: zero errors, or the test fails. Then checks
# that the validator rejects each deliberately wrong sample in tests/synth/arm-invalid with the
# errors it lists. Node.js and tests/synth/node_modules (scripts/setup) must be there: their
# absence is a failure, not a skip.
#   tests/synth/arm_validate.sh [GOLDEN_DIR [EXOFLOW_BINARY]]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-"$here/golden"}
exoflow=${2:-}
if ! command -v node >/dev/null; then
  echo "node is not installed (Node.js 20; see docs/testing.md)" >&2
  exit 1
fi
if [ ! -d "$here/node_modules/ajv-draft-04" ] || [ ! -d "$here/node_modules/ajv-formats" ]; then
  echo "tests/synth/node_modules lacks ajv-draft-04 or ajv-formats: run scripts/setup" >&2
  exit 1
fi
mapfile -t templates < <(find "$dir" -path "$dir/*/azure/*" -name '*.json' ! -name plan.json | sort)
if [ -n "$exoflow" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  {
    printf 'exoflow: 1\napp: big\ncompute: {run: ./big}\nroutes:\n  - path: /*\nservices:\n'
    printf '  db: {kind: database, engine: postgres}\n'
    for i in $(seq 1 150); do printf '  q%d: {kind: queue, dead_letter: {after: 3}}\n' "$i"; done
    printf 'targets:\n  - {cloud: azure, region: eastus}\n'
  } >"$work/exoflow.yaml"
  "$exoflow" synth -f "$work/exoflow.yaml" --target azure --out "$work/out" >/dev/null
  mapfile -t -O "${#templates[@]}" templates < <(find "$work/out" -name '*.json' ! -name plan.json | sort)
fi
if [ "${#templates[@]}" -eq 0 ]; then
  echo "no ARM templates under $dir" >&2
  exit 1
fi
echo "validate_arm.js: ${#templates[@]} templates"
node "$here/validate_arm.js" "${templates[@]}"
echo "validate_arm.js: every template passes, no errors"
mapfile -t invalid < <(find "$here/arm-invalid" -name '*.json' | sort)
if [ "${#invalid[@]}" -eq 0 ]; then
  echo "no deliberately wrong samples under $here/arm-invalid" >&2
  exit 1
fi
node "$here/validate_arm.js" --expect-invalid "${invalid[@]}"
echo "validate_arm.js: rejects all ${#invalid[@]} wrong samples with the errors they expect"
