"""Train Lite-HRNet-18 on the synthetic set of one keypoint family, end to end through MMPose's
own tools, and show that it learned: the metric before and after.

Families (each a synthetic set in a real data set's layout and a config inheriting ours):
    face       WFLW's 98 landmarks, NME (lower is better)
    hand       OneHand10K's 21 keypoints, PCK@0.2, AUC, EPE
    wholebody  COCO-WholeBody's 133 keypoints, CocoWholeBodyMetric AP
    animal     AP-10K's 17 keypoints, CocoMetric AP (by AP-10K's sigmas)
    custom     the 5-keypoint houses of configs/custom_keypoints/ (the template for your own)

1. writes the family's synthetic set if it is not there, or its writing was interrupted;
2. evaluates the untrained model with ``mim test mmpose``;
3. trains with ``mim train mmpose``;
4. evaluates this run's best checkpoint with ``mim test mmpose``.

    python tools/train_keypoints_demo.py --family face [--epochs N] [--work-dir DIR]
"""
import argparse
import json
import os
import os.path as osp
import time

from litehrnet_mm.mim import check_cfg_options, checkpoint_of_run, derived_config, run_mim

_SYN = osp.join('configs', '{}', 'topdown_heatmap', 'synthetic', '{}')
#: family -> (config, synthetic set, metrics to show, glob of the best checkpoint)
FAMILIES = {
    'face': (_SYN.format('face_2d_keypoint',
                         'td-hm_litehrnet-18_1xb16-30e_synthetic-wflw-128x128.py'),
             'wflw', ('NME',), 'best_NME_epoch_*.pth'),
    'hand': (_SYN.format('hand_2d_keypoint',
                         'td-hm_litehrnet-18_1xb16-30e_synthetic-onehand10k-128x128.py'),
             'onehand10k', ('PCK', 'AUC', 'EPE'), 'best_AUC_epoch_*.pth'),
    'wholebody': (_SYN.format('wholebody_2d_keypoint',
                              'td-hm_litehrnet-18_1xb16-30e_synthetic-coco-wholebody-192x144.py'),
                  'coco_wholebody', ('coco-wholebody/AP', 'coco-wholebody/AR'),
                  'best_coco-wholebody_AP_epoch_*.pth'),
    'animal': (_SYN.format('animal_2d_keypoint',
                           'td-hm_litehrnet-18_1xb16-30e_synthetic-ap10k-128x128.py'),
               'ap10k', ('coco/AP', 'coco/AR'), 'best_coco_AP_epoch_*.pth'),
    'custom': (osp.join('configs', 'custom_keypoints',
                        'td-hm_litehrnet-18_1xb16-30e_house-5kpt-128x128.py'),
               'custom', ('coco/AP', 'coco/AR'), 'best_coco_AP_epoch_*.pth'),
}


def data_settings(config: str, data_root: str) -> dict:
    """Config settings that point ``config``'s data sets and evaluators (those that read an
    annotation file) at the set in ``data_root``."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    old = cfg.train_dataloader.dataset.data_root
    root = data_root.rstrip('/') + '/'
    loader = dict(dataset=dict(data_root=root))
    settings = dict(train_dataloader=loader, val_dataloader=loader, test_dataloader=loader)
    for key in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg.get(key)
        if isinstance(evaluator, dict) and evaluator.get('ann_file'):
            settings[key] = dict(ann_file=evaluator['ann_file'].replace(old, root, 1))
    return settings


def mim_test(config: str, checkpoint: str, work_dir: str, options=()) -> dict:
    """``mim test mmpose``; its metrics."""
    out = osp.join(work_dir, 'metrics.json')
    run_mim(['test', 'mmpose', config, '--checkpoint', checkpoint, '--work-dir', work_dir,
             '--out', out] + (['--cfg-options', *options] if options else []), capture=False)
    with open(out) as f:
        return json.load(f)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--family', required=True, choices=sorted(FAMILIES))
    parser.add_argument('--work-dir', help='default work_dirs/keypoints_demo/FAMILY')
    parser.add_argument('--data-root', help='default data/synthetic/SET')
    parser.add_argument('--epochs', type=int, default=None, help='override max_epochs')
    parser.add_argument('--num-train', type=int, default=200)
    parser.add_argument('--num-val', type=int, default=50)
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='extra key=value overrides for training and testing')
    args = parser.parse_args(argv)
    from litehrnet_mm.datasets.synthetic.tasks import make
    from litehrnet_mm.engine.initial_weights import save_initial_weights
    from litehrnet_mm.fileio import is_complete

    check_cfg_options(args.cfg_options)
    base_config, task, shown, best = FAMILIES[args.family]
    base_config = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), base_config)
    data_root = osp.abspath(args.data_root or osp.join('data', 'synthetic', task))
    work_dir = args.work_dir or osp.join('work_dirs', 'keypoints_demo', args.family)
    if not is_complete(data_root):  # missing, or an interrupted generation
        print(f'writing the synthetic {task} set to {data_root}', flush=True)
        make(task, data_root, args.num_train, args.num_val)
    os.makedirs(work_dir, exist_ok=True)
    # the data paths go into a config file, since --cfg-options would drop their spaces
    config = derived_config(base_config, osp.join(work_dir, 'config', osp.basename(base_config)),
                            data_settings(base_config, data_root))
    train_options = list(args.cfg_options)
    if args.epochs is not None:
        train_options.append(f'train_cfg.max_epochs={args.epochs}')

    untrained = osp.join(work_dir, 'untrained.pth')
    save_initial_weights(config, untrained)
    before = mim_test(config, untrained, osp.join(work_dir, 'test_untrained'), args.cfg_options)
    started = time.time()
    run_mim(['train', 'mmpose', config, '--work-dir', work_dir] +
            (['--cfg-options', *train_options] if train_options else []), capture=False)
    checkpoint = checkpoint_of_run(work_dir, started, best=best)
    after = mim_test(config, checkpoint, osp.join(work_dir, 'test_trained'), args.cfg_options)
    minutes = (time.time() - started) / 60

    print(f'\n{args.family} ({task}, {osp.basename(base_config)}), trained {minutes:.1f} min:')
    print('| model | ' + ' | '.join(shown) + ' |')
    print('| --- |' + ' --- |' * len(shown))
    for name, metrics in (('untrained', before), (osp.basename(checkpoint), after)):
        print(f'| {name} | ' + ' | '.join(f'{metrics[k]:.4f}' for k in shown) + ' |')
    return before, after


if __name__ == '__main__':
    main()
