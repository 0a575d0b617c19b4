# Lite-HRNet-30, whole body: COCO-WholeBody (133 keypoints), top-down heatmaps, 256x192.
#
# The Lite-HRNet-18 config with the 30-layer backbone (MMPose offers HRNet-W32 and W48 for
# COCO-WholeBody; their recipes differ only in batch size). No figures exist: none are given.
_base_ = ['./td-hm_litehrnet-18_8xb64-210e_coco-wholebody-256x192.py']

model = dict(backbone=dict(arch='30'))
