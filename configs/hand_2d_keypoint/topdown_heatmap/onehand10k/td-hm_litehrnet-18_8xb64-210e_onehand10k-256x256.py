# Lite-HRNet-18, hand keypoints: OneHand10K (21), top-down heatmaps, 256x256.
#
# Recipe: MMPose's HRNetV2-W18 config for this data set, inherited whole (data set, codec,
# pipelines with flip, scale and 180-degree rotation, Adam lr 5e-4 with warm-up, 210 epochs
# with steps at 170 and 200, PCK@0.2 / AUC / EPE); only the model's backbone is ours. No
# Lite-HRNet figures exist for OneHand10K (neither MMPose's nor the authors'): none are given.
_base_ = [
    'mmpose::hand_2d_keypoint/topdown_heatmap/onehand10k/'
    'td-hm_hrnetv2-w18_8xb64-210e_onehand10k-256x256.py'
]

custom_imports = dict(imports=['litehrnet_mm'], allow_failed_imports=False)

# model: our Lite-HRNet-18 with its IterativeHead (40 channels at 1/4 scale) in place of
# the base config's HRNetV2-W18 and its neck; the stock HeatmapHead maps them to the keypoints
model = dict(
    backbone=dict(_delete_=True, type='litehrnet_mm.LiteHRNet', arch='18', with_head=True),
    neck=None,  # HRNetV2's concatenation of the branches
    head=dict(in_channels=40, conv_out_channels=None, conv_kernel_sizes=None))

custom_hooks = [
    dict(type='litehrnet_mm.StrictCheckpointHook'),  # refuse checkpoints that do not fit
    dict(type='litehrnet_mm.KeypointCountHook'),  # refuse a head that does not fit the data
]
