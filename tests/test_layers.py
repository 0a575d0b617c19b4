"""The package's layers: every module imports only from its own layer and the ones below it,
at module level and inside functions alike (a function-local import of a higher layer is an
import running back up, hidden).

Two references upward are by name, not by import, and are not import statements: the
registry's ``locations`` (MMEngine imports ``litehrnet_mm.inference`` when a config names a
type registered there and not yet imported), and the deprecated import paths of
``litehrnet_mm/deprecation.py`` (an old name resolved from its new place when asked for, until
0.3)."""
import ast
import os
import os.path as osp

import pytest

import litehrnet_mm

PACKAGE = osp.dirname(litehrnet_mm.__file__)

#: bottom first; a module may import its own layer and those below
LAYERS = [
    {'version', 'fileio', 'registry', 'weights_only', 'deprecation', 'builder', 'stamps'},
    {'models'},
    {'deploy'},
    {'backends'},
    {'inference', 'engine', 'datasets'},
    {'testing', 'mim', 'cli', 'benchmarking'},
]
#: what ``deprecation`` resolves by name for the old import paths (not imported by it)
LAYER_OF = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def modules():
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith('.py'):
                path = osp.join(folder, name)
                rel = osp.relpath(path, PACKAGE)[:-3].replace(os.sep, '.')
                yield rel, path


def imports_of(rel: str, path: str):
    """(line, imported top-level part of the package) of every import of ours in the file,
    relative ones resolved."""
    tree = ast.parse(open(path).read(), path)
    package = rel.split('.')[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith('litehrnet_mm.'):
                    yield node.lineno, alias.name.split('.')[1]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                parts = base + (node.module.split('.') if node.module else [])
                if parts:
                    yield node.lineno, parts[0]
                else:  # from . import x (top level)
                    for alias in node.names:
                        yield node.lineno, alias.name
            elif node.module and node.module.split('.')[0] == 'litehrnet_mm':
                parts = node.module.split('.')
                if len(parts) > 1:
                    yield node.lineno, parts[1]
                else:
                    for alias in node.names:
                        yield node.lineno, alias.name


def test_every_part_of_the_package_has_a_layer():
    tops = {rel.split('.')[0] for rel, _ in modules()} - {'__init__'}
    assert tops == set(LAYER_OF), f'unplaced: {tops - set(LAYER_OF)}; gone: {set(LAYER_OF) - tops}'


@pytest.mark.parametrize('rel,path', sorted(modules()))
def test_no_import_runs_back_up(rel, path):
    own = rel.split('.')[0]
    if own == '__init__':
        return  # the package's front door imports everything
    upward = [(line, top) for line, top in imports_of(rel, path)
              if top in LAYER_OF and LAYER_OF[top] > LAYER_OF[own]]
    assert not upward, f'{rel} (layer {LAYER_OF[own]}) imports from higher layers: ' + ', '.join(
        f'{top} (layer {LAYER_OF[top]}) at line {line}' for line, top in upward)


def test_the_check_sees_an_upward_import(tmp_path):
    """Control: a module of the models importing the deploy form, at module level and inside
    a function, relative and absolute, is caught."""
    fake = tmp_path / 'bad.py'
    fake.write_text('from ...deploy import to_deploy\n'
                    'def f():\n    from litehrnet_mm.backends import runner\n')
    found = list(imports_of('models.backbones.bad', str(fake)))
    assert found == [(1, 'deploy'), (3, 'backends')]


def local_imports_of_ours(path: str):
    """Lines of imports of our own modules inside functions (hidden dependencies)."""
    tree = ast.parse(open(path).read(), path)
    lines = []
    for func in ast.walk(tree):
        if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(func):
                if isinstance(node, ast.ImportFrom) and (
                        node.level or (node.module or '').startswith('litehrnet_mm')):
                    lines.append(node.lineno)
                elif isinstance(node, ast.Import) and any(
                        a.name.startswith('litehrnet_mm') for a in node.names):
                    lines.append(node.lineno)
    return lines


@pytest.mark.parametrize('rel,path', sorted(modules()))
def test_no_module_of_ours_is_imported_inside_a_function(rel, path):
    assert local_imports_of_ours(path) == [], f'{rel}: imports of ours inside functions'


def test_the_check_sees_a_local_import(tmp_path):
    fake = tmp_path / 'bad.py'
    fake.write_text('import os\ndef f():\n    from .x import y\n    import litehrnet_mm.z\n')
    assert local_imports_of_ours(str(fake)) == [3, 4]
