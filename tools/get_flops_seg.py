"""FLOPs and parameters of a segmentation config, as MMSeg's ``get_flops.py`` computes them.

MMSeg 1.2.2's ``tools/analysis_tools/get_flops.py`` passes both ``input_shape`` and ``inputs`` to
``mmengine.analysis.get_model_complexity_info``, which MMEngine 0.10.7 refuses ("cannot be both
set"), for every model, MMSeg's own included; it also reads ``decode_head.type``, which a cascade
(OCRNet) does not have. This script does what that one means to do: build the model, revert
SyncBN, run the data preprocessor on a random image of the given size, and count with
MMEngine's counter (one multiply-add = 1 FLOP, ops as executed).

    python tools/get_flops_seg.py CONFIG --shape 512 1024
"""
import argparse

import torch


def get_flops(config, shape):
    from mmengine.analysis import get_model_complexity_info
    from mmengine.model import revert_sync_batchnorm
    from mmseg.structures import SegDataSample

    from litehrnet_mm.builder import build_model
    model = revert_sync_batchnorm(build_model(config))
    if hasattr(model, 'auxiliary_head'):
        model.auxiliary_head = None
    model.eval()
    input_shape = (3, *shape)
    meta = dict(ori_shape=tuple(shape), pad_shape=tuple(shape))
    data = model.data_preprocessor(
        dict(inputs=[torch.rand(input_shape)], data_samples=[SegDataSample(metainfo=meta)]))
    info = get_model_complexity_info(model, inputs=data['inputs'], show_table=False,
                                     show_arch=False)
    return info['flops'], info['params']


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, default=[512, 1024], metavar=('H', 'W'))
    args = parser.parse_args(argv)
    from litehrnet_mm.models.backbones.arch import MIN_INPUT_SIZE
    if min(args.shape) < MIN_INPUT_SIZE:
        raise SystemExit(f'--shape {args.shape}: Lite-HRNet needs at least '
                         f'{MIN_INPUT_SIZE}x{MIN_INPUT_SIZE}')
    flops, params = get_flops(args.config, args.shape)
    print(f'Input shape: {tuple(args.shape)}\nFlops: {flops / 1e9:.3f} G\n'
          f'Params: {params / 1e6:.3f} M ({params:,})')
    return flops, params


if __name__ == '__main__':
    main()
