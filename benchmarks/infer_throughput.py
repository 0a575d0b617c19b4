"""Throughput of ``tools/infer.py`` (the whole pipeline: reading, preprocessing, model,
decoding) with each backend on the same images, next to MMPose's own ``LiteHRNet`` through
``inference_topdown``. Each backend runs ``--repeats`` times in a fresh process (the first
run of a backend builds its artefact, later runs load it from the cache); the table shows
the median of the printed images per second, and each backend's speed relative to MMPose's
(segmentation: relative to the first backend given, e.g. ``plain``).

    python benchmarks/infer_throughput.py CONFIG INPUT --checkpoint CKPT [--bboxes FILE]
        [--backends mmpose plain pytorch compiled onnxruntime openvino] [--repeats 3]
        [--threads 2]
"""
import argparse
import os.path as osp
import re
import statistics
import subprocess
import sys

HERE = osp.dirname(osp.abspath(__file__))
TOOL = osp.join(HERE, '..', 'tools', 'infer.py')
RATE = re.compile(r'(\d+) (?:images|frames) in ([\d.]+) s: ([\d.]+) images/s')


def run_once(args, backend: str) -> float:
    cmd = [sys.executable, TOOL, args.config, args.input, '--checkpoint', args.checkpoint,
           '--backend', backend, '--no-vis', '--out-dir', osp.join(args.work_dir, backend)]
    if args.bboxes:
        cmd += ['--bboxes', args.bboxes]
    if args.threads:
        cmd += ['--threads', str(args.threads)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f'{" ".join(cmd)} ran past --timeout {args.timeout} s') from None
    match = RATE.search(proc.stdout)
    if proc.returncode or not match:
        raise RuntimeError(f'{" ".join(cmd)} failed ({proc.returncode}):\n'
                           f'{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}')
    return float(match[3])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('input')
    parser.add_argument('--checkpoint', required=True)
    parser.add_argument('--timeout', type=float, default=1800,
                        help='seconds one run of tools/infer.py may take')
    parser.add_argument('--bboxes', default=None)
    parser.add_argument('--backends', nargs='+',
                        default=['mmpose', 'plain', 'pytorch', 'compiled', 'onnxruntime',
                                 'openvino'])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--work-dir', default='work_dirs/infer_throughput')
    args = parser.parse_args(argv)
    rates = {}
    for backend in args.backends:
        runs = [run_once(args, backend) for _ in range(args.repeats)]
        rates[backend] = statistics.median(runs)
        print(f'{backend}: {", ".join(f"{r:.1f}" for r in runs)} images/s', flush=True)
    reference = 'mmpose' if 'mmpose' in rates else args.backends[0]
    print(f'\n| backend | images/s (median of {args.repeats}) | vs {reference} |')
    print('|---|---:|---:|')
    for backend, rate in rates.items():
        ratio = f'{rate / rates[reference]:.2f}x'
        print(f'| {backend} | {rate:.1f} | {ratio} |')
    return rates


if __name__ == '__main__':
    main()
