# Lite-HRNet-18 without its IterativeHead (the four branches go to the head) + FCNHead,
# Cityscapes 512x1024. Names: `litehrnet-18` is the published network with the IterativeHead
# (as in the pose configs); `-nohead` marks a backbone built with with_head=False.
#
# The Lite-HRNet paper (Yu et al., CVPR 2021) reports Cityscapes val 72.8 mIoU at
# 1.95 GFLOPs (512x1024) but its authors never released segmentation code. An MMSeg
# maintainer's reproduction (IterativeHead + FCN head, 8 GPUs x 2 images, SyncBN, no
# pretraining) reached 73.0 mIoU after 320k-640k iterations.
# Recipe (MMSeg HRNet convention): SGD lr 0.01, momentum 0.9, weight decay 5e-4, poly lr
# (power 0.9, min 1e-4), 160k iterations, 8 GPUs x 2 images; random resize 0.5-2.0 of
# 2048x1024, 512x1024 crops (cat_max_ratio 0.75), flip, photometric distortion; FCNHead over
# all four resolutions resized and concatenated (kernel 1, one conv); SyncBN; from scratch.
_base_ = [
    'mmseg::_base_/datasets/cityscapes.py', 'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py'
]

custom_imports = dict(imports=['litehrnet_mm'], allow_failed_imports=False)

crop_size = (512, 1024)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,  # Lite-HRNet has no ImageNet weights: trained from scratch
    backbone=dict(
        type='litehrnet_mm.LiteHRNet',
        arch='18',
        with_head=False,
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        norm_eval=False),
    decode_head=dict(
        type='FCNHead',
        in_channels=[40, 80, 160, 320],
        in_index=(0, 1, 2, 3),
        channels=600,
        input_transform='resize_concat',
        kernel_size=1,
        num_convs=1,
        concat_input=False,
        dropout_ratio=-1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# MMSeg's Cityscapes pipeline, with the label check after loading the annotations
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='litehrnet_mm.CheckSegLabels', num_classes=19),
    dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))

custom_hooks = [dict(type='litehrnet_mm.StrictCheckpointHook')]
