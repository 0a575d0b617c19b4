"""Lite-HRNet on this CPU, next to MMPose's Lite-HRNet and RTMPose, in every runtime.

Everything is measured side by side in one process: each table's paths are timed in
interleaved rounds (``--rounds``, default 3), each round takes the median of ``--reps`` runs
of every path, and a path's figure is its best median. Ratios are to MMPose's eager model in
the same table. Whole pose models (backbone and head, random weights, the same weights for
MMPose's Lite-HRNet and ours), batch 1, ``torch.get_num_threads()`` threads (2 here), fp32
unless a row says otherwise.

Tables:
0. The engine (``--sections engine``): AOTInductor packages of the whole pose model at
   256x192 in three forms: as in 0.2 (blocks unfused, not autotuned), blocks fused (one
   kernel call per conditional channel weighting block), and fused and autotuned (inductor
   max-autotune with its C++ GEMM template: the compiled backend's default), with their build
   times; MMPose's and our ONNX in ONNX Runtime; RTMPose-t in ONNX Runtime and OpenVINO; and
   the users' path, ``init_fast_model(CONFIG, CKPT, backend=...)`` then
   ``model(x, None, mode='tensor')``, for every backend, beside the bare graphs. Then the
   three packages at batch 8 and for the segmentation model at 512x1024
   (``--engine-tables pose batch8 seg``).
1. Lite-HRNet-18 at 256x192: MMPose eager; ours in training form, deploy form, compiled
   (``torch.compile`` with inductor freezing and the C++ wrapper; and as a user gets it from
   ``switch_to_deploy()`` then freezing alone), AOTInductor package (build and load time);
   MMPose's and our ONNX exports in ONNX Runtime and OpenVINO (node and convolution counts,
   our dynamic-size export beside the fixed one); RTMPose-t and -s (from MMPose's configs) in
   eager, ONNX Runtime and OpenVINO; a bf16 row (OpenVINO's precision hint) with its largest
   heatmap difference. Batch 8 for the fast paths. GFLOP/s: twice MMEngine's multiply-add
   count of the model over the time, and its share of this machine's fp32 matmul rate.
2. Lite-HRNet-30, naive-18, Lite-HRNet-18 at 384x288, and the segmentation model (FCN head,
   512x1024; its reference is our own training form, MMPose has none) in eager, ONNX Runtime
   and OpenVINO; compiled and packaged rows for the segmentation model.
3. A training step (batch 8, 256x192, forward, backward, SGD) of every variant's backbone, ours
   against MMPose's, and the peak memory of a batch-16 step with and without ``with_cp``.

    python benchmarks/benchmark_cpu.py [--rounds 3] [--reps 30] [--quick]
        [--out benchmarks/results]
        [--sections engine main batch8 other seg training memory]
        [--engine-tables pose batch8 seg] [--update] [--no-compile-seg]

Needs the benchmark extras: ``pip install -r requirements/benchmark.txt`` (OpenVINO,
matplotlib). Writes ``results.json`` and ``latency.png`` into ``--out`` and prints Markdown.
"""
import argparse
import copy
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
from functools import partial
from typing import List

import torch

from litehrnet_mm import benchmarking
from litehrnet_mm.backends import export_onnx, runner
from litehrnet_mm.backends import PackagedModel, build_package
from litehrnet_mm.benchmarking import (HRNET_W32, RTMPOSE, Path, check_equal, compiled_paths,
                                       deployed_copy, eager, machine, matmul_gflops, median_ms,
                                       mmpose_config, multiply_adds, onnx_paths, print_table,
                                       time_paths)
from litehrnet_mm.builder import TensorModel, build_model
from litehrnet_mm.testing import mmpose_and_ours, randomize

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = osp.join(ROOT, 'configs')
OUR_SEG = osp.join(ROOT, 'configs', 'segmentation', 'cityscapes',
                   'fcn_litehrnet-18_8xb2-160k_cityscapes-512x1024.py')

SECTIONS = ['engine', 'main', 'batch8', 'other', 'seg', 'training', 'memory']
#: the sizes of the engine section's tables: pose batch 1 and 8, segmentation
ENGINE_TABLES = ['pose', 'batch8', 'seg']


def build(config):
    return build_model(config)


def pose_pair(name: str):
    return benchmarking.pose_pair(name, CONFIGS)


def main_table(args, workdir, peak, results):
    reference, ours, x = pose_pair('Lite-HRNet-18')
    flops = {'litehrnet': 2 * multiply_adds(reference, x)}
    base = Path("MMPose's Lite-HRNet-18, eager", eager(reference, x), model='litehrnet')
    training = Path('ours, training form, eager', eager(ours, x), model='litehrnet')
    deployed = to_deployed(ours)
    paths = [base, training, Path('ours, deploy form, eager', eager(deployed, x),
                                  model='litehrnet'),
             Path('ours, deploy form, eager, oneDNN depthwise',
                  eager(deployed_copy(ours, kernel=False), x), model='litehrnet')]
    for p in paths[2:]:
        check_equal(base.fn, p.fn, p.name)
    if not args.quick:
        paths += compiled_paths('ours', ours, x, workdir, onednn=True)
        for p in paths[4:]:
            p.info['model'] = 'litehrnet'
            check_equal(base.fn, p.fn, p.name)
    paths += onnx_paths("MMPose's Lite-HRNet-18", reference, x, workdir, deploy=False,
                        free_axes=True)
    ours_onnx = onnx_paths('ours', ours, x, workdir)
    ours_onnx += onnx_paths('ours, OpenVINO form', ours, x, workdir, export_for='openvino',
                            runtimes=('openvino', ), bf16=True, free_axes=True)
    ours_onnx += onnx_paths('ours', ours, x, workdir, dynamic=True,
                            runtimes=('onnxruntime', ))
    for p in ours_onnx:
        if 'bf16' not in p.name:
            check_equal(base.fn, p.fn, p.name)
    paths += ours_onnx
    for p in paths:
        p.info.setdefault('model', 'litehrnet')
    for variant in (['t'] if args.quick else ['t', 's']):
        rtm = build(mmpose_config(RTMPOSE.format(v=variant)))
        key = f'rtmpose-{variant}'
        flops[key] = 2 * multiply_adds(rtm, x)
        rows = [Path(f'RTMPose-{variant}, eager', eager(rtm, x))]
        rows += onnx_paths(f'RTMPose-{variant}', rtm, x, workdir, deploy=False)
        for p in rows:
            p.info['model'] = key
        paths += rows
    hrnet = build(mmpose_config(HRNET_W32))
    flops['hrnet-w32'] = 2 * multiply_adds(hrnet, x)
    paths.append(Path("MMPose's HRNet-W32, eager", eager(hrnet, x), model='hrnet-w32'))
    time_paths(paths, args.rounds, args.reps)
    print_table('Lite-HRNet-18 (with the IterativeHead and heatmap head), 256x192, batch 1',
                paths, base, peak, flops)
    results['batch1'] = [dict(name=p.name, ms=p.ms, medians=p.medians, **p.info)
                         for p in paths]
    results['gflop'] = {k: v / 1e9 for k, v in flops.items()}
    return paths, reference, ours


def package_form(model, fused: bool):
    """The whole model (``mode='tensor'``) in deploy form for a package, its blocks fused
    (one call each) or as in litehrnet-mm 0.2 (one call per operation)."""
    from litehrnet_mm.deploy.modules import DeployConditionalChannelWeighting
    form = TensorModel(deployed_copy(model)).eval()
    for m in form.modules():
        if isinstance(m, DeployConditionalChannelWeighting):
            m.fuse = fused and m.fuse
    return form


#: the compiled paths the engine section compares: name, fused blocks, autotuned
ENGINE_FORMS = [('as in 0.2 (blocks unfused, not autotuned)', False, False),
                ('blocks fused, not autotuned', True, False),
                ('blocks fused, autotuned: the compiled backend', True, True)]


def package_paths(prefix: str, model, x, workdir: str, max_batch: int = 1) -> List[Path]:
    """AOTInductor packages of :data:`ENGINE_FORMS` (build seconds recorded), each checked
    against the plain model."""
    paths = []
    for name, fused, autotune in ENGINE_FORMS:
        path = osp.join(workdir, f'{prefix}-{fused}-{autotune}-{max_batch}.pt2'.replace(' ', '_'))
        t = time.perf_counter()
        build_package(package_form(model, fused), path, x.shape[2], x.shape[3],
                      max_batch=max_batch, autotune=autotune)
        build_s = time.perf_counter() - t
        package = PackagedModel(path)
        paths.append(Path(f'{prefix}, AOTInductor package, {name}', partial(package, x),
                          build_s=build_s))
        print(f'built {paths[-1].name} in {build_s:.0f} s', flush=True)
    return paths


def fast_model_paths(ours, x, workdir: str) -> List[Path]:
    """``init_fast_model(CONFIG, CKPT, backend=...)`` and ``model(x, None, mode='tensor')``
    (the whole model as users call it: the backend runs backbone and neck, MMPose's head
    runs in PyTorch), for every backend."""
    from litehrnet_mm.inference import init_fast_model
    ckpt = osp.join(workdir, 'lite-hrnet-18.pth')
    torch.save({'state_dict': ours.state_dict(), 'meta': {}}, ckpt)
    config = benchmarking.our_pose_config(CONFIGS, 'Lite-HRNet-18')
    paths = []
    for backend in ('compiled', 'onnxruntime', 'openvino', 'pytorch'):
        spec = dict(type=backend)
        if backend != 'pytorch':
            spec['cache_dir'] = osp.join(workdir, 'cache')
        model = init_fast_model(config, ckpt, backend=spec)
        t = time.perf_counter()
        run = fast_call(model, x)
        run()  # builds the artefact
        paths.append(Path(f'ours, init_fast_model(backend={backend!r}), model(x, mode=tensor)',
                          run, build_s=time.perf_counter() - t))
    return paths


def fast_call(model, x):
    def run():
        with torch.no_grad():
            return model(x, None, mode='tensor')
    return run


def engine_table(args, workdir, peak, results):
    """The compiled backend (fused blocks, autotuned packages) against the compiled path of
    0.2 and RTMPose-t's fastest runtime, and the users' path through ``init_fast_model``
    beside the bare graphs; batch 8 and segmentation at 512x1024 against 0.2's path."""
    results['engine'] = {'machine': results.get('machine_of_update') or results['machine']}
    if 'pose' in args.engine_tables:
        reference, ours, x = pose_pair('Lite-HRNet-18')
        flops = {'litehrnet': 2 * multiply_adds(reference, x)}
        base = Path("MMPose's Lite-HRNet-18, eager", eager(reference, x), model='litehrnet')
        paths = [base] + package_paths('ours', ours, x, workdir)
        paths += onnx_paths("MMPose's Lite-HRNet-18", reference, x, workdir, deploy=False,
                            runtimes=('onnxruntime', ))
        paths += onnx_paths('ours', ours, x, workdir)
        paths += onnx_paths('ours, OpenVINO form', ours, x, workdir, export_for='openvino',
                            runtimes=('openvino', ))
        fast = fast_model_paths(ours, x, workdir)
        for p in paths[1:] + fast:
            p.info.setdefault('model', 'litehrnet')
            check_equal(base.fn, p.fn, p.name)
        paths += fast
        rtm = build(mmpose_config(RTMPOSE.format(v='t')))
        flops['rtmpose-t'] = 2 * multiply_adds(rtm, x)
        rows = onnx_paths('RTMPose-t', rtm, x, workdir, deploy=False)
        for p in rows:
            p.info['model'] = 'rtmpose-t'
        paths += rows
        time_paths(paths, args.rounds, args.reps)
        print_table('The compiled backend, Lite-HRNet-18 (with the IterativeHead and heatmap '
                    'head), 256x192, batch 1', paths, base, peak, flops)
        results['engine']['batch1'] = [dict(name=p.name, ms=p.ms, medians=p.medians, **p.info)
                                       for p in paths]
    if 'batch8' in args.engine_tables:
        reference, ours, _ = pose_pair('Lite-HRNet-18')
        x = torch.randn(8, 3, 256, 192)
        base = Path("MMPose's Lite-HRNet-18, eager", eager(reference, x))
        paths = [base] + package_paths('ours batch 8', ours, x, workdir, max_batch=8)
        for p in paths[1:]:
            check_equal(base.fn, p.fn, p.name)
        time_paths(paths, args.rounds, max(5, args.reps // 3))
        print_table('The compiled backend, Lite-HRNet-18, 256x192, batch 8 (ms per batch)',
                    paths, base, peak)
        results['engine']['batch8'] = [dict(name=p.name, ms=p.ms, **p.info) for p in paths]
    if 'seg' in args.engine_tables:
        seg = randomize(build(OUR_SEG))
        x = torch.randn(1, 3, 512, 1024)
        base = Path('ours, training form, eager', eager(seg, x))
        paths = [base] + package_paths('ours seg', seg, x, workdir)
        for p in paths[1:]:
            check_equal(base.fn, p.fn, p.name)
        time_paths(paths, args.rounds, 5)
        print_table('The compiled backend, segmentation (Lite-HRNet-18 + FCN head), 512x1024, '
                    'batch 1', paths, base, peak)
        results['engine']['segmentation'] = [dict(name=p.name, ms=p.ms, **p.info)
                                             for p in paths]


def to_deployed(model):
    return deployed_copy(model)


def batch8_table(args, workdir, peak, results, reference, ours):
    x = torch.randn(8, 3, 256, 192)
    base = Path("MMPose's Lite-HRNet-18, eager", eager(reference, x))
    paths = [base, Path('ours, deploy form, eager', eager(to_deployed(ours), x))]
    if not args.quick:
        paths += [p for p in compiled_paths('ours', ours, x, workdir, plain=False)]
    for name, model, deploy in (("MMPose's Lite-HRNet-18", reference, False),
                                ('ours', ours, True)):
        path = osp.join(workdir, f'{name}_b8.onnx'.replace(' ', '_').replace("'", ''))
        export_onnx(copy.deepcopy(model), path, 256, 192, deploy=deploy)
        paths.append(Path(f'{name}, ONNX Runtime',
                          partial(runner('onnxruntime', path, torch.get_num_threads()),
                                  x.numpy())))
    time_paths(paths, args.rounds, max(5, args.reps // 3))
    print_table('Lite-HRNet-18, 256x192, batch 8 (ms per batch)', paths, base, peak)
    results['batch8'] = [dict(name=p.name, ms=p.ms, **p.info) for p in paths]


def other_models_table(args, workdir, peak, results):
    names = ['Lite-HRNet-30'] if args.quick else \
        ['Lite-HRNet-30', 'Naive Lite-HRNet-18', 'Lite-HRNet-18 384x288']
    results['other'] = {}
    for name in names:
        reference, ours, x = pose_pair(name)
        base = Path(f"MMPose's {name}, eager", eager(reference, x))
        paths = [base, Path('ours, deploy form, eager', eager(to_deployed(ours), x))]
        paths += onnx_paths(f"MMPose's {name}", reference, x, workdir, deploy=False)
        paths += onnx_paths(f'ours {name}', ours, x, workdir)
        paths += onnx_paths(f'ours {name}, OpenVINO form', ours, x, workdir,
                            export_for='openvino', runtimes=('openvino', ))
        time_paths(paths, args.rounds, max(5, args.reps // 2))
        print_table(f'{name}, batch 1', paths, base, peak)
        results['other'][name] = [dict(name=p.name, ms=p.ms, **p.info) for p in paths]


def segmentation_table(args, workdir, peak, results):
    seg = randomize(build(OUR_SEG))
    x = torch.randn(1, 3, 512, 1024)
    base = Path('ours, training form, eager', eager(seg, x))
    paths = [base, Path('ours, deploy form, eager', eager(to_deployed(seg), x))]
    if args.compile_seg and not args.quick:
        paths += compiled_paths('ours seg', seg, x, workdir, plain=False,
                                dynamic_package=False)
    paths += onnx_paths('ours seg', seg, x, workdir)
    paths += onnx_paths('ours seg, OpenVINO form', seg, x, workdir, export_for='openvino',
                        runtimes=('openvino', ))
    time_paths(paths, args.rounds, 5)
    print_table('Segmentation, Lite-HRNet-18 + FCN head, 512x1024, batch 1', paths, base, peak)
    results['segmentation'] = [dict(name=p.name, ms=p.ms, **p.info) for p in paths]


def training_table(args, results):
    archs = ['18'] if args.quick else ['18', '30', 'naive-18', 'wider-naive-18']
    x = torch.randn(8, 3, 256, 192)
    print('\n### Training step, backbone only, batch 8, 256x192 (ms)\n')
    print("| variant | MMPose's | ours | ours vs MMPose's |")
    print('| --- | --- | --- | --- |')
    results['training'] = {}
    for arch in archs:
        reference, ours = mmpose_and_ours(arch)
        paths = []
        for name, model in (("MMPose's", reference), ('ours', ours)):
            model.train()
            opt = torch.optim.SGD(model.parameters(), lr=1e-6)

            def step(model=model, opt=opt):
                out = model(x)[0]
                opt.zero_grad()
                out.pow(2).mean().backward()
                opt.step()
            paths.append(Path(name, step))
        for _ in range(args.rounds):
            for p in paths:
                p.medians.append(median_ms(p.fn, 3 if args.quick else 5, warmup=1))
        print(f'| {arch} | {paths[0].ms:.0f} | {paths[1].ms:.0f} | '
              f'{paths[0].ms / paths[1].ms:.2f}x |', flush=True)
        results['training'][arch] = [p.ms for p in paths]


def peak_rss_training(with_cp: bool):
    """Resident memory (MiB) of a fresh process doing one batch-16 training step at 256x192:
    the peak, and the peak above the resident memory just before the step. A thread samples
    /proc/self/status every millisecond (ru_maxrss would report the import of torch)."""
    code = f'''
import threading, time, torch
torch.set_num_threads({torch.get_num_threads()})
from litehrnet_mm.models import LiteHRNet
def rss():
    with open('/proc/self/status') as f:
        return next(int(l.split()[1]) for l in f if l.startswith('VmRSS'))
m = LiteHRNet(arch='18', with_cp={with_cp}).train()
x = torch.randn(16, 3, 256, 192)
m(x[:2])[0].sum().backward()
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
                         check=True, timeout=600).stdout.split()
    return int(out[0]) / 1024, (int(out[0]) - int(out[1])) / 1024


def memory_table(results):
    print('\n### Lite-HRNet-18, one batch-16 training step at 256x192\n')
    print('| with_cp | peak RSS MiB | step peak above the RSS before it, MiB |')
    print('| --- | --- | --- |')
    results['memory'] = {}
    for cp in (False, True):
        total, growth = peak_rss_training(cp)
        print(f'| {cp} | {total:.0f} | {growth:.0f} |', flush=True)
        results['memory'][str(cp)] = (total, growth)


def plot(paths: List[Path], out: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    shown = sorted(paths, key=lambda p: p.ms)
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(shown) + 1.2))
    colours = ['tab:red' if p.name.startswith('RTMPose') else
               'tab:gray' if p.name.startswith("MMPose") else 'tab:blue' for p in shown]
    ax.barh([p.name for p in shown], [p.ms for p in shown], color=colours)
    for i, p in enumerate(shown):
        ax.text(p.ms, i, f' {p.ms:.1f}', va='center', fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel('ms per image (batch 1, 256x192, 2 threads, best median)')
    ax.set_title('Lite-HRNet-18 (ours: blue, MMPose: grey) and RTMPose (red) on this CPU',
                 fontsize=9)
    ax.tick_params(axis='y', labelsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--reps', type=int, default=30)
    parser.add_argument('--quick', action='store_true',
                        help='fewer models, no compiled paths (a smoke test)')
    parser.add_argument('--out', default=osp.join(ROOT, 'benchmarks', 'results'))
    parser.add_argument('--sections', nargs='+', default=SECTIONS, choices=SECTIONS,
                        help='the tables to measure (default: all)')
    parser.add_argument('--update', action='store_true',
                        help='keep the other sections of an existing results.json')
    parser.add_argument('--compile-seg', action=argparse.BooleanOptionalAction, default=True,
                        help='compiled and packaged rows for the segmentation model')
    parser.add_argument('--engine-tables', nargs='+', default=ENGINE_TABLES,
                        choices=ENGINE_TABLES, help='the engine section\'s tables')
    args = parser.parse_args(argv)
    import warnings
    warnings.filterwarnings('ignore')
    torch.manual_seed(0)
    os.makedirs(args.out, exist_ok=True)
    out = osp.join(args.out, 'results.json')
    results = {}
    if args.update and osp.isfile(out):
        with open(out) as f:
            results = json.load(f)

    def save():  # after each section, so that a long run stopped late keeps what it measured
        with open(out, 'w') as f:
            json.dump(results, f, indent=1)

    peak = matmul_gflops()
    results['machine' if 'main' in args.sections else 'machine_of_update'] = machine(peak)
    with tempfile.TemporaryDirectory() as workdir:
        if 'engine' in args.sections:
            engine_table(args, workdir, peak, results)
            save()
        if 'main' in args.sections:
            paths, reference, ours = main_table(args, workdir, peak, results)
            plot(paths, osp.join(args.out, 'latency.png'))
            save()
        if 'batch8' in args.sections:
            if 'main' not in args.sections:
                reference, ours, _ = pose_pair('Lite-HRNet-18')
            batch8_table(args, workdir, peak, results, reference, ours)
            save()
        if 'other' in args.sections:
            other_models_table(args, workdir, peak, results)
            save()
        if 'seg' in args.sections:
            segmentation_table(args, workdir, peak, results)
            save()
    if 'training' in args.sections:
        training_table(args, results)
        save()
    if 'memory' in args.sections:
        memory_table(results)
        save()
    print(f'\nwrote {out}' + (' and latency.png' if 'main' in args.sections else ''))
    return results


if __name__ == '__main__':
    main()
