"""Our modules build from MMPose and MMSeg configs, and MMPose's own LiteHRNet is untouched."""
import torch
from mmengine.config import Config

from litehrnet_mm.models import LiteHRNet, arch_to_extra
from litehrnet_mm.testing import assert_close, randomize


def test_mmposes_litehrnet_is_untouched():
    from mmpose.models.backbones import LiteHRNet as MMPoseLiteHRNet
    from mmpose.registry import MODELS
    assert MODELS.get('LiteHRNet') is MMPoseLiteHRNet
    assert MODELS.get('litehrnet_mm.LiteHRNet') is LiteHRNet
    assert MMPoseLiteHRNet is not LiteHRNet


def test_topdown_pose_estimator_from_config_dict(build_part):
    codec = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
    cfg = dict(
        type='TopdownPoseEstimator',
        data_preprocessor=dict(type='PoseDataPreprocessor', mean=[0, 0, 0], std=[1, 1, 1]),
        backbone=dict(type='litehrnet_mm.LiteHRNet', arch='18'),
        head=dict(type='HeatmapHead', in_channels=40, out_channels=17, deconv_out_channels=None,
                  loss=dict(type='KeypointMSELoss', use_target_weight=True), decoder=codec))
    model = randomize(build_part(cfg, 'mmpose')).eval()
    # the same estimator with MMPose's own LiteHRNet, and the same weights
    reference = build_part(dict(cfg, backbone=dict(type='LiteHRNet', extra=arch_to_extra('18'))),
                           'mmpose')
    reference.load_state_dict(model.state_dict())
    reference.eval()
    assert type(model.backbone) is LiteHRNet
    x = torch.randn(1, 3, 256, 192)
    with torch.no_grad():
        heatmaps = model(x, None, mode='tensor')
        assert heatmaps.shape == (1, 17, 64, 48)
        assert_close(heatmaps, reference(x, None, mode='tensor'))


def test_encoder_decoder_from_config_dict(build_part):
    cfg = dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0], std=[1, 1, 1]),
        backbone=dict(type='litehrnet_mm.LiteHRNet', arch='18', with_head=False,
                      out_indices=(0, 1, 2, 3)),
        decode_head=dict(
            type='FCNHead', in_channels=[40, 80, 160, 320], in_index=[0, 1, 2, 3],
            channels=600, input_transform='resize_concat', kernel_size=1, num_convs=1,
            concat_input=False, dropout_ratio=-1, num_classes=19,
            norm_cfg=dict(type='BN'), align_corners=False,
            loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole'))
    model = build_part(cfg, 'mmseg').eval()
    assert type(model.backbone) is LiteHRNet
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 64, 128), mode='tensor')
    assert logits.shape == (1, 19, 16, 32)


def test_config_file_with_custom_imports_builds_with_mmpose_api(configs):
    from mmpose.apis import init_model
    cfg = Config.fromfile(configs.coco)
    assert cfg.custom_imports['imports'] == ['litehrnet_mm']
    model = init_model(cfg, device='cpu')
    assert type(model.backbone) is LiteHRNet
    assert sum(p.numel() for p in model.parameters()) == 1_130_072 + 697
