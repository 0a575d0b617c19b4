"""Export a pose or segmentation model built from one of our configs to ONNX.

    python tools/export_onnx.py CONFIG (--checkpoint CKPT | --random-weights) --out model.onnx
        [--shape H W] [--dynamic] [--backend onnxruntime|openvino] [--verify]

The graph: normalised image (N, 3, H, W) -> heatmaps (pose) or logits (segmentation), as
``model(x, mode='tensor')``, from the backbone's deploy form. The checkpoint loads strictly (a
missing, unexpected or reshaped key is an error naming it); without one the tool refuses to
run unless ``--random-weights`` asks for the untrained model explicitly. The batch is always
free; ``--dynamic`` frees height and width too (sizes divisible by 32). ``--backend`` (or
``--runtime``, its older name) writes the channel shuffle in the form that backend runs
fastest. ``--verify`` runs the file in that backend and compares it with the PyTorch model
(the training form). The file records what it was built from (config, checkpoint and
weights sha256, size, torch and runtime versions: ``litehrnet_mm.inference.read_record``);
``OUT.sha256`` beside it holds its sha256, which ``artefact=OUT`` checks.
Exporter: torch.onnx.export with dynamo=True (torch.export based, needs onnxscript), opset 18.
"""
import argparse
import copy
import sys

import numpy as np
import torch


def verify(model, path, shapes, rtol=1e-3, atol=1e-5, backend='onnxruntime'):
    """Compare the ONNX backend ``backend`` on the file with PyTorch's ``model`` over
    ``shapes`` (raises if they differ)."""
    from litehrnet_mm.backends import runner
    from litehrnet_mm.builder import TensorModel
    run = runner(backend, path)
    wrapped = TensorModel(model).eval()
    for shape in shapes:
        x = torch.randn(*shape)
        with torch.no_grad():
            expected = wrapped(x).numpy()
        actual = run(x.numpy())[0]
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol,
                                   err_msg=f'{backend} differs from PyTorch at {shape}')
        print(f'verified {tuple(shape)} -> {actual.shape} in {backend}')


def main(argv=None):
    from litehrnet_mm.backends import check_export_shape, export_onnx, onnx_backends
    from litehrnet_mm.builder import build_model
    from litehrnet_mm.cli import (UsageError, add_model_arguments, config_from_arguments,
                                  record_of_arguments)
    from litehrnet_mm.inference.artefacts import write_sidecar
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument('--dynamic', action='store_true')
    parser.add_argument('--backend', '--runtime', dest='backend', choices=onnx_backends(),
                        default='onnxruntime',
                        help='the backend the graph is written for (both run either file; '
                        '--runtime is its older name)')
    parser.add_argument('--verify', action='store_true')
    args = parser.parse_args(argv)
    try:
        cfg = config_from_arguments(args)
    except UsageError as e:
        sys.exit(str(e))
    h, w = args.shape
    check_export_shape(h, w, args.dynamic)  # before building anything
    model = build_model(cfg, args.checkpoint)
    reference = copy.deepcopy(model) if args.verify else None  # the training form
    record = record_of_arguments(args, model, args.backend, h, w, dynamic=args.dynamic)
    export_onnx(model, args.out, h, w, dynamic=args.dynamic, backend=args.backend,
                metadata=record)
    sidecar = write_sidecar(args.out)  # its sha256: artefact= checks it
    print(f'wrote {args.out} ({"dynamic batch/height/width" if args.dynamic else f"{h}x{w}"}) '
          f'and {sidecar}')
    if args.verify:
        shapes = [(1, 3, h, w)]
        if args.dynamic:
            shapes += [(2, 3, h + 32, w), (1, 3, h, w + 64)]  # other sizes, same file
        verify(reference, args.out, shapes, backend=args.backend)


if __name__ == '__main__':
    main()
