"""tools/export_onnx.py loads its checkpoint strictly, and exports untrained weights only when
asked to (the export itself: tests/test_export.py)."""
import os
import os.path as osp

import pytest
from mmengine.runner import save_checkpoint

from litehrnet_mm.models import LiteHRNet
from tests.tools_loader import ROOT, load_tool

POSE = osp.join(ROOT, 'configs', 'body_2d_keypoint', 'topdown_heatmap', 'coco',
                'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py')


def test_no_checkpoint_is_refused_unless_random_weights_are_asked_for(tmp_path):
    out = tmp_path / 'x.onnx'
    with pytest.raises(SystemExit, match='no --checkpoint given.*--random-weights'):
        load_tool('export_onnx').main([POSE, '--out', str(out)])
    assert not out.exists()


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
