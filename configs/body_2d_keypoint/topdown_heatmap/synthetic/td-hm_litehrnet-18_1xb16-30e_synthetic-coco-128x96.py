# Lite-HRNet-18 on the bundled synthetic COCO-format figures (litehrnet_mm.datasets.synthetic.pose).
# The README's main job: a few minutes on 2 CPU cores. The model is the COCO config's; the input
# is smaller (128x96), the schedule short. Also the config the tests train for a few iterations.
# Data: python -m litehrnet_mm.datasets.synthetic.pose --out data/synthetic_pose
_base_ = ['../coco/td-hm_litehrnet-18_8xb64-210e_coco-256x192.py']

# trains with 1 process, or with several through `--launcher pytorch`, also without CUDA
custom_imports = dict(
    imports=['litehrnet_mm', 'litehrnet_mm.engine.cpu_ddp'], allow_failed_imports=False)

# a fixed seed, so that the demo's figures reproduce (data order, augmentation, initial weights)
randomness = dict(seed=0)

# runtime
train_cfg = dict(max_epochs=30, val_interval=10)

# learning policy: the authors' Adam 2e-3 with a shorter warm-up and the steps at 80 and 93 %
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.001, by_epoch=False),
    dict(type='MultiStepLR', begin=0, end=30, milestones=[24, 28], gamma=0.1, by_epoch=True)
]
auto_scale_lr = dict(base_batch_size=16)

# hooks
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=10, save_best='coco/AP', rule='greater', max_keep_ckpts=1))

# codec settings
codec = dict(type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=2)

model = dict(head=dict(decoder=codec))

# data
data_root = 'data/synthetic_pose/coco/'
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody', min_total_keypoints=9, prob=0.3),
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
    persistent_workers=True,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/person_keypoints_train.json',
        data_prefix=dict(img='train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/person_keypoints_val.json',
        bbox_file=None,  # ground-truth boxes
        data_prefix=dict(img='val/'),
        pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/person_keypoints_val.json')
test_evaluator = val_evaluator
