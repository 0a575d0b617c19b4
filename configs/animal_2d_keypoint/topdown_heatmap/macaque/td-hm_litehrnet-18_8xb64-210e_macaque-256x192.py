# Lite-HRNet-18, animal pose in a lab set: MacaquePose (17 keypoints with COCO's names),
# top-down heatmaps, 256x192.
#
# MMPose 1.x has the Macaque data set but no heatmap config for it (MMPose 0.x trained ResNets
# at 256x192 for 210 epochs). Recipe: our COCO body config (the Lite-HRNet authors' recipe:
# Adam 2e-3, warm-up, steps at 170 and 200, flip and half-body), with MMPose's MacaqueDataset,
# its sigmas and flip pairs, and CocoMetric on the ground-truth boxes. No Lite-HRNet figures
# exist for it: none are given.
_base_ = [
    '../../../body_2d_keypoint/topdown_heatmap/coco/'
    'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py'
]

dataset_type = 'MacaqueDataset'
data_root = 'data/macaque/'
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/macaque_train.json',
        data_prefix=dict(img='images/')))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/macaque_test.json',
        bbox_file=None,  # ground-truth boxes
        data_prefix=dict(img='images/')))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/macaque_test.json')
test_evaluator = val_evaluator
