# Lite-HRNet-18 without its IterativeHead + FCNHead on the bundled synthetic Cityscapes-format scenes
# (litehrnet_mm.datasets.synthetic.cityscapes): the segmentation demo, a few minutes on 2 CPU cores.
# The model is the Cityscapes config's with BN instead of SyncBN (SyncBN needs GPUs); images are
# 256x512, crops 128x256, batch 4, 400 iterations of SGD (the recipe's optimizer and poly
# schedule, with lr 0.05 for the short run).
# Data: python -m litehrnet_mm.datasets.synthetic.cityscapes --out data/synthetic_cityscapes
_base_ = ['../cityscapes/fcn_litehrnet-18-nohead_8xb2-160k_cityscapes-512x1024.py']

# trains with 1 process, or with several through `--launcher pytorch`, also without CUDA
custom_imports = dict(
    imports=['litehrnet_mm', 'litehrnet_mm.engine.cpu_ddp'], allow_failed_imports=False)

# a fixed seed, so that the demo's figures reproduce (data order, augmentation, initial weights)
randomness = dict(seed=0)

crop_size = (128, 256)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(norm_cfg=norm_cfg))

optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=400, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=400, val_interval=200)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(by_epoch=False, interval=200, max_keep_ckpts=1, save_best='mIoU'))

data_root = 'data/synthetic_cityscapes/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='litehrnet_mm.CheckSegLabels', num_classes=19),
    dict(type='RandomResize', scale=(512, 256), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(512, 256), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='litehrnet_mm.CheckSegLabels', num_classes=19),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
