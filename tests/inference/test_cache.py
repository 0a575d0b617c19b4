"""The artefact cache trusts no file: each artefact has its sha256 beside it, checked with its
record before it serves; a damaged file is moved aside and built again. The cache folder must
be the user's own; the key follows the code and the kernel; processes that need the same
artefact take turns."""
import os
import stat
import subprocess
import sys

import pytest
import torch

from litehrnet_mm.backends import compiled
from litehrnet_mm.inference import artefacts, init_fast_model, make_record
from litehrnet_mm.inference.artefacts import (cache_path, checked_cache_dir, file_sha256,
                                              sidecar_path)

X = torch.randn(1, 3, 128, 96)


@pytest.fixture(scope='module')
def checkpoint(tiny_pose_config, tmp_path_factory, build):
    """Randomized weights of the tiny pose model."""
    from mmengine.runner import save_checkpoint
    path = str(tmp_path_factory.mktemp('tiny') / 'tiny.pth')
    save_checkpoint({'state_dict': build(tiny_pose_config, seed=8).state_dict(), 'meta': {}},
                    path)
    return path


@pytest.fixture
def run(tiny_pose_config, checkpoint):
    """``run(cache, **options)``: a fast model of the tiny config on ONNX Runtime after one
    forward: (model, its log entry, its output)."""
    def make(cache, **options):
        return _run(tiny_pose_config, checkpoint, cache, **options)
    return make


def _run(config, checkpoint, cache, **options):
    model = init_fast_model(config, checkpoint, 'onnxruntime', cache_dir=cache, **options)
    with torch.no_grad():
        out = model(X, None, mode='tensor')
    return model, model.backend_runner.log[-1], out


@pytest.fixture
def cache(tmp_path):
    return str(tmp_path / 'cache')


def test_an_artefact_is_written_with_its_sha256_and_found_again(run, cache):
    _, entry, first = run(cache)
    path = entry['artefact']
    assert entry['built'] and path.startswith(cache)
    assert open(sidecar_path(path)).read() == f'{file_sha256(path)}  {os.path.basename(path)}\n'
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o700
    assert sorted(os.listdir(cache)) == sorted([os.path.basename(path),
                                                os.path.basename(sidecar_path(path)),
                                                os.path.basename(path) + '.lock'])
    _, entry, again = run(cache)
    assert entry == dict(entry, artefact=path, built=False)
    torch.testing.assert_close(again, first)


@pytest.mark.parametrize('damage,why', [
    ('truncated', 'does not match its sha256'),
    ('no sidecar', 'has no readable sha256'),
    ('garbage with its sha256', 'has a record that does not read'),
])
def test_a_damaged_artefact_is_moved_aside_and_built_again(damage, why, run, cache):
    _, entry, first = run(cache)
    path = entry['artefact']
    if damage == 'truncated':
        data = open(path, 'rb').read()
        open(path, 'wb').write(data[:len(data) // 2])
    elif damage == 'no sidecar':
        os.remove(sidecar_path(path))
    else:
        open(path, 'wb').write(b'not an ONNX file')
        artefacts.write_sidecar(path)
    with pytest.warns(RuntimeWarning, match=rf'the cached artefact {path} {why}.*moved it to '
                                            rf'{path}.bad-.* and building it again'):
        _, entry, again = run(cache)
    assert entry['built'] and entry['artefact'] == path
    assert artefacts.verify_sidecar(path) is None
    assert [f for f in os.listdir(cache) if '.bad-' in f and not f.endswith('.sha256')]
    torch.testing.assert_close(again, first)


def test_a_given_artefact_that_changed_after_it_was_built_is_refused(run, cache,
                                                                     tiny_pose_config,
                                                                     checkpoint):
    _, entry, _ = run(cache)
    path = entry['artefact']
    with open(path, 'ab') as f:
        f.write(b'\0')  # one more byte: not what its sidecar says
    with pytest.raises(ValueError, match='does not match its sha256.*changed after it was '
                                         'built'):
        init_fast_model(tiny_pose_config, checkpoint, 'onnxruntime', artefact=path)


def test_a_cache_folder_of_another_user_or_writable_by_others_is_refused(
        tmp_path, monkeypatch):
    shared = tmp_path / 'shared'
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(PermissionError, match=r'writable by others \(mode 777\).*chmod go-w'):
        checked_cache_dir(str(shared))
    shared.chmod(0o755)
    assert checked_cache_dir(str(shared)) == str(shared)
    monkeypatch.setattr(artefacts.os, 'getuid', lambda: os.stat(shared).st_uid + 1)
    with pytest.raises(PermissionError, match='belongs to user id .*not to you'):
        checked_cache_dir(str(shared))


def test_the_key_follows_the_code_and_the_kernel(tiny_pose_config, monkeypatch):
    model = init_fast_model(tiny_pose_config)
    record = make_record(model, 'features', 'compiled', 128, 96)
    assert record['code_sha256'] == artefacts.code_sha256()
    assert record['kernel'] in (True, False)
    monkeypatch.setattr(artefacts, 'code_sha256', lambda: '0' * 64)  # an upgrade
    upgraded = make_record(model, 'features', 'compiled', 128, 96)
    monkeypatch.setattr(compiled, 'depthwise_kernel', lambda: not record['kernel'])
    other_kernel = make_record(model, 'features', 'compiled', 128, 96)
    paths = {cache_path(r, '/c') for r in (record, upgraded, other_kernel)}
    assert len(paths) == 3


_BUILD = """
import sys, torch
from litehrnet_mm.inference import init_fast_model
model = init_fast_model(sys.argv[1], sys.argv[3], 'onnxruntime', cache_dir=sys.argv[2])
with torch.no_grad():
    model(torch.randn(1, 3, 128, 96), None, mode='tensor')
print(model.backend_runner.log[-1]['built'])
"""


def test_two_processes_that_need_one_artefact_build_it_once(tiny_pose_config, cache,
                                                            checkpoint, repo_root):
    procs = [subprocess.Popen([sys.executable, '-c', _BUILD, tiny_pose_config, cache,
                               checkpoint],
                              cwd=repo_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
    assert sorted(out.strip().splitlines()[-1] for out, _ in outputs) == ['False', 'True']
    assert len([f for f in os.listdir(cache) if f.endswith('.onnx')]) == 1
