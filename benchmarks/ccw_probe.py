"""Each conditional channel weighting block of Lite-HRNet-18 at 256x192 on its own: the
deploy form one operation per call (as in litehrnet-mm 0.2: poolings, a concat, four matrix
products, the depthwise kernel per branch, means, sigmoids, multiplies, shuffles) against the
whole block in one call of ``litehrnet_mm::ccw_block`` (``csrc/ccw.cpp``), eager, channels-last
inputs, random weights with BatchNorm statistics. Interleaved rounds, best median; the
largest difference from the training block relative to its output scale.

    python benchmarks/ccw_probe.py [--batch 1] [--rounds 3] [--reps 200]
"""
import argparse

import torch

from litehrnet_mm.benchmarking import Path, time_paths
from litehrnet_mm.deploy import kernels
from litehrnet_mm.deploy.modules import DeployConditionalChannelWeighting
from litehrnet_mm.models import arch_to_extra
from litehrnet_mm.models.blocks import ConditionalChannelWeighting
from litehrnet_mm.testing import randomize


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--reps', type=int, default=200)
    args = parser.parse_args(argv)
    if not kernels.depthwise_kernel():
        raise SystemExit(f'the kernels are not available here: {kernels.unavailable_reason()}')
    spec = arch_to_extra('18')['stages_spec']
    rows = []
    for stage, channels in enumerate(spec['num_channels']):
        block = randomize(ConditionalChannelWeighting(channels, spec['reduce_ratios'][stage]),
                          stage).eval()
        fused = DeployConditionalChannelWeighting(block, kernel=True).eval()
        unfused = DeployConditionalChannelWeighting(block, kernel=True).eval()
        unfused.fuse = False
        x = [torch.randn(args.batch, c, 64 >> i, 48 >> i).contiguous(
            memory_format=torch.channels_last) for i, c in enumerate(channels)]
        with torch.no_grad():
            expected = block([t.contiguous() for t in x])
            got = fused(x, 'eager')
        diff = max(float((a - b).abs().max() / b.abs().max()) for a, b in zip(got, expected))
        calls = spec['num_modules'][stage] * spec['num_blocks'][stage]

        def run(m, x=x):
            with torch.no_grad():
                return m(x, 'eager')
        paths = [Path('unfused', lambda m=unfused: run(m)), Path('fused', lambda m=fused: run(m))]
        time_paths(paths, args.rounds, args.reps)
        rows.append((channels, calls, paths[0].ms * 1e3, paths[1].ms * 1e3, diff))
    print(f'\nbatch {args.batch}, {torch.get_num_threads()} threads\n')
    print('| branches (channels) | maps | blocks per image | unfused us | fused us | ratio | '
          'largest difference |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    total = [0.0, 0.0]
    for channels, calls, before, after, diff in rows:
        sizes = ', '.join(f'{64 >> i}x{48 >> i}' for i in range(len(channels)))
        print(f'| {channels} | {sizes} | {calls} | {before:.0f} | {after:.0f} | '
              f'{before / after:.2f}x | {diff:.1e} |')
        total[0] += calls * before
        total[1] += calls * after
    print(f'\nPer image, the 16 blocks: unfused {total[0] / 1e3:.2f} ms, fused '
          f'{total[1] / 1e3:.2f} ms ({total[0] / total[1]:.2f}x)')


if __name__ == '__main__':
    main()
