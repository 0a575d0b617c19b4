# Lite-HRNet-18, COCO top-down heatmaps, 384x288.
#
# Recipe of the Lite-HRNet authors (Yu et al., CVPR 2021): Adam lr 2e-3, linear warm-up over
# 500 iterations (start factor 0.001), lr x0.1 at epochs 170 and 200, 210 epochs,
# 8 GPUs x 32 images; flip, half-body (p 0.3), scale +-25 %, rotation; MSRA heatmaps
# sigma 3; flip test with heatmap shift.
# Published (COCO val2017, person detector AP 56.4): AP 0.676, AP50 0.878, AP75 0.750,
# AR 0.737; 461.6M FLOPs as published. MMPose's own configs (lr 5e-4) report AP 0.676.
# Params: 1,130,072 (backbone with IterativeHead) + 697 (1x1 keypoint head).
_base_ = ['./td-hm_litehrnet-18_8xb64-210e_coco-256x192.py']

# scale the lr with the actual total batch size (8 GPUs x 32 images)
auto_scale_lr = dict(base_batch_size=256)

# codec settings: the pipelines below are redefined because they take the input size from it
codec = dict(type='MSRAHeatmap', input_size=(288, 384), heatmap_size=(72, 96), sigma=3)

model = dict(head=dict(decoder=codec))

# pipelines
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

# data loaders
train_dataloader = dict(batch_size=32, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = val_dataloader
