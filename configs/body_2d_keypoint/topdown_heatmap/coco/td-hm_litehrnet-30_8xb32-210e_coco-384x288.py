# Lite-HRNet-30, COCO top-down heatmaps, 384x288.
#
# Recipe of the Lite-HRNet authors (Yu et al., CVPR 2021): Adam lr 2e-3, linear warm-up over
# 500 iterations (start factor 0.001), lr x0.1 at epochs 170 and 200, 210 epochs,
# 8 GPUs x 32 images; flip, half-body (p 0.3), scale +-25 %, rotation; MSRA heatmaps
# sigma 3;
# flip test with heatmap shift.
# Published (COCO val2017, person detector AP 56.4): AP 0.704, AP50 0.887, AP75 0.777,
# AR 0.762; 717.8M FLOPs as published. MMPose's own configs (lr 5e-4) report AP 0.700.
# Params: 1,763,020 (backbone with IterativeHead) + 697 (1x1 keypoint head).
_base_ = ['./td-hm_litehrnet-18_8xb32-210e_coco-384x288.py']

model = dict(backbone=dict(arch='30'))
