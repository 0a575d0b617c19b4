"""litehrnet_mm.builder: one way to build a model from a config, loading checkpoints strictly;
the build of a model dict in its package's scope."""
import pytest
import torch
from mmengine.runner import save_checkpoint

from litehrnet_mm.builder import build_initialised_model, build_model, build_model_part
from litehrnet_mm.models import LiteHRNet
from litehrnet_mm.testing import randomize


def test_build_model_loads_strictly_naming_the_checkpoint(tmp_path, configs):
    source = randomize(build_model(configs.coco))
    good = str(tmp_path / 'good.pth')
    save_checkpoint({'state_dict': source.state_dict(), 'meta': {}}, good)
    model = build_model(configs.coco, good)
    assert not model.training
    assert torch.equal(model.head.final_layer.weight, source.head.final_layer.weight)
    other = {f'backbone.{k}': v for k, v in LiteHRNet(arch='30').state_dict().items()}
    bad = str(tmp_path / 'lite30.pth')
    save_checkpoint({'state_dict': other, 'meta': {}}, bad)
    with pytest.raises(RuntimeError, match=rf"{bad} does not match the model .*2 missing keys "
                       r"\['head.final_layer.weight', 'head.final_layer.bias'\], \d+ "
                       r"unexpected keys \['backbone.stage0.2."):
        build_model(configs.coco, bad)


def test_build_model_refuses_a_missing_config_and_an_unknown_scope(tmp_path):
    with pytest.raises(FileNotFoundError, match='config not found: .*nothing.py'):
        build_model(str(tmp_path / 'nothing.py'))
    other = tmp_path / 'other.py'
    other.write_text("default_scope = 'mmdet'\nmodel = dict(type='x')\n")
    with pytest.raises(ValueError, match="default_scope 'mmdet' is neither mmpose nor mmseg"):
        build_model(str(other))
    with pytest.raises(ValueError, match="task must be one of .*got 'mmdet'"):
        build_model_part(dict(type='x'), 'mmdet')


def test_the_initialised_model_has_the_configured_init(configs):
    """init_model drops the backbone's init_cfg; the model training starts from keeps it
    (MMPose's normal init: convolutions with std 0.001)."""
    initialised = build_initialised_model(configs.coco)
    plain = build_model(configs.coco)
    weight = 'backbone.transition0.1.0.0.weight'
    assert initialised.state_dict()[weight].std() < 0.01 < plain.state_dict()[weight].std()
