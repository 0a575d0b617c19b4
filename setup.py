"""litehrnet-mm: Lite-HRNet for MMPose 1.x and MMSegmentation 1.x."""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r"__version__ = '([^']+)'",
                    (HERE / 'litehrnet_mm' / 'version.py').read_text()).group(1)

setup(
    name='litehrnet-mm',
    version=VERSION,
    description='Lite-HRNet backbones and necks for MMPose 1.x and MMSegmentation 1.x',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8')
    if (HERE / 'README.md').exists() else '',
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(include=['litehrnet_mm', 'litehrnet_mm.*']),
    # the deploy form's C++ kernel, compiled on the user's machine on first use
    package_data={'litehrnet_mm.deploy': ['csrc/*.cpp', 'csrc/*.h']},
    # The runtime stack. Exact versions that are known to co-install are in
    # requirements/constraints.txt; tools/install.sh explains the build steps pip cannot.
    install_requires=[
        'torch>=2.0',
        'mmengine>=0.10.0,<1.0',
        'mmcv>=2.0.0,<2.2.0',
        'mmpose>=1.3.0,<1.4',
        'mmsegmentation>=1.2.0,<1.3',
        'mmdet>=3.0.0,<3.4',
        'pycocotools',
        'xtcocotools',
        'numpy',
        'six',
        'ftfy',
        'regex',
    ],
    extras_require={'tests': ['pytest', 'pytest-xdist', 'onnx', 'onnxruntime', 'onnxscript',
                              'openvino'],
                    'deploy': ['onnx', 'onnxruntime', 'onnxscript']},
)
