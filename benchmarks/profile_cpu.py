"""Where the batch-1 time of Lite-HRNet-18 (256x192, whole pose model) goes on this CPU, per
path, next to RTMPose-t: what still separates them.

- eager: torch.profiler's operator table (MMPose's model, and our deploy form);
- compiled: torch.profiler over the compiled deploy form, with inductor's generated C++
  kernels recorded (``cpp.enable_kernel_profile``), grouped into the depthwise kernel,
  convolutions (oneDNN), matrix products (MKL) and generated kernels;
- ONNX Runtime: its own profiler (``enable_profiling``), time per operator type, for our
  export, MMPose's and RTMPose-t's.

    python benchmarks/profile_cpu.py [--runs 20] [--rows 10] [--paths eager compiled onnxruntime]
"""
import argparse
import collections
import copy
import json
import os
import tempfile

import numpy as np
import torch

from litehrnet_mm.backends import compile_model, export_onnx
from litehrnet_mm.benchmarking import RTMPOSE, deployed_copy, eager, mmpose_config, pose_pair
from litehrnet_mm.builder import TensorModel, build_model

CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'configs')


def print_rows(title, rows, runs, limit):
    """rows: {name: (total microseconds, calls)} over ``runs`` forwards."""
    total = sum(t for t, _ in rows.values())
    print(f'\n#### {title}\n')
    print('| op | calls per forward | ms per forward | share |')
    print('| --- | --- | --- | --- |')
    for name, (t, n) in sorted(rows.items(), key=lambda kv: -kv[1][0])[:limit]:
        print(f'| {name} | {n / runs:.0f} | {t / runs / 1e3:.2f} | {100 * t / total:.0f} % |')
    print(f'| all | {sum(n for _, n in rows.values()) / runs:.0f} | {total / runs / 1e3:.2f} '
          f'| 100 % |')


def torch_rows(fn, runs, group=None):
    for _ in range(3):
        fn()
    with torch.profiler.profile() as prof:
        for _ in range(runs):
            fn()
    rows = collections.defaultdict(lambda: [0.0, 0])
    for e in prof.key_averages():
        if e.key.startswith(('## Call CompiledFxGraph', 'Torch-Compiled Region',
                             'TorchDynamo', 'AOTDispatcher', 'Pregraph')):
            name = 'Python and dynamo wrapper (self time)'
        else:
            name = group(e.key) if group else e.key
        rows[name][0] += e.self_cpu_time_total
        rows[name][1] += e.count
    return rows


def compiled_group(key):
    if key.startswith('mkldnn::_convolution'):
        return 'oneDNN convolutions (the stem\'s 3x3, the head\'s 1x1)'
    if key.startswith('litehrnet_mm::'):
        return 'depthwise 3x3 kernel (litehrnet_mm::depthwise3x3)'
    if key.startswith(('mkl::', 'aten::addmm', 'aten::mm', 'mkldnn::_linear')):
        return 'MKL matrix products (1x1 convolutions, SE, CRW)'
    if key.startswith('graph_'):
        return 'generated C++ kernels (elementwise, pooling, shuffles, upsampling)'
    return key


def onnxruntime_rows(path, x, runs):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.enable_profiling = True
    with tempfile.TemporaryDirectory() as d:
        options.profile_file_prefix = os.path.join(d, 'ort')
        session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        name = session.get_inputs()[0].name
        for _ in range(runs + 3):
            session.run(None, {name: x})
        with open(session.end_profiling()) as f:
            events = json.load(f)
    rows = collections.defaultdict(lambda: [0.0, 0])
    for e in events:
        if e.get('cat') == 'Node' and e['name'].endswith('_kernel_time'):
            rows[e['args']['op_name']][0] += e['dur'] * runs / (runs + 3)
            rows[e['args']['op_name']][1] += 1
    return {k: (t, n * runs // (runs + 3)) for k, (t, n) in rows.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--rows', type=int, default=10)
    parser.add_argument('--paths', nargs='+', default=['eager', 'compiled', 'onnxruntime'])
    args = parser.parse_args(argv)
    import warnings
    warnings.filterwarnings('ignore')
    reference, ours, x = pose_pair('Lite-HRNet-18', CONFIGS)
    if 'eager' in args.paths:
        print_rows("MMPose's Lite-HRNet-18, eager", torch_rows(eager(reference, x), args.runs),
                   args.runs, args.rows)
        print_rows('ours, deploy form, eager', torch_rows(eager(deployed_copy(ours), x),
                                                          args.runs), args.runs, args.rows)
    if 'compiled' in args.paths:
        import torch._inductor.config as inductor_config
        inductor_config.cpp.enable_kernel_profile = True
        compiled = compile_model(TensorModel(deployed_copy(ours)), cpp_wrapper=False)

        def run():
            with torch.no_grad():
                return compiled(x)
        print_rows('ours, deploy form, torch.compile (freezing; Python wrapper kept so that '
                   'the profiler sees each call)', torch_rows(run, args.runs, compiled_group),
                   args.runs, args.rows)
    if 'onnxruntime' in args.paths:
        rtm = build_model(mmpose_config(RTMPOSE.format(v='t')))
        with tempfile.TemporaryDirectory() as d:
            for title, model, deploy in (('ours', ours, True),
                                         ("MMPose's Lite-HRNet-18", reference, False),
                                         ('RTMPose-t', rtm, False)):
                path = export_onnx(copy.deepcopy(model), os.path.join(d, 'm.onnx'), 256, 192,
                                   deploy=deploy)
                print_rows(f'{title}, ONNX Runtime',
                           onnxruntime_rows(path, x.numpy().astype(np.float32), args.runs),
                           args.runs, args.rows)


if __name__ == '__main__':
    main()
