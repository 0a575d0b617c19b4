"""Import a script of tools/ as a module (the tools are scripts, not a package), and run
``mim`` from the repository root."""
import importlib.util
import os.path as osp

from litehrnet_mm.apis import run_mim

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, 'tools', name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def mim(*args, check=True, timeout=900):
    """``mim ARGS`` of this environment from the repository root (raises with its output)."""
    return run_mim(args, timeout=timeout, check=check, cwd=ROOT)
