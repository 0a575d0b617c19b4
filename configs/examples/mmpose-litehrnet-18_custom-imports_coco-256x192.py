# MMPose's own Lite-HRNet-18 COCO config, unchanged but for the backbone, which is ours.
# Our LiteHRNet takes MMPose's `extra` dict as it is, and loads MMPose's checkpoints strictly.
_base_ = 'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_litehrnet-18_8xb64-210e_coco-256x192.py'

custom_imports = dict(imports=['litehrnet_mm'], allow_failed_imports=False)

model = dict(backbone=dict(type='litehrnet_mm.LiteHRNet'))
