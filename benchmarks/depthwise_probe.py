"""The depthwise 3x3 convolutions of Lite-HRNet-18, one call at a time: oneDNN against the
project's kernel (``litehrnet_mm/deploy/csrc/depthwise.cpp``).

Runs the deploy form of the Lite-HRNet-18 pose model once (256x192, batch 1, random
weights) to collect every depthwise 3x3 convolution it makes (channels, input size, stride,
and whether the cross-resolution weighting's multiply comes before it), then times each
distinct call on its own at ``--batch``, channels-last, ``torch.get_num_threads()`` threads, in
``--rounds`` interleaved rounds (median of ``--reps``, best median kept):

- oneDNN: ``torch.ops.mkldnn._convolution_pointwise`` with the weight packed once (the
  deploy form's call without the kernel, ``litehrnet_mm.deploy.onednn``); with the
  weighting, the broadcast multiply first;
- the kernel: ``torch.ops.litehrnet_mm.depthwise3x3``, the weighting fused into it.

The totals weight each call by how often one image makes it.

    python benchmarks/depthwise_probe.py [--rounds 3] [--reps 200] [--batch 1]
"""
import argparse
import collections
import os.path as osp
import sys

import torch

from litehrnet_mm.benchmarking import Path, deployed_copy, time_paths
from litehrnet_mm.builder import TensorModel, build_model
from litehrnet_mm.deploy import onednn
from litehrnet_mm.deploy.kernels import depthwise_kernel
from litehrnet_mm.deploy.layers import FoldedConv, mul_upsampled
from litehrnet_mm.testing import randomize

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'body_2d_keypoint', 'topdown_heatmap', 'coco',
                  'td-hm_litehrnet-18_8xb64-210e_coco-256x192.py')


def collect_calls(model, x):
    """(channels, height, width, stride, factor or 0) of every depthwise 3x3 call, counted."""
    calls = collections.Counter()
    forward, weighted = FoldedConv.forward, FoldedConv.weighted

    def record_forward(self, t, target):
        if self.depthwise3x3:
            calls[(t.shape[1], t.shape[2], t.shape[3], self.stride, 0)] += 1
        return forward(self, t, target)

    def record_weighted(self, t, scale, factor, target):
        calls[(t.shape[1], t.shape[2], t.shape[3], self.stride, factor)] += 1
        return forward(self, mul_upsampled(t, scale, factor, target), target)  # counted once

    FoldedConv.forward, FoldedConv.weighted = record_forward, record_weighted
    try:
        with torch.no_grad():
            model(x)
    finally:
        FoldedConv.forward, FoldedConv.weighted = forward, weighted
    return calls


def call_paths(c, h, w, stride, factor, batch):
    g = torch.Generator().manual_seed(c * h)
    cl = torch.channels_last
    x = torch.randn(batch, c, h, w, generator=g).contiguous(memory_format=cl)
    weight, bias = torch.randn(c, 1, 3, 3, generator=g), torch.randn(c, generator=g)
    taps = weight.reshape(c, 9).t().contiguous()
    scale = None
    if factor:
        scale = torch.rand(batch, c, h // factor, w // factor, generator=g)
        scale = scale.contiguous(memory_format=cl)
    packed = onednn.pack_weight(weight, 1, stride, c, x.shape)

    def onednn_call():
        inp = mul_upsampled(x, scale, factor, 'eager') if factor else x
        return onednn.conv(inp, packed, bias, 1, stride, c)

    def kernel():
        return torch.ops.litehrnet_mm.depthwise3x3(x, taps, bias, stride, False, scale,
                                                   max(factor, 1))
    diff = float((onednn_call() - kernel()).abs().max())
    return Path('oneDNN', onednn_call), Path('kernel', kernel, diff=diff)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--reps', type=int, default=200)
    parser.add_argument('--batch', type=int, default=1, help='batch of the timed calls')
    args = parser.parse_args()
    if not depthwise_kernel():
        sys.exit('the depthwise kernel is not available here (see the warning above)')
    model = TensorModel(deployed_copy(randomize(build_model(CONFIG)))).eval()
    calls = collect_calls(model, torch.randn(1, 3, 256, 192))
    rows = [(key, n, *call_paths(*key, args.batch)) for key, n in sorted(calls.items())]
    with torch.no_grad():
        time_paths([p for row in rows for p in row[2:]], args.rounds, args.reps)
    print(f'{torch.get_num_threads()} threads, batch {args.batch}, {sum(calls.values())} calls '
          f'per image\n')
    print('| channels | input | stride | weighting before it | calls per image | oneDNN us '
          '| kernel us | ratio | largest difference |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    total = [0.0, 0.0]
    for (c, h, w, s, f), n, onednn_path, kernel in rows:
        total[0] += n * onednn_path.ms
        total[1] += n * kernel.ms
        weighting = f'x{f} upsampled' if f > 1 else ('same size' if f else '')
        print(f'| {c} | {h}x{w} | {s} | {weighting} | {n} | {onednn_path.ms * 1e3:.1f} | '
              f'{kernel.ms * 1e3:.1f} | {onednn_path.ms / kernel.ms:.2f}x | '
              f'{kernel.info["diff"]:.1e} |')
    print(f'\nPer forward (batch {args.batch}): oneDNN {total[0]:.2f} ms, the kernel '
          f'{total[1]:.2f} ms ({total[0] / total[1]:.2f}x).')


if __name__ == '__main__':
    main()
