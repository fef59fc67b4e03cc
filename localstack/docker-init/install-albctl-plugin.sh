#!/bin/bash
# LocalStack boot hook (runs in the container before the LocalStack runtime starts): install the
# albctl provider plugin, mounted read-only at /opt/albctl-localstack-plugin, into LocalStack's
# own Python environment so elbv2, wafv2 and shield are served from LocalStack's bundled moto.
set -euo pipefail
python="${LOCALSTACK_PYTHON:-/opt/code/localstack/.venv/bin/python}"
[ -x "$python" ] || python="$(command -v python3)"
work="$(mktemp -d)"
cp -r /opt/albctl-localstack-plugin "$work/plugin"   # pip builds in the source tree: not on a ro mount
"$python" -m pip install --quiet --no-deps --disable-pip-version-check "$work/plugin"
rm -rf "$work"
echo "albctl-localstack-plugin installed into $("$python" -c 'import sys; print(sys.prefix)')"
