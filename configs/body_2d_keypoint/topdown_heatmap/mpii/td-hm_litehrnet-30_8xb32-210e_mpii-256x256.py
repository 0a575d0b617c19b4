# Lite-HRNet-30, MPII top-down heatmaps, 256x256.
#
# Recipe of the Lite-HRNet authors (Yu et al., CVPR 2021): Adam lr 2e-3, linear warm-up over
# 500 iterations (start factor 0.001), lr x0.1 at epochs 170 and 200, 210 epochs,
# 8 GPUs x 32 images; flip, scale +-25 %, rotation, no half-body; MSRA heatmaps sigma 2;
# flip test with heatmap shift.
# Published (MPII val): PCKh@0.5 0.870; 425.3M FLOPs as published.
# Params: 1,763,020 (backbone with IterativeHead) + 656 (1x1 keypoint head, 16 joints).
_base_ = ['./td-hm_litehrnet-18_8xb32-210e_mpii-256x256.py']

model = dict(backbone=dict(arch='30'))
