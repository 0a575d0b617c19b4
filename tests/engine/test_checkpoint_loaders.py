"""Checkpoints loaded through MMEngine with litehrnet_mm imported: nothing in them runs, URLs
are checked against their hash, refusals name the checkpoint."""
import functools
import hashlib
import http.server
import io
import os.path as osp
import pickle
import threading

import pytest
import torch
from mmengine.infer import BaseInferencer
from mmengine.runner import checkpoint as mmengine_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from litehrnet_mm.engine import checkpoint_loaders as loaders
from tests.payloads import RunsCode, save, with_config_texts


@pytest.fixture
def marker(tmp_path):
    """The file a payload would create; the test fails if it exists afterwards."""
    path = tmp_path / 'marker'
    yield str(path)
    assert not path.exists(), 'code from a checkpoint ran'


@pytest.fixture(scope='module')
def toy_checkpoint(tmp_path_factory, toy_runner):
    """An MMEngine runner checkpoint (iteration 2) of the toy model."""
    work_dir = tmp_path_factory.mktemp('toy')
    toy_runner(work_dir, 2).train()
    return str(work_dir / 'iter_2.pth')


@pytest.mark.parametrize('path,loader', [
    ('/some/file.pth', loaders.load_from_local),
    ('http://h/a-0123abcd.pth', loaders.load_from_url),
    ('https://h/a-0123abcd.pth', loaders.load_from_url),
    ('torchvision://resnet50', loaders.load_from_torchvision),
    ('modelzoo://resnet50', loaders.load_from_torchvision),
    ('open-mmlab://resnet50_v1c', loaders.load_from_openmmlab),
    ('openmmlab://resnet50_v1c', loaders.load_from_openmmlab),
    ('mmcls://resnet50', loaders.load_from_mmcls)])
def test_every_scheme_loads_through_ours(path, loader):
    assert CheckpointLoader._get_checkpoint_loader(path) is loader
    assert BaseInferencer._init_model is loaders._inferencer_init_model


@pytest.mark.parametrize('path,loader', [
    ('pavi://x', loaders.load_from_pavi),
    ('s3://bucket/x.pth', loaders.load_from_ceph),
    ('petrel://bucket/x.pth', loaders.load_from_ceph),
    ('cluster1:s3://bucket/x.pth', loaders.load_from_ceph)])
def test_remote_schemes_load_through_ours(path, loader):
    assert CheckpointLoader._get_checkpoint_loader(path) is loader


class _Bytes:
    """An MMEngine file backend that serves the bytes of one file."""

    def __init__(self, path):
        self.path = path

    def get(self, filename):
        return open(self.path, 'rb').read()


def test_s3_and_petrel_bytes_load_with_weights_only(tmp_path, toy_checkpoint, monkeypatch,
                                                    marker):
    """The bytes of an object store go through ``weights_only`` as a local file does (MMEngine
    passes them to ``torch.load`` without it): a checkpoint loads, a payload is refused."""
    evil = save({'state_dict': {}, 'x': RunsCode(marker)}, str(tmp_path / 'evil.pth'))
    served = {'s3://bucket/good.pth': toy_checkpoint, 'petrel://bucket/evil.pth': evil}
    monkeypatch.setattr(mmengine_checkpoint, 'get_file_backend',
                        lambda filename, backend_args: _Bytes(served[filename]))
    assert _load_checkpoint('s3://bucket/good.pth')['meta']['iter'] == 2
    with pytest.raises(pickle.UnpicklingError, match='refused to load checkpoint '
                                                     'petrel://bucket/evil.pth'):
        _load_checkpoint('petrel://bucket/evil.pth')


def test_pavi_downloads_load_with_weights_only(tmp_path, toy_checkpoint, monkeypatch, marker):
    import shutil
    import sys
    import types
    evil = save({'state_dict': {}, 'x': RunsCode(marker)}, str(tmp_path / 'evil.pth'))
    files = {'runs/good': toy_checkpoint, 'runs/evil': evil}

    class Model:
        def __init__(self, path):
            self.name, self.source = 'model.pth', files[path]

        def download(self, target):
            shutil.copy(self.source, target)

    pavi = types.ModuleType('pavi')
    pavi.modelcloud = types.SimpleNamespace(get=Model)
    monkeypatch.setitem(sys.modules, 'pavi', pavi)
    assert _load_checkpoint('pavi://runs/good')['meta']['iter'] == 2
    with pytest.raises(pickle.UnpicklingError, match='refused to load checkpoint '
                                                     'pavi://runs/evil'):
        _load_checkpoint('pavi://runs/evil')


def test_a_pickle_that_runs_code_is_refused_naming_the_file(tmp_path, marker, monkeypatch):
    path = save({'state_dict': {}, 'x': RunsCode(marker)}, str(tmp_path / 'evil.pth'))
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')  # does not switch it off
    with pytest.raises(pickle.UnpicklingError,
                       match=rf'refused to load checkpoint {path}: Unsupported global'):
        _load_checkpoint(path)


def test_mmengines_own_loader_would_run_it(tmp_path, monkeypatch):
    """The threat the previous test guards against (with that variable set, as users do)."""
    marker = tmp_path / 'marker'
    path = save({'x': RunsCode(str(marker))}, str(tmp_path / 'evil.pth'))
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    mmengine_checkpoint.load_from_local(path, map_location='cpu')
    assert marker.exists()


def test_config_texts_are_dropped(tmp_path, toy_checkpoint, marker):
    crafted = with_config_texts(torch.load(toy_checkpoint, weights_only=True), marker)
    path = save(crafted, str(tmp_path / 'crafted.pth'))
    loaded = _load_checkpoint(path)
    assert {'config', 'cfg'}.isdisjoint(loaded['meta'])
    assert 'cfg' not in loaded['message_hub']['runtime_info']
    assert loaded['meta']['iter'] == 2 and loaded['state_dict'].keys() == \
        crafted['state_dict'].keys()


def _crafted_resume(tmp_path, toy_checkpoint, marker):
    crafted = with_config_texts(torch.load(toy_checkpoint, weights_only=True), marker)
    return save(crafted, str(tmp_path / 'crafted_iter_2.pth'))


def test_resume_runs_no_config_from_the_checkpoint(tmp_path, toy_checkpoint, marker, toy_runner):
    path = _crafted_resume(tmp_path, toy_checkpoint, marker)
    runner = toy_runner(tmp_path / 'work', 3, resume=True, load_from=path)
    runner.train()
    assert runner.iter == 3  # resumed at 2, trained one more


def test_resume_with_mmengines_loader_would_run_it(tmp_path, toy_checkpoint, monkeypatch,
                                                   toy_runner):
    """What the previous test guards against: MMEngine's resume runs meta['config']."""
    marker = tmp_path / 'marker'
    path = _crafted_resume(tmp_path, toy_checkpoint, str(marker))
    monkeypatch.setitem(CheckpointLoader._schemes, '', mmengine_checkpoint.load_from_local)
    toy_runner(tmp_path / 'work', 3, resume=True, load_from=path).train()
    assert marker.exists()


def test_load_from_refuses_a_pickle_payload(tmp_path, marker, toy_runner):
    path = save({'state_dict': {}, 'x': RunsCode(marker)}, str(tmp_path / 'evil.pth'))
    with pytest.raises(pickle.UnpicklingError, match=f'refused to load checkpoint {path}'):
        toy_runner(tmp_path / 'work', 2, load_from=path).train()


def test_init_model_refuses_a_pickle_payload(tmp_path, marker, configs):
    from mmpose.apis import init_model
    path = save({'state_dict': {}, 'x': RunsCode(marker)}, str(tmp_path / 'evil.pth'))
    with pytest.raises(pickle.UnpicklingError, match=f'refused to load checkpoint {path}'):
        init_model(configs.coco, path, device='cpu')


def test_inferencers_without_a_config_are_refused(tmp_path, toy_checkpoint, marker):
    from mmpose.apis import MMPoseInferencer
    from mmpose.apis.inferencers import Pose2DInferencer
    path = save(with_config_texts(torch.load(toy_checkpoint, weights_only=True), marker),
                str(tmp_path / 'crafted.pth'))
    with pytest.raises(ValueError, match=f'refused to build an inferencer from the checkpoint '
                       f'{path} alone'):
        Pose2DInferencer(model=None, weights=path, device='cpu')
    with pytest.raises(ValueError, match='Either 2d or 3d pose estimation'):
        MMPoseInferencer(pose2d=None, pose2d_weights=path, device='cpu')


class QuietHandler(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """(folder, base URL) of an HTTP server on 127.0.0.1 serving the folder; torch's hub
    cache in a fresh folder."""
    folder = tmp_path / 'served'
    folder.mkdir()
    httpd = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'hub'))
    for name in ('no_proxy', 'NO_PROXY'):
        monkeypatch.setenv(name, '127.0.0.1')
    yield folder, f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown()
    httpd.server_close()


def _serve(folder, obj, name):
    """Save ``obj`` in ``folder`` as NAME-<first 8 hex of its sha256>.pth; return the name."""
    buffer = io.BytesIO()
    torch.save(obj, buffer, pickle_protocol=2)
    served = f'{name}-{hashlib.sha256(buffer.getvalue()).hexdigest()[:8]}.pth'
    (folder / served).write_bytes(buffer.getvalue())
    return served


def _cached(name):
    return osp.join(torch.hub.get_dir(), 'checkpoints', name)


def test_url_with_its_hash_loads(server):
    folder, url = server
    name = _serve(folder, {'state_dict': {'w': torch.arange(3.)}}, 'toy')
    assert torch.equal(_load_checkpoint(f'{url}/{name}')['state_dict']['w'], torch.arange(3.))
    assert osp.isfile(_cached(name))


def test_url_payload_is_refused(server, marker):
    folder, url = server
    name = _serve(folder, {'x': RunsCode(marker)}, 'evil')
    with pytest.raises(pickle.UnpicklingError, match=f'refused to load checkpoint .*{name}'):
        _load_checkpoint(f'{url}/{name}')


def test_mmengines_url_loader_would_run_it(server, tmp_path):
    """The threat: MMEngine loads URLs with weights_only=False."""
    folder, url = server
    marker = tmp_path / 'marker'
    name = _serve(folder, {'x': RunsCode(str(marker))}, 'evil')
    mmengine_checkpoint.load_from_http(f'{url}/{name}', map_location='cpu')
    assert marker.exists()


def test_url_of_another_content_is_refused_and_not_cached(server):
    folder, url = server
    name = _serve(folder, {'w': torch.zeros(1)}, 'toy')
    wrong = name.replace(name[-12:-4], '00000000')
    (folder / name).rename(folder / wrong)
    with pytest.raises(ValueError, match=f'refused {url}/{wrong}: invalid hash value'):
        _load_checkpoint(f'{url}/{wrong}')
    assert not osp.exists(_cached(wrong))


def test_url_without_a_hash_is_refused(server):
    folder, url = server
    save({'w': torch.zeros(1)}, str(folder / 'toy.pth'))
    with pytest.raises(ValueError, match=r'refused to download .*/toy.pth: its file name has '
                       r'no -<hash>'):
        _load_checkpoint(f'{url}/toy.pth')


def test_a_changed_cached_download_is_refused(server):
    folder, url = server
    name = _serve(folder, {'w': torch.zeros(1)}, 'toy')
    _load_checkpoint(f'{url}/{name}')
    save({'w': torch.ones(1)}, _cached(name))
    with pytest.raises(ValueError, match='does not match the hash .* delete it'):
        _load_checkpoint(f'{url}/{name}')


def test_named_schemes_go_through_the_checked_download(server, monkeypatch):
    folder, url = server
    name = _serve(folder, {'state_dict': {'w': torch.ones(2)}}, 'resnet')
    monkeypatch.setattr(mmengine_checkpoint, 'get_torchvision_models',
                        lambda: {'toynet': f'{url}/{name}'})
    assert _load_checkpoint('torchvision://toynet')['state_dict']['w'].sum() == 2
    with pytest.raises(KeyError, match='torchvision://other: unknown name'):
        _load_checkpoint('torchvision://other')
