# Lite-HRNet-30, animal pose: AP-10K (17 keypoints, 54 species), top-down heatmaps, 256x256.
#
# The Lite-HRNet-18 config with the 30-layer backbone (MMPose offers HRNet-W32 and W48 with
# the same recipe). No figures exist: none are given.
_base_ = ['./td-hm_litehrnet-18_8xb64-210e_ap10k-256x256.py']

model = dict(backbone=dict(arch='30'))
