"""The README's main command until training lands: config -> MMPose model -> image -> picture."""
import mmcv
import numpy as np

from tests.tools_loader import load_tool


def test_demo_runs_and_draws(tmp_path):
    demo = load_tool('demo_pose')
    with_kpts, without = tmp_path / 'vis.jpg', tmp_path / 'box_only.jpg'
    # kpt_thr=0 draws every keypoint and limb; a threshold above 1 draws only the box.
    results = demo.main(['--out', str(with_kpts), '--kpt-thr', '0'])
    demo.main(['--out', str(without), '--kpt-thr', '1.1'])
    assert results[0].pred_instances.keypoints.shape == (1, 17, 2)
    a, b = mmcv.imread(str(with_kpts)), mmcv.imread(str(without))
    assert a.shape == b.shape == demo.synthetic_person().shape
    changed = (np.abs(a.astype(int) - b.astype(int)).max(-1) > 100).sum()
    assert changed > 100, f'only {changed} pixels show keypoints'
