# Lite-HRNet-18 on the bundled synthetic MPII-format figures (litehrnet_mm.datasets.synthetic.pose),
# evaluated with MMPose's MpiiPCKAccuracy (PCKh with the generated head boxes).
# Data: python -m litehrnet_mm.datasets.synthetic.pose --out data/synthetic_pose
_base_ = ['../mpii/td-hm_litehrnet-18_8xb32-210e_mpii-256x256.py']

# trains with 1 process, or with several through `--launcher pytorch`, also without CUDA
custom_imports = dict(
    imports=['litehrnet_mm', 'litehrnet_mm.engine.cpu_ddp'], allow_failed_imports=False)

# a fixed seed, so that the demo's figures reproduce (data order, augmentation, initial weights)
randomness = dict(seed=0)

train_cfg = dict(max_epochs=30, val_interval=10)
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.001, by_epoch=False),
    dict(type='MultiStepLR', begin=0, end=30, milestones=[24, 28], gamma=0.1, by_epoch=True)
]
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=10, save_best='PCK', rule='greater', max_keep_ckpts=1))

codec = dict(type='MSRAHeatmap', input_size=(128, 128), heatmap_size=(32, 32), sigma=2)
model = dict(head=dict(decoder=codec))

data_root = 'data/synthetic_pose/mpii/'
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
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        headbox_file=data_root + 'annotations/mpii_gt_val.mat',
        pipeline=val_pipeline))
test_dataloader = val_dataloader
