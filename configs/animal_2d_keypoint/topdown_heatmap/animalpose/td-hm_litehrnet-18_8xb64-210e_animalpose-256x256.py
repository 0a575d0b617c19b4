# Lite-HRNet-18, animal pose: Animal-Pose (20 keypoints, 5 species), top-down heatmaps, 256x256.
#
# Recipe: MMPose's HRNet-W32 config for this data set, inherited whole (data set, codec,
# pipelines with flip and half-body, Adam lr 5e-4 with warm-up, 210 epochs with steps at 170
# and 200, CocoMetric with the data set's sigmas); only the model's backbone is ours. No
# Lite-HRNet figures exist for it: none are given.
_base_ = [
    'mmpose::animal_2d_keypoint/topdown_heatmap/animalpose/'
    'td-hm_hrnet-w32_8xb64-210e_animalpose-256x256.py'
]

custom_imports = dict(imports=['litehrnet_mm'], allow_failed_imports=False)

# model: our Lite-HRNet-18 with its IterativeHead (40 channels at 1/4 scale) in place of
# the base config's HRNet-W32; the stock HeatmapHead maps them to the keypoints
model = dict(
    backbone=dict(_delete_=True, type='litehrnet_mm.LiteHRNet', arch='18', with_head=True),
    head=dict(in_channels=40))

custom_hooks = [
    dict(type='litehrnet_mm.StrictCheckpointHook'),  # refuse checkpoints that do not fit
    dict(type='litehrnet_mm.KeypointCountHook'),  # refuse a head that does not fit the data
]
