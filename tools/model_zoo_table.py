"""Parameters and FLOPs of every pose config, as a Markdown table (the README's model zoo).

Two FLOPs conventions are printed, both counted on the config's input size:
- "MMEngine": ``mmengine.analysis.get_model_complexity_info`` (what MMPose's
  ``tools/analysis_tools/get_flops.py`` prints): one multiply-add = 1 FLOP, over the ops that a
  forward executes, so the fuse path that the reference runs twice is counted twice;
- "conv MACs": multiply-adds of every convolution (and the 1x1 keypoint head), each conv module
  counted once, in millions (10^6). The paper's published figures add BN and ReLU and divide by
  2^20, so neither matches them exactly (see the README).

    python tools/model_zoo_table.py [CONFIG ...]

Without arguments: every config of configs/*_2d_keypoint/ but the synthetic ones (bodies,
faces, hands, whole bodies, animals).
"""
import glob
import os.path as osp
import sys

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def conv_macs_once(model, inputs):
    """Multiply-adds of the convolutions, each module counted once (at its first call)."""
    seen = {}

    def hook(module, args, output):
        if module not in seen:
            k = module.kernel_size[0] * module.kernel_size[1]
            seen[module] = output.numel() * k * module.in_channels // module.groups
    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model(inputs)
    for h in handles:
        h.remove()
    return sum(seen.values())


def measure(config_path):
    from mmengine.analysis import get_model_complexity_info

    from litehrnet_mm.builder import TensorModel, build_model, load_config
    cfg = load_config(config_path)
    model = build_model(cfg)
    w, h = cfg.codec.input_size
    x = torch.randn(1, 3, h, w)
    wrapped = TensorModel(model)
    info = get_model_complexity_info(wrapped, inputs=(x, ), show_table=False, show_arch=False)
    return dict(params=sum(p.numel() for p in model.parameters()), flops=info['flops'],
                macs=conv_macs_once(wrapped, x), size=f'{h}x{w}')


def main(argv=None):
    configs = (argv if argv is not None else sys.argv[1:]) or sorted(
        p for p in glob.glob(osp.join(ROOT, 'configs', '*_2d_keypoint', '**', '*.py'),
                             recursive=True) if '/synthetic/' not in p)
    print('| config | input | params | FLOPs (MMEngine) | conv MACs, each once |')
    print('| --- | --- | --- | --- | --- |')
    rows = []
    for path in configs:
        r = measure(path)
        rows.append(r)
        print(f"| `{osp.relpath(path, ROOT)}` | {r['size']} | {r['params']:,} | "
              f"{r['flops'] / 1e6:.1f} M | {r['macs'] / 1e6:.1f} M |", flush=True)
    return rows


if __name__ == '__main__':
    main()
