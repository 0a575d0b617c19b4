"""Does post-training int8 make Lite-HRNet-18 faster on this CPU? Each quantization library
this project could use, timed beside fp32 in the same runtime on the same graph.

A probe for the int8 issue, not a product: it quantizes the deploy form of the whole pose model
(the published 256x192 config; ``--checkpoint`` for trained weights, random otherwise) with

- ``torchao``: PyTorch 2 export quantization, ``X86InductorQuantizer`` (per-channel weights,
  its default config), compiled by inductor with freezing and the C++ wrapper, against our
  compiled fp32 path;
- ``onnxruntime``: ``quantize_static`` on our ONNX export (QDQ, per-channel weights; all
  operators, and convolutions only), against the fp32 file in ONNX Runtime;
- ``nncf``: NNCF on our export in its OpenVINO form (all operators, and convolutions other
  than depthwise only), against that fp32 file in OpenVINO; both compiled for the input's
  shape.

Calibration: ``--calibration`` crops (default 30) of the bundled synthetic validation set
(``data/synthetic_pose``, made by the main job) through the config's own MMPose test pipeline
and data preprocessor; fidelity on ``--held-out`` further crops (default 20): the largest
heatmap difference relative to fp32's largest value, and the share of keypoints whose heatmap
maximum stays within one heatmap pixel of fp32's.

Every path is timed in ``--rounds`` interleaved rounds (median of ``--reps`` runs each,
best median kept), ``torch.get_num_threads()`` threads, at each ``--batch``.

    pip install -r requirements/int8-probe.txt     # torchao, nncf
    python benchmarks/int8_probe.py [--checkpoint CKPT] [--batch 1 8]
        [--libraries torchao onnxruntime nncf]
"""
import argparse
import collections
import copy
import importlib.util
import os.path as osp
import sys
import tempfile
import warnings

import numpy as np
import torch

from litehrnet_mm.backends import (compile_model, export_onnx, openvino_core, openvino_model,
                                   runner)
from litehrnet_mm.benchmarking import Path, our_pose_config, time_paths
from litehrnet_mm.builder import TensorModel, build_model
from litehrnet_mm.deploy import deploy_target, to_deploy_model
from litehrnet_mm.testing import randomize

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = our_pose_config(osp.join(ROOT, 'configs'), 'Lite-HRNet-18')
SYNTHETIC = osp.join(ROOT, 'configs', 'body_2d_keypoint', 'topdown_heatmap', 'synthetic',
                     'td-hm_litehrnet-18_1xb16-30e_synthetic-coco-128x96.py')
LIBRARIES = {'torchao': 'torchao', 'onnxruntime': 'onnxruntime', 'nncf': 'nncf'}
DEPTHWISE_NOTE = 'depthwise convolutions, elementwise weightings and resampling in float'


def crops(model, count: int) -> torch.Tensor:
    """``count`` normalised crops: synthetic validation boxes through ``CONFIG``'s test
    pipeline and the model's data preprocessor."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpose.registry import DATASETS
    cfg, synthetic = Config.fromfile(CONFIG), Config.fromfile(SYNTHETIC)
    dataset_cfg = copy.deepcopy(synthetic.val_dataloader.dataset)
    dataset_cfg.data_root = osp.join(ROOT, dataset_cfg.data_root)
    if not osp.isdir(dataset_cfg.data_root):
        sys.exit(f'{dataset_cfg.data_root} not found: make the synthetic data first '
                 f'(README: the main job)')
    dataset_cfg.pipeline = cfg.test_dataloader.dataset.pipeline
    init_default_scope('mmpose')
    dataset = DATASETS.build(dataset_cfg)
    if len(dataset) < count:
        sys.exit(f'the synthetic validation set has {len(dataset)} boxes, {count} asked for '
                 f'(--calibration + --held-out)')
    items = [dataset[i] for i in range(count)]
    with torch.no_grad():
        data = model.data_preprocessor(dict(inputs=[d['inputs'] for d in items],
                                            data_samples=[d['data_samples'] for d in items]))
    return data['inputs'].float().contiguous()


def summary(types) -> str:
    """'conv 12, mul 3': how many operations of each type the quantize-dequantize pairs
    feed."""
    counts = collections.Counter(types)
    return ', '.join(f'{t} {n}' for t, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def fidelity(fp32: np.ndarray, int8: np.ndarray) -> dict:
    """Largest heatmap difference relative to fp32's scale, and the share of keypoints whose
    heatmap maximum moved by at most one heatmap pixel."""
    n, k, h, w = fp32.shape
    a = np.stack(np.unravel_index(fp32.reshape(n, k, -1).argmax(-1), (h, w)), -1)
    b = np.stack(np.unravel_index(int8.reshape(n, k, -1).argmax(-1), (h, w)), -1)
    return dict(max_rel_diff=round(float(np.abs(fp32 - int8).max() / np.abs(fp32).max()), 3),
                within_1px=round(float((np.abs(a - b).max(-1) <= 1).mean()), 3))


def chunks(t: torch.Tensor, batch: int):
    """``t`` in batches of ``batch`` rows, the last one filled up from the start."""
    for i in range(0, len(t), batch):
        yield t[[(i + j) % len(t) for j in range(batch)]]


def run_all(run, t: torch.Tensor, batch: int) -> np.ndarray:
    outs = [np.asarray(run(c)) for c in chunks(t, batch)]
    return np.concatenate(outs)[:len(t)]


def _op_name(target) -> str:
    parts = str(target).split('.')  # aten.conv2d.default -> conv2d
    return parts[-2] if len(parts) >= 3 else getattr(target, '__name__', str(target))


def torchao_paths(deployed, calibration, x, held_out):
    """Exported and calibrated at ``x``'s batch size (the export specialises on it)."""
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from torchao.quantization.pt2e.quantizer import x86_inductor_quantizer as xiq

    batch = len(x)
    with torch.no_grad(), deploy_target(deployed, 'inductor'):
        exported = torch.export.export(deployed, (x, )).module()
        quantizer = xiq.X86InductorQuantizer()
        quantizer.set_global(xiq.get_default_x86_inductor_quantization_config())
        prepared = prepare_pt2e(exported, quantizer)
        for c in chunks(calibration, batch):
            prepared(c)
        quantized = convert_pt2e(prepared)
    taking = {u for n in quantized.graph.nodes if 'dequantize' in str(n.target) for u in n.users}
    ops = summary(_op_name(u.target) for u in taking)
    fp32, int8 = compile_model(copy.deepcopy(deployed)), compile_model(quantized)
    quality = fidelity(run_all(fp32, held_out, batch), run_all(int8, held_out, batch))
    return [Path('inductor fp32', lambda: fp32(x), runtime='inductor'),
            Path('inductor int8 (torchao X86InductorQuantizer)', lambda: int8(x),
                 runtime='inductor', quantized=ops, **quality)]


def onnxruntime_paths(path, workdir, calibration, x, held_out):
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                          quantize_static)
    name = onnx.load(path, load_external_data=False).graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{name: c} for c in calibration.numpy()[:, None]])

        def get_next(self):
            return next(self.items, None)

    threads = torch.get_num_threads()
    fp32 = runner('onnxruntime', path, threads)
    paths = [Path('ONNX Runtime fp32', lambda: fp32(x), runtime='onnxruntime')]
    reference = run_all(lambda c: fp32(c.numpy())[0], held_out, 1)
    for what, op_types in (('all operators', None), ('convolutions', ['Conv'])):
        out = osp.join(workdir, f'int8-{len(paths)}.onnx')
        quantize_static(path, out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=op_types)
        run = runner('onnxruntime', out, threads)
        graph = onnx.load(out).graph
        dequantized = {o for n in graph.node if n.op_type == 'DequantizeLinear' for o in n.output}
        fed = summary(n.op_type for n in graph.node
                      if n.op_type != 'QuantizeLinear' and dequantized & set(n.input))
        paths.append(Path(f'ONNX Runtime int8 (quantize_static, {what})', _bind(run, x),
                          runtime='onnxruntime', quantized=fed, **fidelity(
                              reference, run_all(lambda c: run(c.numpy())[0], held_out, 1))))
    return paths


def nncf_paths(path, calibration, x, held_out):
    import nncf
    threads = torch.get_num_threads()
    model = openvino_core().read_model(path)
    model.reshape([1, *x.shape[1:]])

    def compiled(m):
        by_batch = {}

        def run(batch):
            if batch.shape[0] not in by_batch:
                request = openvino_model(m, threads, 'f32', batch.shape).create_infer_request()
                by_batch[batch.shape[0]] = request
            request = by_batch[batch.shape[0]]
            request.infer({0: batch})
            return request.get_output_tensor(0).data.copy()
        return run

    fp32 = compiled(model)
    reference = run_all(lambda c: fp32(c.numpy()), held_out, 1)
    paths = [Path('OpenVINO fp32', _bind(fp32, x), runtime='openvino')]
    dataset = nncf.Dataset([c[None] for c in calibration.numpy()])
    kept = ['Multiply', 'Add', 'MatMul', 'Interpolate', 'Concat', 'GroupConvolution']
    for name, ignored in (('all operators', None),
                          (f'convolutions; {DEPTHWISE_NOTE}', nncf.IgnoredScope(types=kept))):
        kwargs = dict(ignored_scope=ignored) if ignored else {}
        quantized = nncf.quantize(model, dataset, subset_size=len(calibration), **kwargs)
        taking = {t.get_node().get_friendly_name(): t.get_node().get_type_name()
                  for op in quantized.get_ops() if op.get_type_name() == 'FakeQuantize'
                  for t in op.output(0).get_target_inputs()}
        ops = summary(kind for kind in taking.values() if kind != 'FakeQuantize')
        int8 = compiled(quantized)
        paths.append(Path(f'OpenVINO int8 (NNCF, {name})', _bind(int8, x), runtime='openvino',
                          quantized=ops,
                          **fidelity(reference, run_all(lambda c: int8(c.numpy()), held_out,
                                                        1))))
    return paths


def _bind(run, x):
    return lambda: run(x)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--checkpoint', help='trained weights (default: random)')
    parser.add_argument('--batch', type=int, nargs='+', default=[1])
    parser.add_argument('--libraries', nargs='+', default=list(LIBRARIES), choices=LIBRARIES)
    parser.add_argument('--calibration', type=int, default=30)
    parser.add_argument('--held-out', type=int, default=20)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--reps', type=int, default=30)
    args = parser.parse_args(argv)
    for library in args.libraries:
        if importlib.util.find_spec(library) is None:
            sys.exit(f'{library} is not installed: pip install -r requirements/int8-probe.txt')
    if min(args.batch) < 1 or args.calibration < 1 or args.held_out < 1:
        sys.exit('--batch, --calibration and --held-out must be at least 1')
    warnings.filterwarnings('ignore')
    model = build_model(CONFIG, args.checkpoint).eval()
    if args.checkpoint is None:
        randomize(model)
    data = crops(model, args.calibration + args.held_out)
    calibration, held_out = data[:args.calibration], data[args.calibration:]
    deployed = TensorModel(to_deploy_model(copy.deepcopy(model))).eval()
    print(f'Lite-HRNet-18 256x192, {torch.get_num_threads()} threads, weights: '
          f'{args.checkpoint or "random"}; calibration {len(calibration)} crops, fidelity on '
          f'{len(held_out)}')
    with tempfile.TemporaryDirectory() as workdir:
        path = export_onnx(copy.deepcopy(model), osp.join(workdir, 'pose.onnx'), 256, 192)
        ov_path = export_onnx(copy.deepcopy(model), osp.join(workdir, 'pose-openvino.onnx'),
                              256, 192, runtime='openvino')
        for batch in args.batch:
            x = held_out[:1].repeat(batch, 1, 1, 1)
            paths = []
            if 'torchao' in args.libraries:
                paths += torchao_paths(deployed, calibration, x, held_out)
            if 'onnxruntime' in args.libraries:
                paths += onnxruntime_paths(path, workdir, calibration, x.numpy(), held_out)
            if 'nncf' in args.libraries:
                paths += nncf_paths(ov_path, calibration, x.numpy(), held_out)
            time_paths(paths, args.rounds, args.reps)
            fp32 = {p.info['runtime']: p.ms for p in paths if p.name.endswith('fp32')}
            print(f'\n#### batch {batch}\n')
            print('| path | ms | int8 speed-up over fp32 in the same runtime | largest heatmap '
                  'difference / fp32 scale | keypoints within 1 heatmap px of fp32 | operations '
                  'fed by quantize-dequantize pairs |')
            print('| --- | --- | --- | --- | --- | --- |')
            for p in paths:
                ratio = fp32[p.info['runtime']] / p.ms
                print(f'| {p.name} | {p.ms:.2f} | '
                      f'{"" if p.name.endswith("fp32") else f"{ratio:.2f}x"} | '
                      f'{p.info.get("max_rel_diff", "")} | {p.info.get("within_1px", "")} | '
                      f'{p.info.get("quantized", "")} |')


if __name__ == '__main__':
    main()
