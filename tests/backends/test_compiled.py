"""The compiled forms: torch.compile of the deploy form, and AOTInductor packages that record
what they were built for and refuse anything else before running."""
import copy
import json
import shutil
import zipfile

import pytest
import torch

from litehrnet_mm.backends import (INDUCTOR_OPTIONS, PackagedModel, compile_model,
                                   read_package_metadata)
from litehrnet_mm.deploy import FoldedConv
from litehrnet_mm.deploy.kernels import depthwise_kernel
from litehrnet_mm.inference import GraphPart
from litehrnet_mm.models import LiteHRNet
from litehrnet_mm.testing import assert_close, randomize

KERNEL = 'litehrnet_mm::depthwise3x3'
FUSED = 'litehrnet_mm::ccw_block'


@pytest.fixture(scope='module')
def tiny(tiny_extra):
    """A quarter of Lite-HRNet-18 (one module of one block per stage) with randomized weights,
    in its training form: torch.compile's time grows with the graph."""
    return randomize(LiteHRNet(tiny_extra)).eval()


def _deployed(model):
    deployed = copy.deepcopy(model)
    deployed.switch_to_deploy()
    return deployed


def _depthwise(model):
    return sum(isinstance(m, FoldedConv) and m.depthwise3x3 for m in model.modules())


def test_compiled_deploy_form_equals_the_training_form(tiny):
    """compile_model traces the deploy form's inductor target, the hand-written kernels
    included (called as operators from the compiled code)."""
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        expected = tiny(x)[0]
    deployed = _deployed(tiny)
    torch._dynamo.reset()
    compiled = compile_model(deployed)
    with torch.no_grad():
        assert_close(compiled(x)[0], expected, rel=1e-4)
        with torch.profiler.profile() as prof:
            compiled(x)
    assert INDUCTOR_OPTIONS == {'freezing': True, 'cpp_wrapper': True}
    if not depthwise_kernel():
        pytest.skip('the depthwise kernel cannot be built here (see its warning)')
    calls = {e.key: e.count for e in prof.key_averages()}
    assert _depthwise(deployed) == 34  # 9 in the blocks, 25 in the others
    # the 3 blocks (one per stage) are one fused call each, their depthwise convs inside
    assert (calls.get(KERNEL), calls.get(FUSED)) == (25, 3)


def test_plain_torch_compile_of_the_deploy_form_matches_eager(tiny):
    """The user's route: switch_to_deploy(), then torch.compile (no target set: the backbone
    sees that it is being compiled)."""
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = tiny(x)[0]
        torch._dynamo.reset()
        compiled = torch.compile(_deployed(tiny))
        assert_close(compiled(x)[0], expected, rel=1e-4)


def test_compiled_model_specialises_on_each_new_size():
    """A second input size compiles a graph for that size: no symbolic sizes, which dynamo
    makes by default once a size changes (and which made inductor's compile of the
    segmentation model run for over 15 minutes)."""
    import logging
    created = []

    class Symbols(logging.Handler):
        def emit(self, record):
            if 'create_symbol' in record.getMessage():
                created.append(record.getMessage())
    logger = logging.getLogger('torch.fx.experimental.symbolic_shapes')
    handler, level = Symbols(), logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    conv = torch.nn.Conv2d(3, 4, 3, padding=1).eval()
    symbols = {}
    try:
        for name, compiled in (('compile_model', compile_model(conv, cpp_wrapper=False)),
                               ('torch.compile', torch.compile(conv))):  # the control
            torch._dynamo.reset()
            created.clear()
            for h, w in ((8, 8), (16, 12)):
                x = torch.randn(1, 3, h, w)
                with torch.no_grad():
                    assert_close(compiled(x), conv(x), rel=1e-5)
            symbols[name] = list(created)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert symbols['compile_model'] == []
    assert len(symbols['torch.compile']) == 2  # height and width: the log is seen


@pytest.fixture(scope='module')
def features(trained_pose, build, configs):
    """The plain trained pose model's features graph: what the session's package runs."""
    return GraphPart(build(configs.synthetic_pose, trained_pose), 'features').eval()


def test_package_runs_any_batch_up_to_its_maximum(features, pose_package, package_max_batch):
    model = PackagedModel(pose_package)
    for batch in range(1, package_max_batch + 1):
        x = torch.randn(batch, 3, 128, 96)
        with torch.no_grad():
            assert_close(model(x)[0], features(x)[0], rel=1e-4)
    meta = read_package_metadata(pose_package)
    assert meta['input'] == dict(channels=3, height=128, width=96, dtype='float32',
                                 max_batch=package_max_batch, dynamic=False)
    assert meta['torch'] == torch.__version__ and meta['graph'] == 'features'


_LOAD_IN_A_FRESH_PROCESS = """
import sys, torch
from litehrnet_mm.backends import PackagedModel
x, expected = torch.load(sys.argv[2])
with torch.no_grad():
    out = PackagedModel(sys.argv[1])(x)[0]
assert (out - expected).abs().max() <= 1e-4 * expected.abs().max(), 'outputs differ'
print('loaded')
"""


@pytest.mark.skipif(not depthwise_kernel(), reason='the kernel cannot be built here')
def test_package_with_the_kernel_loads_in_a_fresh_process(
        features, pose_package, tmp_path, monkeypatch, repo_root):
    """The package calls the hand-written kernels, which must be registered before the package
    loads (AOTInductor looks its schema up at load time): PackagedModel does it, and refuses
    with a clear error where the kernel is switched off."""
    import subprocess
    import sys
    assert read_package_metadata(pose_package)['kernels'] == [KERNEL]
    with torch.no_grad(), torch.profiler.profile() as prof:  # the whole Lite-HRNet-18
        PackagedModel(pose_package)(torch.randn(1, 3, 128, 96))
    calls = {e.key: e.count for e in prof.key_averages()}
    # batches of 1 to 2: a free batch axis, where the blocks run unfused
    assert (calls.get(KERNEL), calls.get(FUSED)) == (96, None)
    x = torch.randn(2, 3, 128, 96)
    with torch.no_grad():
        torch.save((x, features(x)[0]), tmp_path / 'io.pt')
    done = subprocess.run([sys.executable, '-c', _LOAD_IN_A_FRESH_PROCESS, pose_package,
                           str(tmp_path / 'io.pt')], cwd=repo_root, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == 'loaded', done.stderr[-3000:]
    monkeypatch.setenv('LITEHRNET_MM_KERNELS', '0')
    with pytest.raises(RuntimeError, match=r"calls litehrnet_mm's hand-written kernels "
                                           r".*LITEHRNET_MM_KERNELS=0 turns it off"):
        PackagedModel(pose_package)


@pytest.mark.parametrize('x,message', [
    (torch.randn(1, 3, 128, 128), r'built for \(N, 3, 128, 96\) inputs, got \(1, 3, 128, 128\)'),
    (torch.randn(1, 1, 128, 96), r'built for \(N, 3, 128, 96\) inputs, got \(1, 1, 128, 96\)'),
    (torch.randn(1, 3, 128, 96).double(), 'takes float32 inputs, got torch.float64'),
    (torch.randn(3, 3, 128, 96), 'takes batches of 1 to 2, got 3'),
])
def test_package_refuses_inputs_it_was_not_built_for(pose_package, x, message):
    with pytest.raises(ValueError, match=message):
        PackagedModel(pose_package)(x)


def _edited_copy(package, tmp_path, edit):
    """A copy of the package whose recorded metadata went through ``edit``."""
    out = tmp_path / 'edited.pt2'
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(out, 'w') as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.endswith('wrapper_metadata.json'):
                meta = json.loads(data)
                record = json.loads(meta['litehrnet_mm'])
                edit(record)
                meta['litehrnet_mm'] = json.dumps(record)
                data = json.dumps(meta).encode()
            dst.writestr(item, data)
    return str(out)


def test_package_refuses_another_torch(pose_package, tmp_path):
    path = _edited_copy(pose_package, tmp_path, lambda r: r.update(torch='1.0.0'))
    with pytest.raises(RuntimeError, match=r'built with torch 1.0.0; this is torch'):
        PackagedModel(path)


def test_package_refuses_a_cpu_without_its_instructions(pose_package, tmp_path):
    path = _edited_copy(pose_package, tmp_path,
                        lambda r: r['cpu']['isa'].append('avx1024_imaginary'))
    with pytest.raises(RuntimeError, match=r"CPU with \['avx1024_imaginary'\].*lacks"):
        PackagedModel(path)


def test_not_a_package(tmp_path):
    bad = tmp_path / 'bad.pt2'
    bad.write_bytes(b'not a zip')
    with pytest.raises(ValueError, match='is not an AOTInductor package'):
        PackagedModel(str(bad))
    with pytest.raises(FileNotFoundError, match='package not found'):
        PackagedModel(str(tmp_path / 'missing.pt2'))
    plain = tmp_path / 'plain.pt2'
    with zipfile.ZipFile(plain, 'w') as z:
        z.writestr('m/data/aotinductor/model/x.wrapper_metadata.json', '{}')
    with pytest.raises(ValueError, match='was not built by litehrnet_mm'):
        PackagedModel(str(plain))
    shutil.rmtree(tmp_path)


def _generated_cpp(path) -> str:
    with zipfile.ZipFile(path) as z:
        return ''.join(z.read(n).decode(errors='replace') for n in z.namelist()
                       if n.endswith('kernel.cpp'))


def test_autotuned_package_runs_generated_micro_gemms(tmp_path):
    """``autotune=True`` (the compiled backend's default; the tests turn it off in
    conftest.py): inductor's max-autotune replaces matrix products by its generated C++
    micro-GEMM kernels, the record says so, and the outputs are the training form's. Without
    it the package has none. (One stage of two branches: autotuning benchmarks every
    product, and its time grows with the graph.)"""
    from litehrnet_mm.backends import AUTOTUNE_ENV, autotune_default, build_package
    from litehrnet_mm.models import arch_to_extra
    extra = dict(arch_to_extra('18'), num_stages=1, with_head=False)
    extra['stages_spec'] = dict(num_modules=(1, ), num_branches=(2, ), num_blocks=(1, ),
                                module_type=('LITE', ), with_fuse=(True, ),
                                reduce_ratios=(8, ), num_channels=((40, 80), ))
    model = randomize(LiteHRNet(extra), 5).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = model(x)[0]

    class First(torch.nn.Module):  # the first output: a package returns one tensor
        def __init__(self, backbone):
            super().__init__()
            self.backbone = backbone

        def forward(self, x):
            return self.backbone(x)[0]
    deployed = First(_deployed(model)).eval()
    assert autotune_default() is False  # conftest.py
    for autotune in (True, False):
        path = str(tmp_path / f'autotune-{autotune}.pt2')
        build_package(deployed, path, 64, 64, max_batch=1, autotune=autotune)
        record = read_package_metadata(path)
        assert record['autotune'] is autotune
        # a batch-1 package runs its block fused (where the kernels are built)
        assert record['kernels'] == (sorted([KERNEL, FUSED]) if depthwise_kernel() else [])
        with torch.no_grad():
            assert_close(PackagedModel(path)(x), expected, rel=1e-4)
        assert ('micro_gemm' in _generated_cpp(path)) is autotune
    assert AUTOTUNE_ENV == 'LITEHRNET_MM_AUTOTUNE'


@pytest.mark.parametrize('value,expected', [('', True), ('1', True), ('On', True),
                                            ('0', False), ('no', False), ('off', False)])
def test_autotune_switch(value, expected, monkeypatch):
    """Unset, packages autotune; the switch takes the usual words, refuses others, and a
    backend's ``autotune`` option overrides it (and is part of the artefact's record)."""
    from litehrnet_mm.backends import AUTOTUNE_ENV, CompiledBackend, autotune_default
    if value:
        monkeypatch.setenv(AUTOTUNE_ENV, value)
    else:
        monkeypatch.delenv(AUTOTUNE_ENV)
    assert autotune_default() is expected
    assert CompiledBackend().options.autotuned is expected
    assert CompiledBackend(dict(autotune=not expected)).options.autotuned is (not expected)
    assert CompiledBackend(dict(max_batch=8)).options.autotuned is False  # a free batch axis
    record = CompiledBackend().complete_record({'input': {}})
    assert record['autotune'] is expected
    monkeypatch.setenv(AUTOTUNE_ENV, 'maybe')
    with pytest.raises(ValueError, match="LITEHRNET_MM_AUTOTUNE must be 1, true, yes or on"):
        autotune_default()
    with pytest.raises(ValueError, match="autotune must be None, True or False, got 'yes'"):
        CompiledBackend(dict(autotune='yes'))
