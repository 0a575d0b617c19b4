#!/usr/bin/env bash
# Run the test suite: builds the environment first if it is not there (tools/install.sh),
# adds the test dependencies, then runs pytest. Extra arguments go to pytest.
#
#   bash tools/test.sh [-k parity] [-x] ...
#
# Two pytest-xdist workers share the two cores, a thread each; the tests of one file, and the
# tests that share an expensive fixture (the trained pose model and its artefacts), run on one
# worker (tests/conftest.py). LITEHRNET_TEST_WORKERS=0 runs them in this process instead.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${LITEHRNET_VENV:-$ROOT/.venv}
bash "$ROOT/tools/install.sh"
"$VENV/bin/python" -m pip install --quiet -c "$ROOT/requirements/constraints.txt" \
    -r "$ROOT/requirements/tests.txt"
cd "$ROOT"
exec "$VENV/bin/python" -m pytest tests -n "${LITEHRNET_TEST_WORKERS:-2}" --dist loadgroup --no-loadscope-reorder "$@"
