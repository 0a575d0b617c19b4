"""Build an AOTInductor package of a pose or segmentation model from one of our configs: the
compiled deploy form, which loads in milliseconds without compiling.

    python tools/build_package.py CONFIG --checkpoint CKPT --out model.pt2
        [--shape H W] [--max-batch 64] [--no-autotune]

The package takes (N, 3, H, W) float32 images, normalised as the model's data preprocessor
does, for N from 1 to ``--max-batch``, and returns what ``model(x, mode='tensor')`` returns.
It records the input size, the config, the checkpoint's sha256 (of the file and of the
weights), torch and the CPU it was built for (``litehrnet_mm.inference.artefacts``);
``litehrnet_mm.backends.PackagedModel`` refuses anything else. ``OUT.sha256`` beside it
holds its sha256, which ``artefact=OUT`` checks. The build autotunes its matrix products
(inductor's max-autotune with the C++ GEMM template; ``--no-autotune`` or
``LITEHRNET_MM_AUTOTUNE=0``: about 2.3x quicker to build, slower to run). Without
``--checkpoint`` it refuses to build unless ``--random-weights`` is given.
"""
import argparse
import sys
import time


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    from litehrnet_mm.backends import build_package
    from litehrnet_mm.builder import TensorModel, build_model
    from litehrnet_mm.cli import (UsageError, add_model_arguments, config_from_arguments,
                                  record_of_arguments)
    from litehrnet_mm.deploy import to_deploy_model
    from litehrnet_mm.inference.artefacts import write_sidecar
    add_model_arguments(parser)
    parser.add_argument('--max-batch', type=int, default=64)
    parser.add_argument('--no-autotune', action='store_true',
                        help='build without inductor max-autotune (quicker build, slower '
                        'package); default: $LITEHRNET_MM_AUTOTUNE, on when unset')
    args = parser.parse_args(argv)
    if args.max_batch < 1:
        sys.exit(f'--max-batch must be at least 1, got {args.max_batch}')
    try:
        cfg = config_from_arguments(args)
    except UsageError as e:
        sys.exit(str(e))
    h, w = args.shape
    model = build_model(cfg, args.checkpoint)
    meta = record_of_arguments(args, model, 'compiled', h, w, max_batch=args.max_batch)
    to_deploy_model(model)
    start = time.perf_counter()
    build_package(TensorModel(model), args.out, h, w, max_batch=args.max_batch, metadata=meta,
                  autotune=False if args.no_autotune else None)
    sidecar = write_sidecar(args.out)  # its sha256: artefact= checks it
    print(f'wrote {args.out} ({h}x{w}, batch 1..{args.max_batch}) and {sidecar} in '
          f'{time.perf_counter() - start:.0f} s')
    return args.out


if __name__ == '__main__':
    main()
