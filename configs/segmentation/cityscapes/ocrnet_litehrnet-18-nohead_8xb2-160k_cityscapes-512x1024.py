# Lite-HRNet-18 without its IterativeHead + OCRNet (FCNHead auxiliary stage, then OCRHead),
# MMSeg's ocrnet_hr18 cascade with our backbone. No published Lite-HRNet OCR figures exist.
# Recipe: that of the FCN configs beside this one (SGD 0.01 poly, 160k iterations,
# 8 GPUs x 2 images, MMSeg's Cityscapes pipeline, SyncBN, from scratch).
_base_ = ['./fcn_litehrnet-18-nohead_8xb2-160k_cityscapes-512x1024.py']

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='CascadeEncoderDecoder',
    num_stages=2,
    decode_head=[
        dict(
            type='FCNHead',
            in_channels=[40, 80, 160, 320],
            channels=600,
            in_index=(0, 1, 2, 3),
            input_transform='resize_concat',
            kernel_size=1,
            num_convs=1,
            concat_input=False,
            dropout_ratio=-1,
            num_classes=19,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
        dict(
            type='OCRHead',
            in_channels=[40, 80, 160, 320],
            in_index=(0, 1, 2, 3),
            input_transform='resize_concat',
            channels=512,
            ocr_channels=256,
            dropout_ratio=-1,
            num_classes=19,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    ])
