# Naive Lite-HRNet-18, COCO top-down heatmaps, 256x192.
#
# Recipe of the Lite-HRNet authors (Yu et al., CVPR 2021): Adam lr 2e-3, linear warm-up over
# 500 iterations (start factor 0.001), lr x0.1 at epochs 170 and 200, 210 epochs,
# 8 GPUs x 64 images; flip, half-body (p 0.3), scale +-25 %, rotation; MSRA heatmaps sigma 2;
# flip test with heatmap shift.
# Published (COCO val2017, person detector AP 56.4): AP 0.628, AP50 0.855, AP75 0.699,
# AR 0.691; 194.8M FLOPs as published.
# Params: 759,838 (backbone with IterativeHead) + 697 (1x1 keypoint head).
_base_ = ['./td-hm_litehrnet-18_8xb64-210e_coco-256x192.py']

# naive-18 has branches of 30, 60, 120, 240 channels; the IterativeHead outputs 30 at 1/4
model = dict(backbone=dict(arch='naive-18'), head=dict(in_channels=30))
