"""The backends as objects: one class each behind one interface, options that check
themselves, requirements named with their pip command, and a new backend added as one class
and one registration."""
import dataclasses
import importlib.util
from typing import Optional, Tuple

import pytest
import torch

from litehrnet_mm.backends import (BACKENDS, ArtefactBackend, Backend, CompiledBackend,
                                   OnnxRuntimeBackend, OpenVINOBackend, PyTorchBackend,
                                   backends_for_file, make_backend, register_backend)
from litehrnet_mm.inference import BACKEND_OPTIONS, init_fast_model, parse_backend
from litehrnet_mm.testing import assert_close


def test_the_four_backends_and_what_each_declares():
    assert list(BACKENDS) == ['pytorch', 'compiled', 'onnxruntime', 'openvino']
    assert [BACKENDS[n] for n in BACKENDS] == [PyTorchBackend, CompiledBackend,
                                               OnnxRuntimeBackend, OpenVINOBackend]
    assert not issubclass(PyTorchBackend, ArtefactBackend) and not PyTorchBackend.cpu_only
    assert CompiledBackend.suffix == '.pt2' and not CompiledBackend.any_size
    assert OnnxRuntimeBackend.suffix == OpenVINOBackend.suffix == '.onnx'
    assert backends_for_file('x.onnx') == (OnnxRuntimeBackend, OpenVINOBackend)
    assert backends_for_file('x.pt2') == (CompiledBackend, )
    assert BACKEND_OPTIONS == {
        'pytorch': {},
        'compiled': dict(artefact=None, cache_dir=None, max_batch=1, autotune=None),
        'onnxruntime': dict(artefact=None, cache_dir=None, threads=None),
        'openvino': dict(artefact=None, cache_dir=None, threads=None, precision='f32',
                         static_shapes=True)}
    import onnxruntime
    import openvino
    assert OnnxRuntimeBackend.runtime_version() == onnxruntime.__version__
    assert OpenVINOBackend.runtime_version() == openvino.__version__
    assert CompiledBackend.runtime_version() is None


def test_a_backend_from_its_name_a_dict_or_itself():
    backend = make_backend(dict(type='openvino', threads=2, precision='bf16'))
    assert isinstance(backend, OpenVINOBackend)
    assert backend.options.threads == 2 and backend.options.static_shapes is True
    assert backend.spec() == dict(type='openvino', threads=2, precision='bf16')
    assert make_backend(backend) is backend
    assert isinstance(make_backend(None), PyTorchBackend)
    assert parse_backend('compiled') == dict(type='compiled', artefact=None, cache_dir=None,
                                             max_batch=1, autotune=None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        backend.options.threads = 3


@pytest.mark.parametrize('spec,error,message', [
    ('tensorrt', ValueError, "unknown backend 'tensorrt': choose one of pytorch, compiled, "
                             "onnxruntime, openvino"),
    (dict(threads=2), TypeError, "backend must be a name or a dict with 'type'"),
    (dict(type='pytorch', threads=2), ValueError,
     r"backend 'pytorch' takes the options \(none\), got \['threads'\]"),
    (dict(type='compiled', max_batch=0), ValueError, 'max_batch must be an int >= 1, got 0'),
    (dict(type='compiled', max_batch=True), ValueError, 'max_batch must be an int >= 1'),
    (dict(type='onnxruntime', threads='2'), ValueError,
     "threads must be None or an int >= 0, got '2'"),
    (dict(type='openvino', threads=-1), ValueError, 'threads must be None or an int >= 0'),
    (dict(type='openvino', precision='f16'), ValueError,
     "openvino precision must be 'f32' or 'bf16', got 'f16'"),
    (dict(type='openvino', static_shapes='yes'), ValueError,
     "openvino static_shapes must be True or False, got 'yes'"),
    (dict(type='onnxruntime', cache_dir=3), ValueError, 'cache_dir must be a path, got 3'),
])
def test_bad_specs_are_refused_naming_the_option(spec, error, message):
    with pytest.raises(error, match=message):
        make_backend(spec)


def test_artefact_files_are_checked_when_the_backend_is_made(tmp_path):
    with pytest.raises(FileNotFoundError, match="backend 'compiled': artefact not found"):
        make_backend(dict(type='compiled', artefact=str(tmp_path / 'x.pt2')))
    onnx_file = tmp_path / 'x.onnx'
    onnx_file.write_bytes(b'')
    with pytest.raises(ValueError, match=r"backend 'compiled' runs .pt2 files, got .*x.onnx "
                                         r"\(an ONNX file: use backend 'onnxruntime' or "
                                         r"'openvino'\)"):
        make_backend(dict(type='compiled', artefact=onnx_file))  # a path-like too
    assert make_backend(dict(type='openvino', artefact=onnx_file)).options.artefact == \
        str(onnx_file)


def test_missing_packages_are_named_with_their_pip_command(monkeypatch, tmp_path):
    """What builds an artefact is needed to build one, not to run one: without onnxscript a
    given ONNX file still runs."""
    real = importlib.util.find_spec
    missing = {'onnxscript'}
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name in missing else real(name, *a))
    with pytest.raises(ImportError, match="backend 'onnxruntime' needs the Python package "
                                          "onnxscript, which is not installed: pip install "
                                          "onnxscript"):
        make_backend('onnxruntime')
    make_backend('pytorch')
    make_backend('compiled')
    onnx_file = tmp_path / 'x.onnx'
    onnx_file.write_bytes(b'')
    make_backend(dict(type='openvino', artefact=str(onnx_file)))
    make_backend('onnxruntime', build=False)
    missing.add('onnxruntime')
    with pytest.raises(ImportError, match='pip install onnxruntime'):
        make_backend('onnxruntime', build=False)


def test_cpu_backends_refuse_another_device():
    with pytest.raises(RuntimeError, match="backend 'compiled' runs on the CPU, not on meta"):
        make_backend('compiled').check_device('meta')
    make_backend('pytorch').check_device('meta')


# a new backend: one class, one registration


@dataclasses.dataclass(frozen=True)
class ScriptOptions(ArtefactBackend.options_class):
    strict: bool = True


class TorchScriptBackend(ArtefactBackend):
    """TorchScript of the deploy form (traced for the portable target), as a new backend
    would be written: options, suffix, build, load, record."""
    name = 'torchscript-test'
    options_class = ScriptOptions
    suffix = '.ts'
    file_kind = 'a TorchScript file'
    any_size = False

    def build(self, part, path: str, size: Tuple[int, int], record: dict,
              dynamic: bool = False) -> None:
        x = torch.randn(1, 3, *size)
        with torch.no_grad():
            traced = torch.jit.trace(part, (x, ), strict=self.options.strict)
        import json
        torch.jit.save(traced, path, _extra_files={'record': json.dumps(record)})

    def load(self, path: str):
        module = torch.jit.load(path)

        def run(x):
            with torch.no_grad():
                out = module(x)
            return tuple(out) if isinstance(out, (tuple, list)) else (out, )
        return run

    @classmethod
    def read_record(cls, path: str) -> Optional[dict]:
        import json
        files = {'record': ''}
        torch.jit.load(path, _extra_files=files)
        return json.loads(files['record']) if files['record'] else None


@pytest.fixture
def registered():
    """The new backend, registered for the test."""
    register_backend(TorchScriptBackend)
    yield TorchScriptBackend
    del BACKENDS[TorchScriptBackend.name]


@pytest.mark.filterwarnings('ignore::FutureWarning', 'ignore::torch.jit.TracerWarning')
def test_a_new_backend_is_one_class_and_one_registration(registered, tmp_path, configs,
                                                         build, tool):
    """Registered, the new backend runs inside MMPose's estimator as the others do: its
    artefact built once into the cache (then found there), checked and recorded."""
    with pytest.raises(ValueError, match="name 'torchscript-test' is taken by "
                                         "TorchScriptBackend"):
        register_backend(TorchScriptBackend)
    with pytest.raises(ValueError, match='Backend has no name'):
        register_backend(Backend)
    cache = str(tmp_path / 'cache')
    plain = build(configs.synthetic_pose, seed=4)
    x = torch.randn(2, 3, 128, 96)
    with torch.no_grad():
        expected = plain(x, None, mode='tensor')
    outputs = []
    for _ in range(2):
        fast = init_fast_model(configs.synthetic_pose, None, 'torchscript-test',
                               cache_dir=cache, strict=False)
        fast.load_state_dict(plain.state_dict())
        with torch.no_grad():
            outputs.append(fast(x, None, mode='tensor'))
    entry = fast.backend_runner.log[0]
    assert entry['artefact'].endswith('.ts') and entry['artefact'].startswith(cache)
    assert entry['built'] is False  # the second model found the first one's file
    assert TorchScriptBackend.read_record(entry['artefact'])['backend'] == 'torchscript-test'
    assert_close(outputs[0], expected)
    assert_close(outputs[1], expected)
    with pytest.raises(ValueError, match="backend 'torchscript-test' runs .ts files"):
        make_backend(dict(type='torchscript-test', artefact=_touch(tmp_path / 'x.onnx')))
    # the lists that configs and tools offer have it
    from litehrnet_mm import inference
    assert 'torchscript-test' in inference.BACKENDS
    assert inference.BACKEND_OPTIONS['torchscript-test'] == dict(artefact=None, cache_dir=None,
                                                                 strict=True)
    with pytest.raises(SystemExit, match='no --checkpoint given'):  # the choice is accepted
        tool('infer').main([configs.synthetic_pose, str(tmp_path / 'x.onnx'), '--backend',
                            'torchscript-test'])


def _touch(path) -> str:
    path.write_bytes(b'')
    return str(path)
