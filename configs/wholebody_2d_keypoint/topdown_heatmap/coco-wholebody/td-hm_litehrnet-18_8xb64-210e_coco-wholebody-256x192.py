# Lite-HRNet-18, whole body: COCO-WholeBody (133 keypoints: body, feet, face, hands),
# top-down heatmaps, 256x192.
#
# Recipe: MMPose's HRNet-W32 config for COCO-WholeBody at 256x192, inherited whole (data set,
# its detector's person boxes, codec, pipelines with flip and half-body, Adam lr 5e-4 with
# warm-up, 210 epochs with steps at 170 and 200, CocoWholeBodyMetric); only the model's
# backbone is ours. No Lite-HRNet figures exist for COCO-WholeBody: none are given.
_base_ = [
    'mmpose::wholebody_2d_keypoint/topdown_heatmap/coco-wholebody/'
    'td-hm_hrnet-w32_8xb64-210e_coco-wholebody-256x192.py'
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
