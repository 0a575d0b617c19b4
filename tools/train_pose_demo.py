"""The main job: train Lite-HRNet-18 on the bundled synthetic COCO-format data, end to end
through MMPose's own tools, and check the evaluation.

1. writes the synthetic data set if it is not there, or its writing was interrupted
   (litehrnet_mm.datasets.synthetic.pose);
2. evaluates the untrained model with ``mim test mmpose`` (the baseline);
3. trains with ``mim train mmpose``;
4. evaluates the best checkpoint of this run with ``mim test mmpose``: MMPose's CocoMetric
   (xtcocotools);
5. evaluates the same saved predictions with pycocotools' own COCOeval: the APs must agree.

    python tools/train_pose_demo.py [--config CFG] [--work-dir DIR] [--epochs N]

Exits non-zero if a step fails or the two evaluators disagree.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

from litehrnet_mm.mim import check_cfg_options, checkpoint_of_run, derived_config, run_mim

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = osp.join('configs', 'body_2d_keypoint', 'topdown_heatmap', 'synthetic',
                          'td-hm_litehrnet-18_1xb16-30e_synthetic-coco-128x96.py')


def data_settings(coco_root: str) -> dict:
    """Config settings that point a pose config at the COCO-format set in ``coco_root``."""
    root = coco_root.rstrip('/') + '/'
    ann_file = osp.join(coco_root, 'annotations', 'person_keypoints_val.json')
    loader = dict(dataset=dict(data_root=root))
    return dict(train_dataloader=loader, val_dataloader=loader, test_dataloader=loader,
                val_evaluator=dict(ann_file=ann_file), test_evaluator=dict(ann_file=ann_file))


def mim_test(config, checkpoint, work_dir, options=()):
    """``mim test mmpose``; returns its metrics and the path of the saved predictions."""
    prefix = osp.join(work_dir, 'predictions')
    out = osp.join(work_dir, 'metrics.json')
    # paths go into a config file: --cfg-options would drop their spaces
    config = derived_config(config, osp.join(work_dir, 'config', osp.basename(config)),
                            dict(test_evaluator=dict(outfile_prefix=prefix)))
    run_mim(['test', 'mmpose', config, '--checkpoint', checkpoint, '--work-dir', work_dir,
             '--out', out] + (['--cfg-options', *options] if options else []), capture=False)
    with open(out) as f:
        return json.load(f), prefix + '.keypoints.json'


def pycocotools_keypoint_stats(ann_file, result_file):
    """COCO keypoint AP/AR of a results file, computed by pycocotools (not xtcocotools)."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(ann_file)
        with open(result_file) as f:
            results = json.load(f)
        if not results:  # pycocotools cannot evaluate an empty result list
            raise SystemExit(f'{result_file} holds no predictions')
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, 'keypoints')
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    names = ['AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR', 'AR .5', 'AR .75', 'AR (M)',
             'AR (L)']
    return dict(zip(names, (float(s) for s in ev.stats)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--work-dir', default='work_dirs/pose_demo')
    parser.add_argument('--data-root', default='data/synthetic_pose')
    parser.add_argument('--epochs', type=int, default=None, help='override max_epochs')
    parser.add_argument('--num-train', type=int, default=200)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='extra key=value overrides for training and testing')
    args = parser.parse_args(argv)
    from litehrnet_mm.engine.initial_weights import save_initial_weights
    from litehrnet_mm.fileio import is_complete

    check_cfg_options(args.cfg_options)
    coco_root = osp.abspath(osp.join(args.data_root, 'coco'))
    ann_file = osp.join(coco_root, 'annotations', 'person_keypoints_val.json')
    if not is_complete(coco_root):  # missing, or an interrupted generation
        from litehrnet_mm.datasets.synthetic.pose import make_coco_keypoints
        print(f'writing the synthetic data set to {coco_root}', flush=True)
        make_coco_keypoints(coco_root, args.num_train, args.num_val)

    os.makedirs(args.work_dir, exist_ok=True)
    # the data paths go into a config file, since --cfg-options would drop their spaces
    config = derived_config(args.config,
                            osp.join(args.work_dir, 'config', osp.basename(args.config)),
                            data_settings(coco_root))
    train_options = list(args.cfg_options)
    if args.epochs is not None:
        train_options.append(f'train_cfg.max_epochs={args.epochs}')

    untrained = osp.join(args.work_dir, 'untrained.pth')
    save_initial_weights(config, untrained)
    base_metrics, _ = mim_test(config, untrained, osp.join(args.work_dir, 'test_untrained'),
                               args.cfg_options)

    started = time.time()
    run_mim(['train', 'mmpose', config, '--work-dir', args.work_dir] +
            (['--cfg-options', *train_options] if train_options else []), capture=False)
    # this run's best checkpoint (no validation ran: its last one), never an older run's
    checkpoint = checkpoint_of_run(args.work_dir, started, best='best_coco_AP_epoch_*.pth')
    metrics, predictions = mim_test(config, checkpoint,
                                    osp.join(args.work_dir, 'test_trained'), args.cfg_options)
    reference = pycocotools_keypoint_stats(ann_file, predictions)

    print('\n| model | CocoMetric AP (xtcocotools) | pycocotools AP | AP50 | AR |')
    print('| --- | --- | --- | --- | --- |')
    print(f"| untrained | {base_metrics['coco/AP']:.3f} | | | |")
    print(f"| trained ({osp.basename(checkpoint)}) | {metrics['coco/AP']:.3f} | "
          f"{reference['AP']:.3f} | {metrics['coco/AP .5']:.3f} | {metrics['coco/AR']:.3f} |")
    differences = {k: abs(metrics[f'coco/{k}'] - reference[k]) for k in ('AP', 'AP .5', 'AR')}
    if max(differences.values()) > 1e-6:
        sys.exit(f'CocoMetric and pycocotools disagree on the same predictions: {differences}')
    print('CocoMetric (xtcocotools) and pycocotools agree on the saved predictions.')
    return base_metrics, metrics, reference


if __name__ == '__main__':
    main()
