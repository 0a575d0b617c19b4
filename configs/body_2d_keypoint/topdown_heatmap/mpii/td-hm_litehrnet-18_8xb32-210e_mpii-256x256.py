# Lite-HRNet-18, MPII top-down heatmaps, 256x256.
#
# Recipe of the Lite-HRNet authors (Yu et al., CVPR 2021): Adam lr 2e-3, linear warm-up over
# 500 iterations (start factor 0.001), lr x0.1 at epochs 170 and 200, 210 epochs,
# 8 GPUs x 32 images; flip, scale +-25 %, rotation, no half-body; MSRA heatmaps sigma 2;
# flip test with heatmap shift.
# Published (MPII val): PCKh@0.5 0.854; 273.4M FLOPs as published.
# Params: 1,130,072 (backbone with IterativeHead) + 656 (1x1 keypoint head, 16 joints).
_base_ = ['mmpose::_base_/default_runtime.py']

custom_imports = dict(imports=['litehrnet_mm'], allow_failed_imports=False)

# runtime
train_cfg = dict(max_epochs=210, val_interval=10)

# optimizer
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))

# learning policy
param_scheduler = [
    dict(type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False),  # warm-up
    dict(type='MultiStepLR', begin=0, end=210, milestones=[170, 200], gamma=0.1, by_epoch=True)
]

# scale the lr with the actual total batch size (8 GPUs x 32 images)
auto_scale_lr = dict(base_batch_size=256)

# hooks: save the best checkpoint; refuse checkpoints that do not fit the model
default_hooks = dict(checkpoint=dict(save_best='PCK', rule='greater'))
custom_hooks = [
    dict(type='litehrnet_mm.StrictCheckpointHook'),  # refuse checkpoints that do not fit
    dict(type='litehrnet_mm.KeypointCountHook'),  # refuse a head that does not fit the data
]

# codec settings
codec = dict(type='MSRAHeatmap', input_size=(256, 256), heatmap_size=(64, 64), sigma=2)

# model settings
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(type='litehrnet_mm.LiteHRNet', arch='18', with_head=True),
    head=dict(
        type='HeatmapHead',
        in_channels=40,
        out_channels=16,
        deconv_out_channels=None,
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))

# base dataset settings
dataset_type = 'MpiiDataset'
data_mode = 'topdown'
data_root = 'data/mpii/'

# pipelines
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', shift_prob=0, rotate_factor=60, scale_factor=(0.75, 1.25)),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs')
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs')
]

# data loaders
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/mpii_train.json',
        data_prefix=dict(img='images/'),
        pipeline=train_pipeline,
    ))
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_mode=data_mode,
        ann_file='annotations/mpii_val.json',
        headbox_file='data/mpii/annotations/mpii_gt_val.mat',
        data_prefix=dict(img='images/'),
        test_mode=True,
        pipeline=val_pipeline,
    ))
test_dataloader = val_dataloader

# evaluators
val_evaluator = dict(type='MpiiPCKAccuracy')
test_evaluator = val_evaluator
