#!/usr/bin/env bash
# Run the test suite: builds the environment first if it is not there (tools/install.sh),
# adds the test dependencies, then runs pytest. Extra arguments go to pytest.
#
#   bash tools/test.sh [-k parity] [-x] ...
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${LITEHRNET_VENV:-$ROOT/.venv}
bash "$ROOT/tools/install.sh"
"$VENV/bin/python" -m pip install --quiet -c "$ROOT/requirements/constraints.txt" \
    -r "$ROOT/requirements/tests.txt"
cd "$ROOT"
exec "$VENV/bin/python" -m pytest tests "$@"
