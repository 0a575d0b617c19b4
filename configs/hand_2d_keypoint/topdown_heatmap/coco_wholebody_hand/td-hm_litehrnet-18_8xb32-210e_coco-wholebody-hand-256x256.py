# Lite-HRNet-18, hand keypoints: COCO-WholeBody-Hand (21), top-down heatmaps, 256x256.
#
# MMPose's own Lite-HRNet-18 config for this data set, inherited whole (data set, codec,
# pipelines with flip, scale and 180-degree rotation, Adam lr 5e-4 with warm-up, 210 epochs
# with steps at 170 and 200, PCK@0.2 / AUC / EPE), with our backbone in place of MMPose's
# LiteHRNet: the same parameters and outputs (tests/configs/test_keypoint_tasks.py), so
# MMPose's checkpoint loads. MMPose's figures for it: PCK@0.2 0.795, AUC 0.830, EPE 4.77
# (litehrnet_w18_coco_wholebody_hand_256x256-d6945e6a_20210908.pth).
_base_ = [
    'mmpose::hand_2d_keypoint/topdown_heatmap/coco_wholebody_hand/'
    'td-hm_litehrnet-w18_8xb32-210e_coco-wholebody-hand-256x256.py'
]

custom_imports = dict(imports=['litehrnet_mm'], allow_failed_imports=False)

# model: our Lite-HRNet-18 with its IterativeHead (40 channels at 1/4 scale) in place of
# the base config's LiteHRNet (MMPose's); the stock HeatmapHead maps them to the keypoints
model = dict(
    backbone=dict(_delete_=True, type='litehrnet_mm.LiteHRNet', arch='18', with_head=True),
    head=dict(in_channels=40))

custom_hooks = [
    dict(type='litehrnet_mm.StrictCheckpointHook'),  # refuse checkpoints that do not fit
    dict(type='litehrnet_mm.KeypointCountHook'),  # refuse a head that does not fit the data
]
