"""What the benchmarks share: paths timed side by side in interleaved rounds (best median),
multiply-add counts, the eager, compiled, packaged and ONNX paths of a model, output checks and
the machine's description. Used by ``benchmarks/*.py``; the reference pair and randomized
weights are :mod:`litehrnet_mm.testing`'s.

Timings are only ever compared within one run (the machines these run on vary 3x): each
table's paths are timed in rounds, every path once per round, and a path's figure is its best
median over rounds.
"""
import copy
import os.path as osp
import platform
import statistics
import time
from functools import partial
from typing import Callable, Dict, List, Optional

import numpy as np
import torch

from .backends import (PackagedModel, build_package, compile_model, cpu_features, export_onnx,
                       runner)
from .builder import TensorModel, build_model
from .deploy import to_deploy_model
from .models import arch_to_extra
from .testing import randomize

__all__ = ['MMPOSE_POSE', 'HRNET_W32', 'RTMPOSE', 'POSE_MODELS', 'our_pose_config', 'pose_pair',
           'Path', 'median_ms', 'time_paths', 'matmul_gflops', 'mmpose_config',
           'multiply_adds', 'eager', 'onnx_paths', 'compiled_paths', 'check_equal',
           'print_table', 'machine', 'deployed_copy']


#: MMPose's configs (in its package), by their path under ``configs/``
MMPOSE_POSE = 'body_2d_keypoint/topdown_heatmap/coco/td-hm_{arch}_8xb{batch}-210e_coco-{size}.py'
HRNET_W32 = 'body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py'
RTMPOSE = 'body_2d_keypoint/rtmpose/coco/rtmpose-{v}_8xb256-420e_aic-coco-256x192.py'
#: the pose models the benchmarks compare: (config name part, batch in the config name, h, w)
POSE_MODELS = {
    'Lite-HRNet-18': ('litehrnet-18', 64, (256, 192)),
    'Lite-HRNet-30': ('litehrnet-30', 64, (256, 192)),
    'Naive Lite-HRNet-18': ('naive-litehrnet-18', 64, (256, 192)),
    'Lite-HRNet-18 384x288': ('litehrnet-18', 32, (384, 288)),
}


def our_pose_config(configs: str, name: str) -> str:
    """Our COCO config of ``name`` (a :data:`POSE_MODELS` key) under the folder ``configs``."""
    arch, batch, (h, w) = POSE_MODELS[name]
    return osp.join(configs, 'body_2d_keypoint', 'topdown_heatmap', 'coco',
                    f'td-hm_{arch}_8xb{batch}-210e_coco-{h}x{w}.py')


def pose_pair(name: str, configs: str):
    """MMPose's whole model of a variant (its own config; for naive-18, which MMPose ships no
    config for, ours with MMPose's backbone) and ours (from the folder ``configs``), with the
    same randomized weights, and an input of the model's size."""
    from mmengine.config import Config
    arch, batch, (h, w) = POSE_MODELS[name]
    ours_config = our_pose_config(configs, name)
    theirs = mmpose_config(MMPOSE_POSE.format(arch=arch, batch=batch, size=f'{h}x{w}'))
    if not osp.isfile(theirs):
        cfg = Config.fromfile(ours_config)
        cfg.model.backbone = dict(type='LiteHRNet', extra=arch_to_extra(cfg.model.backbone.arch))
        theirs = cfg
    reference = randomize(build_model(theirs))
    ours = build_model(ours_config)
    ours.load_state_dict(reference.state_dict(), strict=True)
    return reference, ours.eval(), torch.randn(1, 3, h, w)


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


def multiply_adds(model, x) -> float:
    """MMEngine's count (one multiply-add = 1, ops as executed)."""
    from mmengine.analysis import FlopAnalyzer
    analyzer = FlopAnalyzer(TensorModel(model), (x, ))
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return float(analyzer.total())


def eager(model, x) -> Callable[[], object]:
    """The whole model (``mode='tensor'``) in eager PyTorch, without autograd."""
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
    if dynamic:
        prefix = f'{prefix}, dynamic-size export'
    path = osp.join(workdir, f'{prefix}-{export_for}.onnx'.replace(' ', '_').replace(',', ''))
    export_onnx(copy.deepcopy(model), path, x.shape[2], x.shape[3], dynamic=dynamic,
                deploy=deploy, backend=export_for)
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


def deployed_copy(model, kernel: Optional[bool] = None):
    """A copy of ``model`` with its Lite-HRNet backbone in deploy form (``kernel=False``:
    oneDNN's depthwise convolutions instead of the hand-written kernel), in eval mode."""
    return to_deploy_model(copy.deepcopy(model), kernel=kernel).eval()


def compiled_paths(prefix: str, model, x, workdir: str, plain: bool = True,
                   dynamic_package: bool = True, onednn: bool = False) -> List[Path]:
    """``torch.compile`` of the deploy form (and the plain user path; ``onednn``: without
    the depthwise kernel), and AOTInductor packages for batch 1 and (``dynamic_package``)
    batch 1-16 (build and load timed)."""
    deployed = TensorModel(deployed_copy(model)).eval()
    paths = []
    variants = [('torch.compile (freezing, C++ wrapper)', lambda: compile_model(
        copy.deepcopy(deployed)))]
    if plain:
        variants.append(('switch_to_deploy + torch.compile (freezing)', lambda: compile_model(
            copy.deepcopy(deployed), cpp_wrapper=False)))
    if onednn:
        variants.append(('torch.compile (freezing, C++ wrapper), oneDNN depthwise',
                         lambda: compile_model(TensorModel(deployed_copy(model, False)))))
    for name, make in variants:
        compiled = make()
        t = time.perf_counter()
        compiled(x)  # traces here
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


def machine(peak: float) -> dict:
    """This machine's CPU, threads and library versions, printed and returned."""
    import onnxruntime
    try:
        import openvino
        ov = openvino.__version__
    except ImportError:
        ov = 'not installed'
    info = dict(cpu=cpu_features()['model'], threads=torch.get_num_threads(),
                torch=torch.__version__, onnxruntime=onnxruntime.__version__, openvino=ov,
                python=platform.python_version(), matmul_gflops=peak,
                isa=[f for f in cpu_features()['isa'] if f.startswith(('avx', 'amx'))],
                kernels_isa=torch.backends.cpu.get_cpu_capability())
    print('\n'.join(f'- {k}: {v}' for k, v in info.items()))
    return info
