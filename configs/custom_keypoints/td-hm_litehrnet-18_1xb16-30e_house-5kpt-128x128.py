# Your own keypoints: the template. Lite-HRNet-18 trained on a custom keypoint set, here the
# 5 corners of the synthetic houses (python -m litehrnet_mm.datasets.synthetic --task custom,
# which writes data/synthetic/custom/), top-down heatmaps, 128x128.
#
# For your own set:
#   1. describe your keypoints in a metainfo file like house_5kpt_metainfo.py (names, flip
#      pairs, skeleton, loss weights, OKS sigmas);
#   2. write COCO-format annotation files (one `keypoints` list of x, y, visibility per object,
#      in the metainfo's order, and its `bbox`) and point data_root, ann_file and data_prefix
#      below at them;
#   3. set model.head.out_channels to your number of keypoints (KeypointCountHook refuses a
#      mismatch before training starts) and the input size to your objects' shape;
#   4. `mim train mmpose THIS_CONFIG`, `mim test mmpose THIS_CONFIG --checkpoint ...`.
# Recipe: our COCO body config (the Lite-HRNet authors' Adam 2e-3 with warm-up, flip, scale and
# rotation), with MMPose's generic CocoDataset reading the metainfo file, CocoMetric (AP by the
# metainfo's sigmas) and a short schedule for a small set.
_base_ = [
    '../body_2d_keypoint/topdown_heatmap/coco/td-hm_litehrnet-18_8xb64-210e_coco-256x192.py'
]

custom_imports = dict(
    imports=['litehrnet_mm', 'litehrnet_mm.engine.cpu_ddp'], allow_failed_imports=False)
randomness = dict(seed=0)

# the keypoint definition, next to this file
metainfo = dict(from_file='{{fileDirname}}/house_5kpt_metainfo.py')
num_keypoints = 5

train_cfg = dict(max_epochs=30, val_interval=10)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.001, by_epoch=False),
    dict(type='MultiStepLR', begin=0, end=30, milestones=[24, 28], gamma=0.1, by_epoch=True)
]
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=10, save_best='coco/AP', rule='greater', max_keep_ckpts=1))

codec = dict(type='MSRAHeatmap', input_size=(128, 128), heatmap_size=(32, 32), sigma=2)
model = dict(head=dict(out_channels=num_keypoints, decoder=codec))

dataset_type = 'CocoDataset'
data_root = 'data/synthetic/custom/'
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', rotate_factor=60, scale_factor=(0.75, 1.25)),
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
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    dataset=dict(
        type=dataset_type,
        metainfo=metainfo,
        data_root=data_root,
        ann_file='annotations/train.json',
        data_prefix=dict(img='images/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        type=dataset_type,
        metainfo=metainfo,
        data_root=data_root,
        ann_file='annotations/val.json',
        bbox_file=None,  # ground-truth boxes
        data_prefix=dict(img='images/'),
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
