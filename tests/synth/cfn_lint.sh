#!/usr/bin/env bash
# Runs cfn-lint on every CloudFormation template under the golden folder given (default:
# tests/synth/golden) and, given the exoflow binary too, on the nested stacks of a generated
# 600-resource app: zero errors and zero warnings, or the test fails. cfn-lint must be
# installed (CI has it); its absence is a failure, not a skip.
#   tests/synth/cfn_lint.sh [GOLDEN_DIR [EXOFLOW_BINARY]]
set -euo pipefail
dir=${1:-"$(dirname "$0")/golden"}
exoflow=${2:-}
if ! command -v cfn-lint >/dev/null; then
  echo "cfn-lint is not installed (pip install cfn-lint; CI has 1.51)" >&2
  exit 1
fi
mapfile -t templates < <(find "$dir" -name '*.json' ! -name plan.json ! -path "$dir/*/azure/*" | sort)
if [ -n "$exoflow" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  {
    printf 'exoflow: 1\napp: big\ncompute: {run: ./big}\nroutes:\n  - path: /*\nservices:\n'
    printf '  db: {kind: database, engine: postgres}\n'
    for i in $(seq 1 300); do printf '  q%d: {kind: queue, dead_letter: {after: 3}}\n' "$i"; done
    printf 'targets:\n  - {cloud: aws, region: us-east-1}\n'
  } >"$work/exoflow.yaml"
  "$exoflow" synth -f "$work/exoflow.yaml" --target aws --out "$work/out" >/dev/null
  mapfile -t -O "${#templates[@]}" templates < <(find "$work/out" -name '*.json' ! -name plan.json | sort)
fi
if [ "${#templates[@]}" -eq 0 ]; then
  echo "no templates under $dir" >&2
  exit 1
fi
echo "cfn-lint $(cfn-lint --version | cut -d' ' -f2): ${#templates[@]} templates"
# Exit status is a bit mask: 2 errors, 4 warnings, 8 informational. Informational findings
# are printed but accepted.
status=0
cfn-lint --format parseable -- "${templates[@]}" || status=$?
if [ $((status & 6)) -ne 0 ]; then
  echo "cfn-lint found errors or warnings (status $status)" >&2
  exit 1
fi
echo "cfn-lint: no errors, no warnings"
