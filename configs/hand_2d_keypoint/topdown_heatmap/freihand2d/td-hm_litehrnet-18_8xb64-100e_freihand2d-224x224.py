# Lite-HRNet-18, hand keypoints: FreiHAND (21), top-down heatmaps, 224x224.
#
# Recipe: MMPose's only heatmap config for FreiHAND (ResNet-50), inherited whole (its 224x224
# crops, codec, pipelines with flip, scale and 180-degree rotation, Adam lr 5e-4 with warm-up,
# 100 epochs with steps at 50 and 70, PCK@0.2 / AUC / EPE); the backbone is ours and the head
# drops ResNet's three deconvolutions (Lite-HRNet's output is already at 1/4 scale). No
# Lite-HRNet figures exist for FreiHAND: none are given.
_base_ = [
    'mmpose::hand_2d_keypoint/topdown_heatmap/freihand2d/'
    'td-hm_res50_8xb64-100e_freihand2d-224x224.py'
]

custom_imports = dict(imports=['litehrnet_mm'], allow_failed_imports=False)

# model: our Lite-HRNet-18 with its IterativeHead (40 channels at 1/4 scale) in place of
# the base config's ResNet-50; the stock HeatmapHead maps them to the keypoints
model = dict(
    backbone=dict(_delete_=True, type='litehrnet_mm.LiteHRNet', arch='18', with_head=True),
    head=dict(in_channels=40, deconv_out_channels=None))

custom_hooks = [
    dict(type='litehrnet_mm.StrictCheckpointHook'),  # refuse checkpoints that do not fit
    dict(type='litehrnet_mm.KeypointCountHook'),  # refuse a head that does not fit the data
]
