#!/usr/bin/env bash
# Lint template.yaml offline: cfn-lint (errors and warnings fail) and `sam validate --lint`.
# Both come from .venv-package/ (created on first use by infra/package.sh --setup-only).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/infra/package.sh" --setup-only
VENV="${PACKAGE_VENV:-$ROOT/.venv-package}"
export SAM_CLI_TELEMETRY=0

echo "==> cfn-lint $("$VENV/bin/cfn-lint" --version | awk '{print $2}') template.yaml"
"$VENV/bin/cfn-lint" template.yaml
echo "    clean"

echo "==> sam validate --lint"
# --lint runs cfn-lint after the SAM transform locally; no AWS credentials are used.
"$VENV/bin/sam" validate --lint --template-file template.yaml --region "${AWS_REGION:-us-east-1}"
