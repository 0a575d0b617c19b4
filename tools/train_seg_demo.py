"""The segmentation demo: train Lite-HRNet-18 + FCNHead on the bundled synthetic
Cityscapes-format scenes, end to end through MMSeg's own tools.

1. writes the synthetic data set if it is not there (litehrnet_mm.datasets.synthetic.cityscapes);
2. evaluates the untrained model with ``mim test mmseg`` (MMSeg's IoUMetric, the baseline);
3. trains with ``mim train mmseg``;
4. evaluates the last checkpoint with ``mim test mmseg``.

    python tools/train_seg_demo.py [--config CFG] [--work-dir DIR] [--iters N]

Exits non-zero if a step fails.
"""
import argparse
import os
import os.path as osp
import re
import sys

from litehrnet_mm.apis import run_mim

DEFAULT_CONFIG = osp.join('configs', 'segmentation', 'synthetic',
                          'fcn_litehrnet-18_1xb4-400_synthetic-cityscapes-256x512.py')


def run(args):
    """``mim ARGS``, echoing the end of its output; returns the output."""
    print('$ mim ' + ' '.join(args), flush=True)
    proc = run_mim(args, check=False)
    output = proc.stdout + proc.stderr
    sys.stdout.write(output[-6000:])
    if proc.returncode != 0:
        raise SystemExit(f'mim failed ({proc.returncode}): {" ".join(args)}')
    return output


def parse_miou(log):
    """The last ``mIoU: x`` that MMSeg's IoUMetric printed."""
    found = re.findall(r'mIoU: ([0-9.]+)', log)
    if not found:
        raise SystemExit('no mIoU in the output of mim test')
    return float(found[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/seg_demo')
    parser.add_argument('--data-root', default='data/synthetic_cityscapes')
    parser.add_argument('--iters', type=int, default=None, help='override max_iters')
    parser.add_argument('--num-train', type=int, default=40)
    parser.add_argument('--num-val', type=int, default=20)
    parser.add_argument('--cfg-options', nargs='+', default=[])
    args = parser.parse_args(argv)
    from litehrnet_mm.engine.initial_weights import save_initial_weights

    root = args.data_root.rstrip('/') + '/'
    options = [f'train_dataloader.dataset.data_root={root}',
               f'val_dataloader.dataset.data_root={root}',
               f'test_dataloader.dataset.data_root={root}', *args.cfg_options]
    if not osp.isdir(osp.join(root, 'gtFine', 'val')):
        from litehrnet_mm.datasets.synthetic.cityscapes import make_cityscapes
        print(f'writing the synthetic data set to {root}', flush=True)
        make_cityscapes(root, args.num_train, args.num_val)
    os.makedirs(args.work_dir, exist_ok=True)

    untrained = osp.join(args.work_dir, 'untrained.pth')
    save_initial_weights(args.config, untrained)
    base = parse_miou(run(['test', 'mmseg', args.config, '--checkpoint', untrained,
                           '--work-dir', osp.join(args.work_dir, 'test_untrained'),
                           '--cfg-options', *options]))
    train_options = list(options)
    if args.iters is not None:
        train_options += [f'train_cfg.max_iters={args.iters}',
                          f'param_scheduler.0.end={args.iters}']
    run(['train', 'mmseg', args.config, '--work-dir', args.work_dir,
         '--cfg-options', *train_options])
    with open(osp.join(args.work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    trained = parse_miou(run(['test', 'mmseg', args.config, '--checkpoint', checkpoint,
                              '--work-dir', osp.join(args.work_dir, 'test_trained'),
                              '--cfg-options', *options]))
    print('\n| model | mIoU (MMSeg IoUMetric, 19 Cityscapes classes, 9 present) |')
    print('| --- | --- |')
    print(f'| untrained | {base:.2f} |')
    print(f'| trained ({osp.basename(checkpoint)}) | {trained:.2f} |')
    return base, trained, checkpoint


if __name__ == '__main__':
    main()
