"""tools/install.sh: the mmcv wheel cache key, a cached wheel that does not work, and what a
failure says. Runs against a stand-in Python whose pip does nothing, so nothing is installed."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
# Stands in for the environment's python: pip succeeds without doing anything, the torch
# build is a made-up one, and every import check fails (mmcv "has no ops").
FAKE_PYTHON = '''#!/usr/bin/env bash
case "$*" in
    *"-m pip"*) exit 0 ;;
    *torch.__version__*) echo cp311-torch-9.9.9+fake ;;
    *) exit 1 ;;
esac
'''


@pytest.fixture
def install(repo_root):
    """``install(*args, **env)``: ``bash tools/install.sh ARGS`` with ``env`` added."""
    def run(*args, **env):
        return subprocess.run(['bash', osp.join(repo_root, 'tools', 'install.sh'), *args],
                              capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, **env))
    return run


def test_wheel_cache_is_keyed_by_python_tag_and_torch_build(tmp_path, install):
    proc = install('--print-wheelhouse', LITEHRNET_WHEELHOUSE=str(tmp_path),
                   LITEHRNET_VENV=osp.dirname(osp.dirname(sys.executable)))
    assert proc.returncode == 0, proc.stderr
    tag = f'cp{sys.version_info[0]}{sys.version_info[1]}'
    assert proc.stdout.strip() == osp.join(str(tmp_path), f'{tag}-torch-{torch.__version__}')


def test_a_cached_wheel_that_does_not_work_is_rebuilt_and_failures_name_the_step(
        tmp_path, install):
    venv = tmp_path / 'venv'
    (venv / 'bin').mkdir(parents=True)
    (venv / 'bin' / 'python').write_text(FAKE_PYTHON)
    (venv / 'bin' / 'python').chmod(0o755)
    cached = tmp_path / 'cache' / 'cp311-torch-9.9.9+fake' / 'mmcv-2.1.0-cp311-cp311-any.whl'
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b'not a wheel')
    (tmp_path / 'tmp').mkdir()
    proc = install(LITEHRNET_VENV=str(venv), LITEHRNET_WHEELHOUSE=str(tmp_path / 'cache'),
                   TMPDIR=str(tmp_path / 'tmp'))
    assert proc.returncode != 0
    assert 'does not install or lacks its ops: removing it, rebuilding' in proc.stdout
    assert not cached.exists()
    # the stand-in pip downloads no source, so the compile step fails: it is named once, and
    # its temporary build folder is gone
    assert proc.stderr.count('FAILED at step') == 1
    assert 'FAILED at step "compiling mmcv 2.1.0 with ops' in proc.stderr, proc.stderr
    assert os.listdir(tmp_path / 'tmp') == []


def test_a_failing_first_step_is_named(tmp_path, install):
    proc = install(LITEHRNET_VENV=str(tmp_path / 'venv'), PYTHON=str(tmp_path / 'no-python'))
    assert proc.returncode != 0
    assert f'FAILED at step "creating virtual environment {tmp_path}/venv"' in proc.stderr
