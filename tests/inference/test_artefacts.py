"""The artefacts of the backends: built once and cached, keyed by what they were built from,
recording it, and refused when they cannot serve the model; bad backend specs refused before
any work."""
import copy
import importlib.util

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import save_checkpoint

from litehrnet_mm.inference import fast_config, init_fast_model, make_record, read_record
from litehrnet_mm.inference.artefacts import cache_path
from litehrnet_mm.testing import randomize


def test_compiled_artefact_is_cached_and_keyed_by_the_weights(
        pose_package, package_max_batch, trained_pose, pose_data, artefact_cache, configs):
    from mmpose.apis import inference_topdown
    model = init_fast_model(configs.synthetic_pose, trained_pose, 'compiled',
                            cache_dir=artefact_cache, max_batch=package_max_batch)
    img, boxes = next(iter(pose_data['boxes'].items()))
    inference_topdown(model, img, boxes)
    (entry, ) = model.backend_runner.log
    assert entry['built'] is False and entry['seconds'] < 10, entry
    assert entry['artefact'] == pose_package  # the session's, built for another model
    # other weights, another input size or another largest batch key another artefact
    record = make_record(model, 'features', 'compiled', 128, 96, max_batch=package_max_batch)
    assert cache_path(record, artefact_cache) == entry['artefact']
    other = copy.deepcopy(model)
    randomize(other, seed=5)
    for changed in (make_record(other, 'features', 'compiled', 128, 96, max_batch=2),
                    make_record(model, 'features', 'compiled', 256, 192, max_batch=2),
                    make_record(model, 'features', 'compiled', 128, 96, max_batch=1)):
        assert cache_path(changed, artefact_cache) != entry['artefact']


def test_artefacts_record_what_they_were_built_from(pose_artefact, package_max_batch,
                                                    configs):
    import onnxruntime
    for backend, options in (('onnxruntime', {}),
                             ('compiled', dict(max_batch=package_max_batch))):
        model, path = pose_artefact(backend, **options)
        record = read_record(path)
        assert record['graph'] == 'features' and record['backend'] == backend
        assert record['config']['file'] == configs.synthetic_pose
        assert record['input']['height'] == 128 and record['input']['width'] == 96
        assert record['torch'] == torch.__version__
        other = randomize(copy.deepcopy(model), seed=6)
        assert record['weights_sha256'] != make_record(other, 'features', backend, 1, 1)[
            'weights_sha256']
        assert record['runtime'] == (onnxruntime.__version__ if backend == 'onnxruntime'
                                     else None)


# refusals


def _first_call(model, img, boxes):
    from mmpose.apis import inference_topdown
    return inference_topdown(model, img, boxes)


def test_unknown_backend_option_and_missing_package(monkeypatch, configs):
    with pytest.raises(ValueError, match='unknown backend .tensorrt.: choose one of pytorch'):
        fast_config(configs.synthetic_pose, 'tensorrt')
    with pytest.raises(ValueError, match=r"backend 'pytorch' takes the options \(none\), got "
                                         r"\['threads'\]"):
        fast_config(configs.synthetic_pose, 'pytorch', threads=2)
    with pytest.raises(ValueError, match="openvino static_shapes must be True or False, got "
                                         "'yes'"):
        fast_config(configs.synthetic_pose, 'openvino', static_shapes='yes')
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name == 'openvino' else real(name, *a))
    with pytest.raises(ImportError, match='needs the Python package openvino.*pip install '
                                          'openvino'):
        fast_config(configs.synthetic_pose, 'openvino')
    cfg = Config.fromfile(configs.synthetic_pose)
    cfg.model.type = 'BottomupPoseEstimator'
    with pytest.raises(ValueError, match="model type 'BottomupPoseEstimator' has no fast form"):
        fast_config(cfg, 'pytorch')


def test_artefact_of_other_weights_size_or_graph_is_refused(
        pose_artefact, exported_pose, trained_pose, pose_data, tmp_path, configs):
    img, boxes = next(iter(pose_data['boxes'].items()))
    model, onnx_file = pose_artefact('onnxruntime')
    # other weights
    other = str(tmp_path / 'other.pth')
    save_checkpoint({'state_dict': randomize(copy.deepcopy(model), 4).state_dict()}, other)
    fast = init_fast_model(configs.synthetic_pose, other, 'onnxruntime', artefact=onnx_file)
    with pytest.raises(ValueError, match='built from other weights'):
        _first_call(fast, img, boxes)
    # another input size (the COCO config: same network, 256x192)
    fast = init_fast_model(configs.coco, trained_pose, 'onnxruntime', artefact=onnx_file)
    with pytest.raises(ValueError, match='built for 128x96 inputs, the model is given 256x192'):
        _first_call(fast, img, boxes)
    # another config: the same weights, the backbone with checkpointing (not the same graph)
    other_cfg = Config.fromfile(configs.synthetic_pose)
    other_cfg.model.backbone.with_cp = True
    fast = init_fast_model(other_cfg, trained_pose, 'onnxruntime', artefact=onnx_file)
    with pytest.raises(ValueError, match='built from another config'):
        _first_call(fast, img, boxes)
    # a file of another backend
    with pytest.raises(ValueError, match=r"backend 'onnxruntime' runs .onnx files.*use backend "
                                         r"'compiled'"):
        fast_config(configs.synthetic_pose, 'onnxruntime', artefact=_touch(tmp_path / 'x.pt2'))
    # the whole-model export of tools/export_onnx.py (heatmaps): not the features graph
    with pytest.raises(ValueError, match="runs the 'heatmaps' graph, the model needs "
                                         "'features'"):
        init_fast_model(configs.synthetic_pose, None, 'onnxruntime',
                        artefact=exported_pose)  # refused before any weights load


def _touch(path) -> str:
    path.write_bytes(b'not a package')
    return str(path)


def test_a_model_a_runner_built_records_the_same_config(configs, build_part):
    """A fast model that MMEngine's runner builds (``mim test`` of a fast config) has no
    ``cfg``: the arguments it was built with give the same config hash, so it finds the
    artefacts that init_fast_model's models built."""
    by_init_model = init_fast_model(configs.synthetic_pose, None, 'onnxruntime')
    cfg = fast_config(configs.synthetic_pose, 'onnxruntime')
    by_registry = build_part(cfg.model, 'mmpose')
    assert not hasattr(by_registry, 'cfg')
    records = [make_record(m, 'features', 'onnxruntime', 128, 96)
               for m in (by_init_model, by_registry)]
    assert records[0]['config']['sha256'] == records[1]['config']['sha256']
    assert records[1]['config']['file'] is None
    cfg.model.backbone.with_cp = True  # another config: another hash
    other = make_record(build_part(cfg.model, 'mmpose'), 'features', 'onnxruntime', 128, 96)
    assert other['config']['sha256'] != records[0]['config']['sha256']
