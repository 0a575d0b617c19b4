# Lite-HRNet-18, face landmarks: WFLW (98 landmarks), NME normalised by
# the outer eye corners (60, 72); top-down heatmaps, 256x256.
#
# Recipe: MMPose's HRNetV2-W18 config for this data set, inherited whole (data set, codec,
# pipelines with flip, scale and rotation, Adam lr 2e-3 with warm-up, 60 epochs with steps at
# 40 and 55, NME as MMPose computes it); only the model's backbone is ours. MMPose has no
# Lite-HRNet model for faces and the Lite-HRNet authors published none: no reference figures.
_base_ = [
    'mmpose::face_2d_keypoint/topdown_heatmap/wflw/'
    'td-hm_hrnetv2-w18_8xb64-60e_wflw-256x256.py'
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
