"""The shared helpers of litehrnet_mm.apis: strict model building, configs with paths that keep
their spaces, the checkpoint of a run, the input check of ONNX files."""
import os
import os.path as osp
import time
import warnings

import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.runner import save_checkpoint

from litehrnet_mm.apis import (build_model, check_cfg_options, check_onnx_input,
                               checkpoint_of_run, derived_config)
from litehrnet_mm.models import LiteHRNet
from tests.helpers import randomize
from tests.tools_loader import ROOT

POSE_CONFIG = osp.join(ROOT, 'configs', 'body_2d_keypoint', 'topdown_heatmap', 'coco',
                       'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py')


def test_build_model_loads_strictly_naming_the_checkpoint(tmp_path):
    source = randomize(build_model(POSE_CONFIG))
    good = str(tmp_path / 'good.pth')
    save_checkpoint({'state_dict': source.state_dict(), 'meta': {}}, good)
    model = build_model(POSE_CONFIG, good)
    assert torch.equal(model.head.final_layer.weight, source.head.final_layer.weight)
    other = {f'backbone.{k}': v for k, v in LiteHRNet(arch='30').state_dict().items()}
    bad = str(tmp_path / 'lite30.pth')
    save_checkpoint({'state_dict': other, 'meta': {}}, bad)
    with pytest.raises(RuntimeError, match=rf"{bad} does not match the model .*2 missing keys "
                       r"\['head.final_layer.weight', 'head.final_layer.bias'\], \d+ "
                       r"unexpected keys \['backbone.stage0.2."):
        build_model(POSE_CONFIG, bad)


def test_cfg_options_with_spaces_are_refused():
    # what MMEngine's --cfg-options parser does to a value with a space
    assert DictAction._parse_iterable('/data root/') == '/dataroot/'
    check_cfg_options(['train_cfg.max_epochs=2', 'a.b=[1,2]'])
    with pytest.raises(ValueError, match=r"would silently read a.data_root='/dataroot/'"):
        check_cfg_options(['x=1', 'a.data_root=/data root/'])


def test_derived_config_keeps_spaces_and_the_base(tmp_path):
    root = str(tmp_path / 'data root') + '/'
    path = derived_config(POSE_CONFIG, str(tmp_path / 'with space' / 'cfg.py'),
                          dict(train_dataloader=dict(dataset=dict(data_root=root)),
                               val_evaluator=dict(ann_file=root + 'val.json')))
    cfg, base = Config.fromfile(path), Config.fromfile(POSE_CONFIG)
    assert cfg.train_dataloader.dataset.data_root == root
    assert cfg.val_evaluator.ann_file == root + 'val.json'
    assert cfg.val_evaluator.type == base.val_evaluator.type == 'CocoMetric'
    assert cfg.train_dataloader.dataset.ann_file == base.train_dataloader.dataset.ann_file
    assert cfg.model == base.model


def _touch(path, mtime=None):
    with open(path, 'w') as f:
        f.write('x')
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return str(path)


def test_checkpoint_of_run_takes_only_files_of_the_run(tmp_path):
    old = time.time() - 3600
    _touch(tmp_path / 'best_coco_AP_epoch_30.pth', old)  # an earlier run, better than ours
    last = _touch(tmp_path / 'epoch_2.pth', old)
    _touch(tmp_path / 'last_checkpoint', old)
    (tmp_path / 'last_checkpoint').write_text(last)
    os.utime(tmp_path / 'last_checkpoint', (old, old))
    started = time.time()
    with pytest.raises(RuntimeError, match='saved no checkpoint of its own'):
        checkpoint_of_run(str(tmp_path), started, best='best_coco_AP_epoch_*.pth')
    ours = _touch(tmp_path / 'epoch_1.pth')
    (tmp_path / 'last_checkpoint').write_text(ours)
    assert checkpoint_of_run(str(tmp_path), started, best='best_*.pth') == ours
    best = _touch(tmp_path / 'best_coco_AP_epoch_1.pth')
    assert checkpoint_of_run(str(tmp_path), started, best='best_coco_AP_epoch_*.pth') == best
    outside = _touch(tmp_path.parent / 'elsewhere.pth')
    (tmp_path / 'last_checkpoint').write_text(outside)
    with pytest.raises(RuntimeError, match='points elsewhere'):
        checkpoint_of_run(str(tmp_path), started)


@pytest.fixture(scope='module')
def onnx_files(tmp_path_factory):
    """A small convolution exported as our exporter does: free batch, and height and width
    free as multiples of 32 (dynamic) or fixed at 64x96."""
    tmp = tmp_path_factory.mktemp('onnx')
    conv = torch.nn.Conv2d(3, 4, 3, padding=1).eval()
    x = torch.randn(2, 3, 64, 96)
    dim = torch.export.Dim
    files = {}
    for name, spatial in (('dynamic', {2: 32 * dim('height_32', min=1, max=64),
                                       3: 32 * dim('width_32', min=1, max=64)}), ('fixed', {})):
        path = str(tmp / f'{name}.onnx')
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.onnx.export(conv, (x, ), path, input_names=['image'], dynamo=True,
                              dynamic_shapes={'input': {0: dim('batch'), **spatial}},
                              external_data=False, verbose=False)
        files[name] = path
    return files


def test_onnx_input_check(onnx_files):
    check_onnx_input(onnx_files['dynamic'], (3, 3, 128, 64))
    with pytest.raises(ValueError, match=r'takes sizes divisible by 32 on axis 2 '
                       r'\(32\*height_32\), got 100 .* multiple of 32, e.g. 96'):
        check_onnx_input(onnx_files['dynamic'], (1, 3, 100, 64))
    check_onnx_input(onnx_files['fixed'], (5, 3, 64, 96))
    with pytest.raises(ValueError, match=r'was exported for size 96 on axis 3, got 128'):
        check_onnx_input(onnx_files['fixed'], (1, 3, 64, 128))
    with pytest.raises(ValueError, match=r'takes a 4-d input, got shape \(3, 64, 96\)'):
        check_onnx_input(onnx_files['fixed'], (3, 64, 96))
