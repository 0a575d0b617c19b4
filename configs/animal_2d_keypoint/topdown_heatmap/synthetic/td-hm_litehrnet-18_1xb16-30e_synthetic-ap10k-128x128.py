# Lite-HRNet-18 on the bundled synthetic four-legged animals (17 AP-10K keypoints)
# (litehrnet_mm.datasets.synthetic, set 'ap10k', in the real data set's layout): the animal
# family's short run for the tests and tools/train_keypoints_demo.py. Recipe: the real config's
# model, data set type, metric and flip pairs (td-hm_litehrnet-18_8xb64-210e_ap10k-256x256.py);
# the input is smaller (128x128), the schedule short, and lr the authors' 2e-3 at this batch size.
# Data: python -m litehrnet_mm.datasets.synthetic --task ap10k
_base_ = ['../ap10k/td-hm_litehrnet-18_8xb64-210e_ap10k-256x256.py']

# trains with 1 process, or with several through `--launcher pytorch`, also without CUDA
custom_imports = dict(
    imports=['litehrnet_mm', 'litehrnet_mm.engine.cpu_ddp'], allow_failed_imports=False)

randomness = dict(seed=0)  # data order, augmentation and initial weights reproduce

train_cfg = dict(max_epochs=30, val_interval=10)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=2e-3))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=50, start_factor=0.001, by_epoch=False),
    dict(type='MultiStepLR', begin=0, end=30, milestones=[24, 28], gamma=0.1, by_epoch=True)
]
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=10, save_best='coco/AP', rule='greater', max_keep_ckpts=1))

codec = dict(type='MSRAHeatmap', input_size=(128, 128), heatmap_size=(32, 32), sigma=2)
model = dict(head=dict(decoder=codec))

data_root = 'data/synthetic/ap10k/'
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
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
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root, ann_file='annotations/ap10k-val-split1.json',
        pipeline=val_pipeline))
test_dataloader = val_dataloader  # the val split: the base config tests on a third
val_evaluator = dict(ann_file=data_root + 'annotations/ap10k-val-split1.json')
test_evaluator = val_evaluator
