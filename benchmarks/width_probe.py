"""Does padding Lite-HRNet's channels to multiples of 16 pay in ONNX Runtime or OpenVINO?

A probe for the speed issue, not a product. ONNX Runtime keeps convolutions in its blocked
layout (NCHWc, blocks of 16 with AVX-512) only where the channel count is a multiple of 16;
Lite-HRNet-18's highest-resolution branch has 40 channels, split into halves of 20, so its
convolutions there run in plain NCHW with layout reorders around the blocked ones. If that
cost dominated, a network made wider to aligned widths (zero-padded channels, an exact
reformulation) would run faster than the published one despite more arithmetic.

This exports the Lite-HRNet-18 pose model (256x192, batch 1, random weights) with its four
branch widths scaled from (40, 80, 160, 320) to each ``--widths`` first width (32: halves of
16, all aligned; 48: full widths aligned, halves of 24 not; 64: all aligned), each in the form
that runtime runs fastest, and times them in ``--rounds`` interleaved rounds (median of
``--reps``, best median kept), ``torch.get_num_threads()`` threads, beside MMEngine's count of
multiply-adds.

    python benchmarks/width_probe.py [--widths 32 40 48 64]
"""
import argparse
import os.path as osp
import tempfile

import torch
from mmengine.config import Config

from litehrnet_mm.benchmarking import multiply_adds, onnx_paths, our_pose_config, time_paths
from litehrnet_mm.builder import build_model
from litehrnet_mm.models import arch_to_extra
from litehrnet_mm.testing import randomize

CONFIG = our_pose_config(osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs'),
                         'Lite-HRNet-18')
PUBLISHED = 40


def widened(first: int):
    """Lite-HRNet-18's pose model with branch widths ``first * (1, 2, 4, 8)``."""
    cfg = Config.fromfile(CONFIG)
    extra = arch_to_extra('18')
    widths = tuple(first * 2**i for i in range(4))
    extra['stages_spec']['num_channels'] = (widths[:2], widths[:3], widths[:4])
    cfg.model.backbone = dict(type='litehrnet_mm.LiteHRNet', extra=extra)
    cfg.model.head.in_channels = first
    return randomize(build_model(cfg)).eval()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--widths', type=int, nargs='+', default=[32, 40, 48, 64])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--reps', type=int, default=30)
    args = parser.parse_args(argv)
    if PUBLISHED not in args.widths:
        parser.error(f'--widths must include the published {PUBLISHED}: ratios are to it')
    x = torch.randn(1, 3, 256, 192)
    rows, macs = {}, {}
    with tempfile.TemporaryDirectory() as workdir:
        for first in args.widths:
            model = widened(first)
            macs[first] = multiply_adds(model, x)
            rows[first] = [
                *onnx_paths(f'width {first}', model, x, workdir, runtimes=('onnxruntime', )),
                *onnx_paths(f'width {first}', model, x, workdir, export_for='openvino',
                            runtimes=('openvino', ))]
        time_paths([p for paths in rows.values() for p in paths], args.rounds, args.reps)
    print(f'\nthreads {torch.get_num_threads()}; ratios to the published width {PUBLISHED}\n')
    print('| first width | multiply-adds (G) | ratio | ONNX Runtime ms | ratio | ONNX nodes '
          '| OpenVINO ms | ratio |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- |')
    base_ort, base_ov = (p.ms for p in rows[PUBLISHED])
    for first in args.widths:
        ort, ov = rows[first]
        print(f'| {first} | {macs[first] / 1e9:.3f} | {macs[first] / macs[PUBLISHED]:.2f}x | '
              f'{ort.ms:.2f} | {ort.ms / base_ort:.2f}x | {ort.info["nodes"]} | '
              f'{ov.ms:.2f} | {ov.ms / base_ov:.2f}x |')


if __name__ == '__main__':
    main()
