"""The segmentation demo: train Lite-HRNet-18 + FCNHead on the bundled synthetic
Cityscapes-format scenes, end to end through MMSeg's own tools.

1. writes the synthetic data set if it is not there, or its writing was interrupted
   (litehrnet_mm.datasets.synthetic.cityscapes);
2. evaluates the untrained model with ``mim test mmseg`` (MMSeg's IoUMetric, the baseline);
3. trains with ``mim train mmseg``;
4. evaluates the last checkpoint of this run with ``mim test mmseg``.

    python tools/train_seg_demo.py [--config CFG] [--work-dir DIR] [--iters N]

Exits non-zero if a step fails.
"""
import argparse
import os
import os.path as osp
import re
import sys
import time

from litehrnet_mm.mim import check_cfg_options, checkpoint_of_run, derived_config, run_mim

DEFAULT_CONFIG = osp.join('configs', 'segmentation', 'synthetic',
                          'fcn_litehrnet-18-nohead_1xb4-400_synthetic-cityscapes-256x512.py')


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
    from litehrnet_mm.fileio import is_complete

    check_cfg_options(args.cfg_options)
    root = osp.abspath(args.data_root)
    if not is_complete(root):  # missing, or an interrupted generation
        from litehrnet_mm.datasets.synthetic.cityscapes import make_cityscapes
        print(f'writing the synthetic data set to {root}', flush=True)
        make_cityscapes(root, args.num_train, args.num_val)
    os.makedirs(args.work_dir, exist_ok=True)
    # the data root goes into a config file, since --cfg-options would drop its spaces
    loader = dict(dataset=dict(data_root=root + '/'))
    config = derived_config(
        args.config, osp.join(args.work_dir, 'config', osp.basename(args.config)),
        dict(train_dataloader=loader, val_dataloader=loader, test_dataloader=loader))
    options = ['--cfg-options', *args.cfg_options] if args.cfg_options else []

    untrained = osp.join(args.work_dir, 'untrained.pth')
    save_initial_weights(config, untrained)
    base = parse_miou(run(['test', 'mmseg', config, '--checkpoint', untrained,
                           '--work-dir', osp.join(args.work_dir, 'test_untrained'), *options]))
    train_options = list(args.cfg_options)
    if args.iters is not None:
        train_options += [f'train_cfg.max_iters={args.iters}',
                          f'param_scheduler.0.end={args.iters}']
    started = time.time()
    run(['train', 'mmseg', config, '--work-dir', args.work_dir] +
        (['--cfg-options', *train_options] if train_options else []))
    checkpoint = checkpoint_of_run(args.work_dir, started)  # this run's last checkpoint
    trained = parse_miou(run(['test', 'mmseg', config, '--checkpoint', checkpoint,
                              '--work-dir', osp.join(args.work_dir, 'test_trained'),
                              *options]))
    print('\n| model | mIoU (MMSeg IoUMetric, 19 Cityscapes classes, 9 present) |')
    print('| --- | --- |')
    print(f'| untrained | {base:.2f} |')
    print(f'| trained ({osp.basename(checkpoint)}) | {trained:.2f} |')
    return base, trained, checkpoint


if __name__ == '__main__':
    main()
