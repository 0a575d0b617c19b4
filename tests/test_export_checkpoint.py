"""tools/export_onnx.py and tools/build_package.py load their checkpoint strictly, refuse bad
arguments before building, and use untrained weights only when asked to (the export itself:
tests/test_export.py)."""
import os
import os.path as osp

import pytest
from mmengine.runner import save_checkpoint

from litehrnet_mm.models import LiteHRNet
from tests.tools_loader import ROOT, load_tool

POSE = osp.join(ROOT, 'configs', 'body_2d_keypoint', 'topdown_heatmap', 'coco',
                'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py')


@pytest.mark.parametrize('tool', ['export_onnx', 'build_package'])
def test_no_checkpoint_is_refused_unless_random_weights_are_asked_for(tmp_path, tool):
    out = tmp_path / 'x.file'
    with pytest.raises(SystemExit, match='no --checkpoint given.*--random-weights'):
        load_tool(tool).main([POSE, '--out', str(out)])
    assert not out.exists()


@pytest.mark.parametrize('tool', ['export_onnx', 'build_package'])
@pytest.mark.parametrize('config, extra, message', [
    (POSE, ['--shape', '16', '192'], r'--shape must be at least 32 on each side, got \[16, 192\]'),
    ('missing.py', [], 'config not found: .*missing.py'),
])
def test_bad_arguments_are_refused_before_building(tmp_path, tool, config, extra, message):
    out = tmp_path / 'x.file'
    with pytest.raises(SystemExit, match=message):
        load_tool(tool).main([str(tmp_path / config), '--random-weights', '--out', str(out)]
                             + extra)
    assert not out.exists()


def test_build_package_refuses_a_batch_below_one(tmp_path):
    with pytest.raises(SystemExit, match='--max-batch must be at least 1, got 0'):
        load_tool('build_package').main([POSE, '--random-weights', '--out',
                                         str(tmp_path / 'x.pt2'), '--max-batch', '0'])


def test_a_checkpoint_of_another_model_is_refused(tmp_path):
    folder = tmp_path / 'with space'
    folder.mkdir()
    path = str(folder / 'lite30.pth')
    state = {f'backbone.{k}': v for k, v in LiteHRNet(arch='30').state_dict().items()}
    save_checkpoint({'state_dict': state, 'meta': {}}, path)
    with pytest.raises(RuntimeError, match=rf'{path} does not match the model .*missing keys '
                       r"\['head.final_layer.weight'"):
        load_tool('export_onnx').main([POSE, '--checkpoint', path, '--out',
                                       str(folder / 'x.onnx')])
    assert os.listdir(folder) == ['lite30.pth']
