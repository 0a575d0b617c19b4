"""The MPII configs' PCKh (MMPose's MpiiPCKAccuracy on MpiiDataset's head sizes) equals a
computation made here from its definition, on crafted predictions of the synthetic MPII set;
predictions moved further score lower, again as computed here."""
import copy

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

#: MPII's joints, by index: r/l ankle 0/5, knee 1/4, hip 2/3, pelvis 6, thorax 7, head 9,
#: r/l wrist 10/15, elbow 11/14, shoulder 12/13; MMPose leaves out pelvis and thorax
PARTS = {'Head PCK': (9, ), 'Shoulder PCK': (12, 13), 'Elbow PCK': (11, 14),
         'Wrist PCK': (10, 15), 'Hip PCK': (2, 3), 'Knee PCK': (1, 4), 'Ankle PCK': (0, 5)}


@pytest.fixture(scope='module')
def val_set(tmp_path_factory, configs):
    """The synthetic MPII validation set through our config's dataset (MMPose's MpiiDataset
    with the head boxes file): each person's keypoints, visibility and head size."""
    from mmpose.registry import DATASETS

    from litehrnet_mm.datasets.synthetic.pose import make_mpii
    root = make_mpii(str(tmp_path_factory.mktemp('mpii')), num_train=0, num_val=12) + '/'
    cfg = Config.fromfile(configs.mpii)
    dataset_cfg = copy.deepcopy(cfg.val_dataloader.dataset)
    dataset_cfg.update(data_root=root, headbox_file=root + 'annotations/mpii_gt_val.mat',
                       ann_file='annotations/mpii_val.json', pipeline=[])
    with DefaultScope.overwrite_default_scope('mmpose'):
        dataset = DATASETS.build(dataset_cfg)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    return cfg.val_evaluator, infos


def _predictions(infos, extra: float):
    """Each joint moved by ``r`` head sizes to the right, ``r`` spread over 0.05 .. 0.95 and
    raised by ``extra``; MMPose adds 1 to predictions (MPII's 1-based pixels), so the move is
    made from gt - 1."""
    samples, ratios = [], []
    for n, info in enumerate(infos):
        gt = info['keypoints'][0]
        r = ((n * 16 + np.arange(16)) % 10) / 10 + 0.05 + extra
        pred = gt - 1.0
        pred[:, 0] += r * info['head_size'][0, 0]
        samples.append(dict(pred_instances=dict(keypoints=pred[None]),
                            gt_instances=dict(keypoints=info['keypoints'],
                                              keypoints_visible=info['keypoints_visible'],
                                              head_size=info['head_size'])))
        ratios.append(r)
    return samples, np.array(ratios)


def _by_hand(infos, ratios, thr=0.5):
    """PCKh from its definition: a visible joint is correct within ``thr`` head sizes; per
    joint the percentage correct; 'PCK' the mean over all joints but pelvis and thorax,
    weighted by how often each is visible."""
    visible = np.stack([i['keypoints_visible'][0] > 0 for i in infos])  # (N, 16)
    correct = (ratios < thr) & visible
    per_joint = 100 * correct.sum(0) / np.maximum(visible.sum(0), 1)
    counted = np.ones(16, bool)
    counted[[6, 7]] = False
    stats = {name: np.mean(per_joint[list(joints)]) for name, joints in PARTS.items()}
    weights = visible.sum(0)[counted]
    stats['PCK'] = float((per_joint[counted] * weights).sum() / weights.sum())
    return stats


def _metric(evaluator_cfg, samples):
    from mmpose.registry import METRICS
    with DefaultScope.overwrite_default_scope('mmpose'):
        metric = METRICS.build(copy.deepcopy(evaluator_cfg))
    metric.process([], samples)
    return metric.evaluate(len(samples))


def test_pckh_is_what_its_definition_gives(val_set):
    evaluator, infos = val_set
    assert evaluator.type == 'MpiiPCKAccuracy'
    samples, ratios = _predictions(infos, 0.0)
    ours = _metric(evaluator, samples)
    expected = _by_hand(infos, ratios)
    assert 30 < expected['PCK'] < 70  # well between 0 and 100: the check can tell
    for name, value in expected.items():
        assert ours[name] == pytest.approx(value, abs=1e-4), name
    # the control: predictions moved 0.3 head sizes further score lower, by the same rule
    samples, ratios = _predictions(infos, 0.3)
    further = _metric(evaluator, samples)
    assert further['PCK'] == pytest.approx(_by_hand(infos, ratios)['PCK'], abs=1e-4)
    assert further['PCK'] < ours['PCK'] - 20
