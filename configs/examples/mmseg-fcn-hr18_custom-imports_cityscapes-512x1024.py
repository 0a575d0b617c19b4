# MMSeg's own HRNet-W18 FCN Cityscapes config with our Lite-HRNet-18 as the backbone. Everything
# else (data, schedule, head type, SyncBN) is MMSeg's; the head's input widths follow the
# backbone, and there are no ImageNet weights to load.
_base_ = 'mmseg::hrnet/fcn_hr18_4xb2-160k_cityscapes-512x1024.py'

custom_imports = dict(imports=['litehrnet_mm'], allow_failed_imports=False)

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='litehrnet_mm.LiteHRNet',
        arch='18',
        with_head=False,
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg),
    decode_head=dict(in_channels=[40, 80, 160, 320], channels=600))
