"""tools/export_onnx.py and tools/build_package.py load their checkpoint strictly, refuse bad
arguments before building, and use untrained weights only when asked to (the export itself:
tests/backends/test_onnx.py)."""
import os

import pytest
from mmengine.runner import save_checkpoint

from litehrnet_mm.models import LiteHRNet


@pytest.mark.parametrize('script', ['export_onnx', 'build_package'])
def test_no_checkpoint_is_refused_unless_random_weights_are_asked_for(tmp_path, script, tool,
                                                                      configs):
    out = tmp_path / 'x.file'
    with pytest.raises(SystemExit, match='no --checkpoint given.*--random-weights'):
        tool(script).main([configs.coco, '--out', str(out)])
    assert not out.exists()


@pytest.mark.parametrize('script', ['export_onnx', 'build_package'])
@pytest.mark.parametrize('config, extra, message', [
    ('coco', ['--shape', '16', '192'],
     r'--shape must be at least 32 on each side, got \[16, 192\]'),
    ('missing.py', [], 'config not found: .*missing.py'),
])
def test_bad_arguments_are_refused_before_building(tmp_path, script, config, extra, message,
                                                   tool, configs):
    out = tmp_path / 'x.file'
    config = getattr(configs, config, str(tmp_path / config))
    with pytest.raises(SystemExit, match=message):
        tool(script).main([config, '--random-weights', '--out', str(out)] + extra)
    assert not out.exists()


def test_build_package_refuses_a_batch_below_one(tmp_path, tool, configs):
    with pytest.raises(SystemExit, match='--max-batch must be at least 1, got 0'):
        tool('build_package').main([configs.coco, '--random-weights', '--out',
                                    str(tmp_path / 'x.pt2'), '--max-batch', '0'])


def test_a_checkpoint_of_another_model_is_refused(tmp_path, tool, configs):
    folder = tmp_path / 'with space'
    folder.mkdir()
    path = str(folder / 'lite30.pth')
    state = {f'backbone.{k}': v for k, v in LiteHRNet(arch='30').state_dict().items()}
    save_checkpoint({'state_dict': state, 'meta': {}}, path)
    with pytest.raises(RuntimeError, match=rf'{path} does not match the model .*missing keys '
                       r"\['head.final_layer.weight'"):
        tool('export_onnx').main([configs.coco, '--checkpoint', path, '--out',
                                  str(folder / 'x.onnx')])
    assert os.listdir(folder) == ['lite30.pth']
