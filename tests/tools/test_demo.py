"""The README's main command until training lands: config -> MMPose model -> image -> picture."""
import mmcv
import numpy as np
import pytest


def test_demo_runs_and_draws(tmp_path, tool):
    demo = tool('demo_pose')
    with_kpts, without = tmp_path / 'vis.jpg', tmp_path / 'box_only.jpg'
    # kpt_thr=0 draws every keypoint and limb; a threshold above 1 draws only the box.
    results = demo.main(['--out', str(with_kpts), '--kpt-thr', '0'])
    demo.main(['--out', str(without), '--kpt-thr', '1.1'])
    assert results[0].pred_instances.keypoints.shape == (1, 17, 2)
    a, b = mmcv.imread(str(with_kpts)), mmcv.imread(str(without))
    assert a.shape == b.shape == demo.synthetic_person().shape
    changed = (np.abs(a.astype(int) - b.astype(int)).max(-1) > 100).sum()
    assert changed > 100, f'only {changed} pixels show keypoints'


def test_demo_with_a_checkpoint_in_folders_with_spaces(tmp_path, tool, build, configs):
    from mmengine.runner import save_checkpoint
    from mmpose.apis import inference_topdown
    demo = tool('demo_pose')
    folder = tmp_path / 'my models'
    folder.mkdir()
    model = build(configs.coco, seed=0)
    checkpoint = str(folder / 'trained model.pth')
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    out = folder / 'out dir' / 'vis.jpg'
    results = demo.main(['--config', configs.coco, '--checkpoint', checkpoint, '--out',
                         str(out)])
    expected = inference_topdown(model.eval(), demo.synthetic_person())[0]
    np.testing.assert_allclose(results[0].pred_instances.keypoints,
                               expected.pred_instances.keypoints, rtol=0, atol=1e-3)
    assert mmcv.imread(str(out)).shape == demo.synthetic_person().shape


def test_demo_refuses_a_checkpoint_of_another_model(tmp_path, tool, configs):
    from mmengine.runner import save_checkpoint

    from litehrnet_mm.models import LiteHRNet
    path = str(tmp_path / 'lite30.pth')
    state = {f'backbone.{k}': v for k, v in LiteHRNet(arch='30').state_dict().items()}
    save_checkpoint({'state_dict': state, 'meta': {}}, path)
    with pytest.raises(RuntimeError, match=rf'{path} does not match the model'):
        tool('demo_pose').main(['--config', configs.coco, '--checkpoint', path, '--out',
                                str(tmp_path / 'vis.jpg')])
    assert not (tmp_path / 'vis.jpg').exists()
