"""Lite-HRNet on this CPU, next to MMPose's Lite-HRNet and RTMPose, in every runtime.

Everything is measured side by side in one process: each table's paths are timed in
interleaved rounds (``--rounds``, default 3), each round takes the median of ``--reps`` runs
of every path, and a path's figure is its best median. Ratios are to MMPose's eager model in
the same table. Whole pose models (backbone and head, random weights, the same weights for
MMPose's Lite-HRNet and ours), batch 1, ``torch.get_num_threads()`` threads (2 here), fp32
unless a row says otherwise.

Tables:
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
        [--out benchmarks/results] [--sections main batch8 other seg training memory]
        [--update] [--no-compile-seg]

Needs the benchmark extras: ``pip install -r requirements/benchmark.txt`` (OpenVINO,
matplotlib). Writes ``results.json`` and ``latency.png`` into ``--out`` and prints Markdown.
"""
import argparse
import contextlib
import copy
import json
import os
import os.path as osp
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
OUR_POSE = osp.join(ROOT, 'configs', 'body_2d_keypoint', 'topdown_heatmap', 'coco',
                    'td-hm_{arch}_8xb{batch}-210e_coco-{size}.py')
OUR_SEG = osp.join(ROOT, 'configs', 'segmentation', 'cityscapes',
                   'fcn_litehrnet-18_8xb2-160k_cityscapes-512x1024.py')
MMPOSE_POSE = 'body_2d_keypoint/topdown_heatmap/coco/td-hm_{arch}_8xb{batch}-210e_coco-{size}.py'
HRNET_W32 = 'body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py'
RTMPOSE = 'body_2d_keypoint/rtmpose/coco/rtmpose-{v}_8xb256-420e_aic-coco-256x192.py'
POSE_MODELS = {  # name: (our arch, config name part, batch in the config name, input h, w)
    'Lite-HRNet-18': ('litehrnet-18', 64, (256, 192)),
    'Lite-HRNet-30': ('litehrnet-30', 64, (256, 192)),
    'Naive Lite-HRNet-18': ('naive-litehrnet-18', 64, (256, 192)),
    'Lite-HRNet-18 384x288': ('litehrnet-18', 32, (384, 288)),
}

SECTIONS = ['main', 'batch8', 'other', 'seg', 'training', 'memory']


class Path:
    """One way of running one model: a callable, its timings and what else is known."""

    def __init__(self, name: str, fn: Callable[[], object], **info):
        self.name, self.fn, self.info, self.medians = name, fn, info, []

    @property
    def ms(self) -> float:
        return min(self.medians)


def median_ms(fn: Callable[[], object], reps: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def time_paths(paths: List[Path], rounds: int, reps: int) -> None:
    """Interleaved rounds: every path once per round, best median over rounds."""
    for _ in range(rounds):
        for p in paths:
            p.medians.append(median_ms(p.fn, reps))


def matmul_gflops(n: int = 2048, reps: int = 10) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / (median_ms(lambda: a @ b, reps) * 1e-3) / 1e9


def mmpose_config(name: str) -> str:
    import mmpose
    return osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs', name)


def build(config: str):
    from litehrnet_mm.apis import build_model
    return build_model(config)


def randomized(model):
    """Non-trivial weights (see tests/helpers.py), so that outputs can be compared."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                p.copy_(torch.randn(p.shape, generator=g) * (1.0 / p[0].numel())**0.5)
            elif name.endswith('weight'):
                p.copy_(torch.rand(p.shape, generator=g) * 0.5 + 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    return model


def multiply_adds(model, x) -> float:
    """MMEngine's count (one multiply-add = 1, ops as executed)."""
    from mmengine.analysis import FlopAnalyzer

    from litehrnet_mm.apis import TensorModel
    analyzer = FlopAnalyzer(TensorModel(model), (x, ))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return float(analyzer.total())


@contextlib.contextmanager
def onednn_depthwise():
    """The deploy form without the hand-written depthwise kernel (``LITEHRNET_MM_KERNELS=0``):
    oneDNN's convolutions, as before the kernel."""
    from litehrnet_mm.deploy.kernels import ENV_SWITCH
    previous = os.environ.get(ENV_SWITCH)
    os.environ[ENV_SWITCH] = '0'
    try:
        yield
    finally:
        if previous is None:
            del os.environ[ENV_SWITCH]
        else:
            os.environ[ENV_SWITCH] = previous


def without_kernel(fn: Callable[[], object]) -> Callable[[], object]:
    def run():
        with onednn_depthwise():
            return fn()
    return run


def eager(model, x) -> Callable[[], object]:
    from litehrnet_mm.apis import TensorModel
    wrapped = TensorModel(model).eval()

    def run():
        with torch.inference_mode():
            return wrapped(x)
    return run


def onnx_paths(prefix: str, model, x, workdir: str, dynamic: bool = False,
               deploy: bool = True, bf16: bool = False, export_for: str = 'onnxruntime',
               runtimes=('onnxruntime', 'openvino'), free_axes: bool = False) -> List[Path]:
    """Export ``model`` (a copy; ``export_for`` picks our graph's form) and run the file in
    ``runtimes`` (OpenVINO compiled for the input's shape, as the runner does by default);
    ``bf16`` adds OpenVINO with the bf16 precision hint, ``free_axes`` OpenVINO compiled
    with the file's free axes."""
    import onnx

    from litehrnet_mm.deploy import export_onnx, runner
    if dynamic:
        prefix = f'{prefix}, dynamic-size export'
    path = osp.join(workdir, f'{prefix}-{export_for}.onnx'.replace(' ', '_').replace(',', ''))
    export_onnx(copy.deepcopy(model), path, x.shape[2], x.shape[3], dynamic=dynamic,
                deploy=deploy, runtime=export_for)
    graph = onnx.load(path).graph
    info = dict(nodes=len(graph.node), convs=sum(n.op_type == 'Conv' for n in graph.node))
    xn = x.numpy()
    threads = torch.get_num_threads()
    names = {'onnxruntime': 'ONNX Runtime', 'openvino': 'OpenVINO'}
    paths = [Path(f'{prefix}, {names[r]}', _bind(runner(r, path, threads), xn), **info)
             for r in runtimes]
    if bf16:
        run = runner('openvino', path, threads, precision='bf16')
        reference = runner('openvino', path, threads)(xn)[0]
        diff = float(np.abs(run(xn)[0] - reference).max())
        paths.append(Path(f'{prefix}, OpenVINO bf16', _bind(run, xn), max_abs_diff=diff,
                          max_abs_output=float(np.abs(reference).max()), **info))
    if free_axes:
        run = runner('openvino', path, threads, static_shapes=False)
        paths.append(Path(f'{prefix}, OpenVINO, free axes', _bind(run, xn), **info))
    return paths


def _bind(run, x):
    return lambda: run(x)


def compiled_paths(prefix: str, model, x, workdir: str, plain: bool = True,
                   dynamic_package: bool = True, onednn: bool = False) -> List[Path]:
    """``torch.compile`` of the deploy form (and the plain user path; ``onednn``: without
    the depthwise kernel), and AOTInductor packages for batch 1 and (``dynamic_package``)
    batch 1-16 (build and load timed)."""
    from litehrnet_mm.apis import TensorModel
    from litehrnet_mm.deploy import PackagedModel, build_package, compile_model
    from litehrnet_mm.deploy import to_deploy_model
    deployed = TensorModel(to_deploy_model(copy.deepcopy(model))).eval()
    paths = []
    variants = [('torch.compile (freezing, C++ wrapper)', lambda m: compile_model(m), True)]
    if plain:
        variants.append(('switch_to_deploy + torch.compile (freezing)',
                         lambda m: compile_model(m, cpp_wrapper=False), True))
    if onednn:
        variants.append(('torch.compile (freezing, C++ wrapper), oneDNN depthwise',
                         lambda m: compile_model(m), False))
    for name, make, kernel in variants:
        compiled = make(copy.deepcopy(deployed))
        t = time.perf_counter()
        with contextlib.nullcontext() if kernel else onednn_depthwise():
            compiled(x)  # traces (and decides on the kernel) here
        paths.append(Path(f'{prefix}, {name}', partial(compiled, x),
                          compile_s=time.perf_counter() - t))
    for max_batch in sorted({1, max(16, x.shape[0])}):
        if max_batch < x.shape[0] or (max_batch > 1 and not dynamic_package):
            continue
        path = osp.join(workdir, f'{prefix}_{max_batch}.pt2'.replace(' ', '_'))
        t = time.perf_counter()
        build_package(deployed, path, x.shape[2], x.shape[3], max_batch=max_batch)
        build_s = time.perf_counter() - t
        t = time.perf_counter()
        package = PackagedModel(path)
        load_s = time.perf_counter() - t
        batches = 'batch 1' if max_batch == 1 else f'batch 1-{max_batch}'
        paths.append(Path(f'{prefix}, AOTInductor package ({batches})', partial(package, x),
                          compile_s=build_s, load_s=load_s))
    return paths


def pose_pair(name: str):
    """MMPose's whole model of a variant (its own config; for naive-18, which MMPose ships no
    config for, ours with MMPose's backbone) and ours, with the same weights."""
    from mmengine.config import Config

    from litehrnet_mm.models import arch_to_extra
    arch, batch, (h, w) = POSE_MODELS[name]
    size = f'{h}x{w}'
    ours_config = OUR_POSE.format(arch=arch, batch=batch, size=size)
    theirs = mmpose_config(MMPOSE_POSE.format(arch=arch, batch=batch, size=size))
    if not osp.isfile(theirs):
        cfg = Config.fromfile(ours_config)
        variant = cfg.model.backbone.arch
        cfg.model.backbone = dict(type='LiteHRNet', extra=arch_to_extra(variant))
        theirs = cfg
    reference = randomized(build(theirs))
    ours = build(ours_config)
    ours.load_state_dict(reference.state_dict(), strict=True)
    return reference, ours.eval(), torch.randn(1, 3, h, w)


def check_equal(a, b, what: str) -> float:
    """Largest difference between two models' outputs relative to their scale."""
    ya, yb = a(), b()
    ya = ya if isinstance(ya, torch.Tensor) else torch.as_tensor(np.asarray(ya[0]))
    yb = yb if isinstance(yb, torch.Tensor) else torch.as_tensor(np.asarray(yb[0]))
    rel = float((ya - yb).abs().max() / ya.abs().max())
    if rel > 1e-4:
        raise AssertionError(f'{what}: outputs differ by {rel:.2e} of their scale')
    return rel


def print_table(title: str, paths: List[Path], base: Path, peak: float,
                flops: Optional[Dict[str, float]] = None) -> None:
    print(f'\n### {title}\n')
    print('| path | ms | vs ' + base.name + ' | GFLOP/s | share of matmul peak | notes |')
    print('| --- | --- | --- | --- | --- | --- |')
    for p in paths:
        f = (flops or {}).get(p.info.get('model', ''))
        rate = f'{f / (p.ms * 1e-3) / 1e9:.1f}' if f else ''
        share = f'{100 * f / (p.ms * 1e-3) / 1e9 / peak:.1f} %' if f else ''
        notes = ', '.join(f'{k} {v:.1f}' if isinstance(v, float) else f'{k} {v}'
                          for k, v in p.info.items() if k != 'model')
        print(f'| {p.name} | {p.ms:.2f} | {base.ms / p.ms:.2f}x | {rate} | {share} | '
              f'{notes} |', flush=True)


def main_table(args, workdir, peak, results):
    reference, ours, x = pose_pair('Lite-HRNet-18')
    flops = {'litehrnet': 2 * multiply_adds(reference, x)}
    base = Path("MMPose's Lite-HRNet-18, eager", eager(reference, x), model='litehrnet')
    training = Path('ours, training form, eager', eager(ours, x), model='litehrnet')
    deployed = to_deployed(ours)
    paths = [base, training, Path('ours, deploy form, eager', eager(deployed, x),
                                  model='litehrnet'),
             Path('ours, deploy form, eager, oneDNN depthwise',
                  without_kernel(eager(deployed, x)), model='litehrnet')]
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


def to_deployed(model):
    from litehrnet_mm.deploy import to_deploy_model
    return to_deploy_model(copy.deepcopy(model)).eval()


def batch8_table(args, workdir, peak, results, reference, ours):
    x = torch.randn(8, 3, 256, 192)
    base = Path("MMPose's Lite-HRNet-18, eager", eager(reference, x))
    paths = [base, Path('ours, deploy form, eager', eager(to_deployed(ours), x))]
    if not args.quick:
        paths += [p for p in compiled_paths('ours', ours, x, workdir, plain=False)]
    from litehrnet_mm.deploy import runner
    for name, model, deploy in (("MMPose's Lite-HRNet-18", reference, False),
                                ('ours', ours, True)):
        path = osp.join(workdir, f'{name}_b8.onnx'.replace(' ', '_').replace("'", ''))
        from litehrnet_mm.deploy import export_onnx
        export_onnx(copy.deepcopy(model), path, 256, 192, deploy=deploy)
        paths.append(Path(f'{name}, ONNX Runtime',
                          _bind(runner('onnxruntime', path, torch.get_num_threads()),
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
    seg = randomized(build(OUR_SEG))
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
    from litehrnet_mm.apis import mmpose_and_ours
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


def machine(peak: float) -> dict:
    from litehrnet_mm.deploy import cpu_features
    import onnxruntime
    try:
        import openvino
        ov = openvino.__version__
    except ImportError:
        ov = 'not installed'
    info = dict(cpu=cpu_features()['model'], threads=torch.get_num_threads(),
                torch=torch.__version__, onnxruntime=onnxruntime.__version__, openvino=ov,
                python=platform.python_version(), matmul_gflops=peak,
                isa=[f for f in cpu_features()['isa'] if f.startswith(('avx512', 'amx'))])
    print('\n'.join(f'- {k}: {v}' for k, v in info.items()))
    return info


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
