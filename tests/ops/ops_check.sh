#!/usr/bin/env bash
# make ops-check: validates everything operations depend on, without a
# cluster, a container engine or Grafana.
#
#   rules       promtool check rules + promtool test rules on
#               dashboards/rules; the PrometheusRule manifest matches
#   dashboards  JSON Schema (ajv-cli) + every panel query parsed by
#               promtool + metric and recording-rule names exist
#   manifests   kustomize rendering (kubectl where installed, and
#               tests/ops/kustomize.mjs), kubernetes-models schemas,
#               presync's deployment rules
#   yaml        yamllint on deploy/ and dashboards/
#   config      presync check-config on every overlay's config file
#   dockerfile  package names (apt-cache), runtime libraries vs the binary
#   live        a live `presync run` scraped by promtool check metrics and
#               by a real Prometheus running the recording rules
#
# Usage: tests/ops/ops_check.sh BIN_DIR [STEP...]   (no STEP: all of them)
set -uo pipefail
cd "$(dirname "$0")/../.."
bin=${1:?usage: ops_check.sh BIN_DIR [STEP...]}
shift
steps=("$@")
if [ ${#steps[@]} -eq 0 ]; then
  steps=(rules dashboards manifests yaml config dockerfile live)
fi
python=/usr/bin/python3

step_rules() {
  promtool check rules dashboards/rules/presync.rules.yaml &&
    (cd dashboards/rules && promtool test rules presync.rules.test.yaml) &&
    $python tests/ops/prometheusrule.py --check
}

step_dashboards() {
  node_modules/.bin/ajv validate --spec=draft7 --errors=text \
    -s dashboards/dashboard.schema.json -d 'dashboards/presync-*.json' &&
    $python tests/ops/check_dashboards.py
}

step_manifests() {
  node tests/ops/check_manifests.mjs
}

step_yaml() {
  yamllint -c tests/ops/yamllint.yaml deploy dashboards
}

step_config() {
  # Values only so that check-config finds the variables set; nothing
  # connects anywhere.
  local ok=0 file
  for file in deploy/kubernetes/overlays/*/presync.yaml; do
    env PRESYNC_API_TOKENS=check PRESYNC_GRAPH_SECRET=check \
      AWS_ROLE_ARN=arn:aws:iam::111122223333:role/check \
      AWS_WEB_IDENTITY_TOKEN_FILE=/var/run/secrets/token \
      AWS_ACCESS_KEY_ID=check AWS_SECRET_ACCESS_KEY=check \
      "$bin/presync" check-config "$file" || ok=1
  done
  return $ok
}

step_dockerfile() {
  $python tests/ops/check_dockerfile.py . "$bin/presync"
}

step_live() {
  $python tests/ops/live_metrics_test.py "$bin" emulators/kinesis/kinesalite.js
}

passed=0
failed=()
for step in "${steps[@]}"; do
  echo "== ops-check: $step"
  if "step_$step"; then
    passed=$((passed + 1))
  else
    failed+=("$step")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "ops-check failed: ${failed[*]}"
fi
echo "ops-check: $passed passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
