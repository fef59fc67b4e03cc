#!/usr/bin/env bash
# LocalStack for albctl's e2e tier: start | stop | status | check | install. See README.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "${PYTHON:-python3}" "$here/localstack.py" "$@"
