"""Latency, training-step time and memory of our Lite-HRNet next to MMPose's, on this CPU.

Side by side in one process, same weights, medians of repeated runs:
- batch-1 and batch-16 inference and a batch-8 training step (forward, backward, SGD step)
  at 256x192 for Lite-HRNet-18, -30 and naive-18: ours (training form in eval mode, deploy
  form with BatchNorm folded), MMPose's LiteHRNet, and MMPose's HRNet-W32 (inference only);
- batch-1 inference at 384x288 and 512x1024 (Lite-HRNet-18);
- Lite-HRNet-18 at 256x192, batch 1: ``torch.compile`` of the deploy form, and ONNX Runtime
  (2 threads) on our export and on MMPose's model exported the same way;
- peak resident memory of a fresh process running one batch-16 training step at 256x192,
  with and without ``with_cp``;
- the fp32 matmul GFLOP/s of this machine, and the GFLOP/s each model reaches.

    python benchmarks/benchmark_cpu.py [--reps 15] [--quick]

Prints Markdown tables. Backbones only (the IterativeHead included, as published).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

HRNET_W32 = dict(
    stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4, ),
                num_channels=(64, )),
    stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4),
                num_channels=(32, 64)),
    stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4),
                num_channels=(32, 64, 128)),
    stage4=dict(num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4),
                num_channels=(32, 64, 128, 256)))


def median_ms(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def matmul_gflops(n=2048, reps=10):
    a, b = torch.randn(n, n), torch.randn(n, n)
    ms = median_ms(lambda: a @ b, reps)
    return 2 * n**3 / (ms * 1e-3) / 1e9


def macs(model, x):
    from mmengine.analysis import FlopAnalyzer
    a = FlopAnalyzer(model, (x, ))
    a.unsupported_ops_warnings(False)
    a.uncalled_modules_warnings(False)
    return a.total()


def build_pair(arch):
    from mmpose.models.backbones import LiteHRNet as MMPoseLiteHRNet

    from litehrnet_mm.models import LiteHRNet
    from litehrnet_mm.models.backbones import arch_to_extra
    ref = MMPoseLiteHRNet(arch_to_extra(arch))
    ours = LiteHRNet(arch=arch)
    ours.load_state_dict(ref.state_dict())
    deploy = LiteHRNet(arch=arch)
    deploy.load_state_dict(ref.state_dict())
    deploy.eval()
    deploy.switch_to_deploy()
    ref.eval()  # MMPose's LiteHRNet.train() returns None: no chaining
    ours.eval()
    return ref, ours, deploy


def infer(model, x):
    def run():
        with torch.inference_mode():
            model(x)
    return run


def train_step(model, x):
    opt = torch.optim.SGD(model.parameters(), lr=1e-6)

    def run():
        out = model(x)[0]
        opt.zero_grad()
        out.float().pow(2).mean().backward()
        opt.step()
    return run


def peak_rss_training(arch, with_cp):
    """Resident memory (MiB) of a fresh process doing one batch-16 training step at 256x192:
    (peak during the step, peak minus the resident memory just before the step). A thread
    samples /proc/self/status every millisecond (ru_maxrss is useless here: importing the
    CUDA build of torch peaks higher than a CPU training step)."""
    code = f'''
import threading, time, torch
torch.set_num_threads({torch.get_num_threads()})
from litehrnet_mm.models import LiteHRNet
def rss():
    with open('/proc/self/status') as f:
        return next(int(l.split()[1]) for l in f if l.startswith('VmRSS'))
m = LiteHRNet(arch={arch!r}, with_cp={with_cp}).train()
x = torch.randn(16, 3, 256, 192)
m(x[:2])[0].sum().backward()  # warm-up: allocator and kernels
m.zero_grad(set_to_none=True)
before, peak, done = rss(), [0], [False]
def sample():
    while not done[0]:
        peak[0] = max(peak[0], rss())
        time.sleep(0.001)
t = threading.Thread(target=sample)
t.start()
m(x)[0].pow(2).mean().backward()
done[0] = True
t.join()
print(peak[0], before)
'''
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[0]) / 1024, (int(out[0]) - int(out[1])) / 1024


def ort_ms(model, reps, h=256, w=192):
    import onnxruntime as ort

    class Wrap(torch.nn.Module):

        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, x):
            return self.m(x)[0]

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, 'm.onnx')
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.onnx.export(Wrap(model).eval(), (torch.randn(1, 3, h, w), ), path,
                              input_names=['x'], dynamo=True, opset_version=18,
                              external_data=False, verbose=False)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = torch.get_num_threads()
        sess = ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])
        x = torch.randn(1, 3, h, w).numpy()
        return median_ms(lambda: sess.run(None, {'x': x}), reps)


def memory_table(results):
    print('\n| Lite-HRNet-18, one batch-16 training step at 256x192 | peak RSS MiB | '
          'step peak above the RSS before it, MiB |')
    print('| --- | --- | --- |')
    for cp in (False, True):
        total, growth = peak_rss_training('18', cp)
        print(f'| with_cp={cp} | {total:.0f} | {growth:.0f} |', flush=True)
        results[f'rss_with_cp_{cp}'] = (total, growth)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--reps', type=int, default=15)
    parser.add_argument('--quick', action='store_true', help='fewer runs and models')
    parser.add_argument('--json', default=None, help='also write the results here')
    parser.add_argument('--memory-only', action='store_true', help='only the memory table')
    args = parser.parse_args(argv)
    reps = 5 if args.quick else args.reps
    big = max(3, reps // 3)
    torch.manual_seed(0)
    from mmpose.models.backbones import HRNet
    results = {}
    if args.memory_only:
        return memory_table(results)
    peak = matmul_gflops()
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads; fp32 matmul '
          f'(2048^2): {peak:.0f} GFLOP/s\n')

    print('| model | impl | batch-1 ms | ratio to MMPose | GFLOP/s | batch-16 ms | ratio | '
          'train b8 ms | ratio |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    x1, x16, x8 = (torch.randn(n, 3, 256, 192) for n in (1, 16, 8))
    archs = ['18'] if args.quick else ['18', '30', 'naive-18']
    for arch in archs:
        ref, ours, deploy = build_pair(arch)
        flops = 2 * macs(ours, x1)
        row = {}
        for name, m in (('MMPose LiteHRNet', ref), ('ours', ours), ('ours, deploy', deploy)):
            row[name] = dict(b1=median_ms(infer(m, x1), reps),
                             b16=median_ms(infer(m, x16), big))
            if name != 'ours, deploy':
                m.train()
                row[name]['train8'] = median_ms(train_step(m, x8), big, warmup=1)
                m.eval()
        base = row['MMPose LiteHRNet']
        for name, r in row.items():
            train = (f"{r['train8']:.0f} | {base['train8'] / r['train8']:.2f}x"
                     if 'train8' in r else '- | -')
            print(f"| Lite-HRNet-{arch} | {name} | {r['b1']:.1f} | {base['b1'] / r['b1']:.2f}x | "
                  f"{flops / (r['b1'] * 1e-3) / 1e9:.1f} | {r['b16']:.0f} | "
                  f"{base['b16'] / r['b16']:.2f}x | {train} |", flush=True)
        results[arch] = row
    hr = HRNet(HRNET_W32)
    hr.eval()
    hr_flops = 2 * macs(hr, x1)
    hr_b1, hr_b16 = median_ms(infer(hr, x1), reps), median_ms(infer(hr, x16), big)
    print(f'| HRNet-W32 | MMPose | {hr_b1:.1f} | | {hr_flops / (hr_b1 * 1e-3) / 1e9:.1f} | '
          f'{hr_b16:.0f} | | - | |\n')
    results['hrnet_w32'] = dict(b1=hr_b1, b16=hr_b16)

    print('| Lite-HRNet-18, batch 1 | input | MMPose ms | ours ms | ours deploy ms | '
          'deploy ratio |')
    print('| --- | --- | --- | --- | --- | --- |')
    ref, ours, deploy = build_pair('18')
    for h, w in ((384, 288), (512, 1024)):
        x = torch.randn(1, 3, h, w)
        r = [median_ms(infer(m, x), big) for m in (ref, ours, deploy)]
        print(f'| | {h}x{w} | {r[0]:.1f} | {r[1]:.1f} | {r[2]:.1f} | {r[0] / r[2]:.2f}x |',
              flush=True)
        results[f'18_{h}x{w}'] = r

    compiled = torch.compile(deploy)
    t = time.perf_counter()
    infer(compiled, x1)()
    compile_s = time.perf_counter() - t
    comp = median_ms(infer(compiled, x1), reps)
    ort_ref, ort_ours = ort_ms(ref, reps), ort_ms(deploy, reps)
    eager = results['18']['MMPose LiteHRNet']['b1']
    print('\n| Lite-HRNet-18, 256x192, batch 1 | ms | ratio to MMPose eager |')
    print('| --- | --- | --- |')
    for name, ms in (('MMPose eager', eager),
                     ('ours deploy', results['18']['ours, deploy']['b1']),
                     (f'ours deploy, torch.compile (compiled in {compile_s:.0f} s)', comp),
                     ('ONNX Runtime, MMPose model', ort_ref), ('ONNX Runtime, ours', ort_ours)):
        print(f'| {name} | {ms:.1f} | {eager / ms:.2f}x |')
    results.update(compile_ms=comp, ort_mmpose_ms=ort_ref, ort_ours_ms=ort_ours)

    memory_table(results)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=1)


if __name__ == '__main__':
    main()
