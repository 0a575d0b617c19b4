# Lite-HRNet-30 (with its IterativeHead, as published) + FCNHead, Cityscapes 512x1024.
#
# The Lite-HRNet paper (Yu et al., CVPR 2021) reports Cityscapes val 75.3 mIoU at
# 3.02 GFLOPs (512x1024) but its authors never released segmentation code. An MMSeg
# maintainer's reproduction (IterativeHead + FCN head, 8 GPUs x 2 images, SyncBN, no
# pretraining) reached 75.3 mIoU after 320k-640k iterations.
# Recipe (MMSeg HRNet convention): SGD lr 0.01, momentum 0.9, weight decay 5e-4, poly lr
# (power 0.9, min 1e-4), 160k iterations, 8 GPUs x 2 images; random resize 0.5-2.0 of
# 2048x1024, 512x1024 crops (cat_max_ratio 0.75), flip, photometric distortion; FCNHead over
# all four resolutions resized and concatenated (kernel 1, one conv); SyncBN; from scratch.
_base_ = ['./fcn_litehrnet-18_8xb2-160k_cityscapes-512x1024.py']

model = dict(backbone=dict(arch='30'))
