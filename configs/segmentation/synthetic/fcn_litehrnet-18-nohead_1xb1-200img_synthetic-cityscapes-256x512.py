# For MMSeg's benchmark script (tools/analysis_tools/benchmark.py), which times a fixed 200
# images at batch 1: the synthetic validation set repeated 10 times (20 x 10 = 200 images), so
# that it prints a real figure instead of `nan`.
_base_ = ['./fcn_litehrnet-18-nohead_1xb4-400_synthetic-cityscapes-256x512.py']

test_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='RepeatDataset',
        times=10,
        dataset={{_base_.val_dataloader.dataset}}))
