"""Import paths that moved in 0.2 still work for one release, each with a DeprecationWarning
that names the new place; names that never existed are still errors."""
import importlib
import warnings

import pytest

import litehrnet_mm
from litehrnet_mm import backends, builder, cli, deprecation, mim, testing
from litehrnet_mm.deploy import layers, to_deploy_model
from litehrnet_mm.inference import BackendRunner, GraphPart, parts
from litehrnet_mm.models.blocks.resample import upsample_to


@pytest.mark.parametrize('old,name,new', [
    ('litehrnet_mm.apis', 'build_model', builder.build_model),
    ('litehrnet_mm.apis', 'load_config', builder.load_config),
    ('litehrnet_mm.apis', 'TensorModel', builder.TensorModel),
    ('litehrnet_mm.apis', 'mmpose_and_ours', testing.mmpose_and_ours),
    ('litehrnet_mm.apis', 'run_mim', mim.run_mim),
    ('litehrnet_mm.apis', 'config_from_arguments', cli.config_from_arguments),
    ('litehrnet_mm.apis', 'check_onnx_input', backends.check_onnx_input),
    ('litehrnet_mm.deploy', 'compile_model', backends.compile_model),
    ('litehrnet_mm.deploy', 'build_package', backends.build_package),
    ('litehrnet_mm.deploy', 'PackagedModel', backends.PackagedModel),
    ('litehrnet_mm.deploy', 'runner', backends.runner),
    ('litehrnet_mm.deploy', 'export_onnx', backends.export_onnx),
    ('litehrnet_mm.deploy.compile', 'cpu_features', backends.cpu_features),
    ('litehrnet_mm.deploy.export', 'to_deploy_model', to_deploy_model),
    ('litehrnet_mm.deploy.runtimes', 'openvino_core', backends.openvino_core),
    ('litehrnet_mm.deploy.runtimes', 'AxisSpec', backends.AxisSpec),
    ('litehrnet_mm.deploy.layers', 'upsample_nearest', upsample_to),
    ('litehrnet_mm.deploy.modules', 'shuffle_concat', layers.interleave),
    ('litehrnet_mm.inference.backends', 'Runtime', BackendRunner),
    ('litehrnet_mm.inference', 'RuntimePart', GraphPart),
    ('litehrnet_mm.inference.artefacts', 'RuntimePart', GraphPart),
    ('litehrnet_mm.inference.artefacts', 'deploy_part', parts.deploy_part),
    ('litehrnet_mm.inference.artefacts', 'tensor_graph', parts.tensor_graph),
])
def test_a_moved_name_warns_and_is_the_new_one(old, name, new):
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=rf'{old}.{name} is now .* the old name goes in '
                                                rf'litehrnet-mm {deprecation.REMOVED_IN}'):
        assert getattr(module, name) is new


def test_moved_values_keep_their_type():
    """0.1's ``inference.backends.BACKENDS`` was a tuple of names (``tools/infer.py`` adds to
    it); so is what the alias gives."""
    with pytest.warns(DeprecationWarning):
        from litehrnet_mm.inference.backends import BACKENDS
    assert BACKENDS == ('pytorch', 'compiled', 'onnxruntime', 'openvino')


def test_the_old_global_trace_target_still_works():
    """0.1's ``graph_target(target)`` sets the target of every deploy form for a trace."""
    from litehrnet_mm.deploy import graph_target
    from litehrnet_mm.models import LiteHRNet
    model = LiteHRNet(arch='18').eval()
    model.switch_to_deploy()
    with pytest.warns(DeprecationWarning, match=r'graph_target\(target\) is now '
                                                r'deploy_target\(model, target\)'):
        with graph_target('openvino'):
            assert model.deploy_form.tracing_for == 'openvino'
    assert model.deploy_form.tracing_for is None


def test_the_exports_runtime_argument_is_now_backend(tmp_path):
    from litehrnet_mm.backends import export_module
    with pytest.warns(DeprecationWarning, match=r"runtime= is now backend="), \
            pytest.raises(ValueError, match='export height must be an int >= 32'):
        export_module(None, str(tmp_path / 'x.onnx'), 16, 16, runtime='openvino')
    with pytest.raises(ValueError, match="written for backend 'onnxruntime' or 'openvino', "
                                         "got 'compiled'"):
        export_module(None, str(tmp_path / 'x.onnx'), 64, 64, backend='compiled')


def test_from_import_of_a_moved_module_warns():
    with pytest.warns(DeprecationWarning, match='litehrnet_mm.apis.derived_config is now '
                                                'litehrnet_mm.mim.derived_config'):
        from litehrnet_mm.apis import derived_config
    assert derived_config is mim.derived_config


def test_unknown_names_and_modules_are_still_errors():
    with pytest.raises(AttributeError, match="module 'litehrnet_mm.deploy' has no attribute "
                                             "'compile_everything'"):
        litehrnet_mm.deploy.compile_everything
    with pytest.raises(ImportError):
        from litehrnet_mm.apis import nothing_here  # noqa: F401
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module('litehrnet_mm.deploy.nowhere')


def test_the_current_paths_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter('error', DeprecationWarning)
        from litehrnet_mm.backends import compile_model  # noqa: F401
        from litehrnet_mm.deploy import to_deploy  # noqa: F401
        from litehrnet_mm.inference import fast_config, init_fast_model  # noqa: F401


def test_the_fast_models_old_attribute_warns(configs):
    from litehrnet_mm.inference import init_fast_model
    model = init_fast_model(configs.synthetic_pose)
    with pytest.warns(DeprecationWarning, match=r'.runtime is now .backend_runner'):
        assert model.runtime is model.backend_runner
