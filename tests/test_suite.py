"""The suite's own machinery (tests/conftest.py): in CI a skip is a failure; under xdist the
tests that share an expensive fixture run on one worker."""
import os
import subprocess
import sys

import pytest

SKIPPING = '''
import pytest

def test_needs_something():
    pytest.skip('the kernel cannot be built here')
'''


@pytest.mark.parametrize('ci', ['1', None])
def test_a_skip_fails_in_ci(ci, tmp_path, repo_root):
    (tmp_path / 'test_skipping.py').write_text(SKIPPING)
    env = {k: v for k, v in os.environ.items()
           if k not in ('LITEHRNET_MM_CI', 'PYTEST_XDIST_WORKER')}
    if ci:
        env['LITEHRNET_MM_CI'] = ci
    done = subprocess.run([sys.executable, '-m', 'pytest', str(tmp_path / 'test_skipping.py'),
                           '-p', 'tests.conftest', '-p', 'no:cacheprovider', '-rA'],
                          cwd=repo_root, env=env, capture_output=True, text=True, timeout=300)
    if ci:
        assert done.returncode == 1, done.stdout[-2000:]
        assert ('skipped in CI (LITEHRNET_MM_CI=1), where every test must run: Skipped: the '
                'kernel cannot be built here') in done.stdout
    else:
        assert done.returncode == 0 and '1 skipped' in done.stdout, done.stdout[-2000:]


def test_tests_that_share_the_trained_model_share_a_group(request, trained_pose):
    """The group a test of the trained pose model runs in (``--dist loadgroup``): one for
    all of them; under xdist, the worker's test id carries it (pytest-xdist appends it,
    which pytest 9 ignores: requirements/constraints.txt)."""
    groups = [m.args[0] for m in request.node.iter_markers('xdist_group')]
    assert groups == ['trained-pose']
    if os.environ.get('PYTEST_XDIST_WORKER'):
        assert request.node.nodeid.endswith('@trained-pose'), request.node.nodeid
