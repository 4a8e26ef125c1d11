"""Everything is in pyproject.toml; this only ships the kernel sources.

The C++ sources live in the repository's top-level ``kernels/``. A wheel (built
from the repository or from the sdist, which carries ``kernels/`` via
MANIFEST.in) gets a copy in ``tf_activations/native/kernels/``, where
``tf_activations.native.builder`` looks first, so ``tf-activations build`` works
from any install. An editable install reads ``kernels/`` in the checkout itself.
"""

import pathlib
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

KERNELS = pathlib.Path(__file__).resolve().parent / "kernels"


class build_py_with_kernels(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # the builder finds kernels/ next to the package in the checkout
        sources = sorted(p for p in KERNELS.glob("*") if p.suffix in (".cc", ".h") or p.name == "README.md")
        if not any(p.suffix == ".cc" for p in sources):
            raise SystemExit(f"kernel sources missing from {KERNELS}; cannot build a complete package")
        target = pathlib.Path(self.build_lib) / "tf_activations" / "native" / "kernels"
        target.mkdir(parents=True, exist_ok=True)
        for p in sources:
            shutil.copyfile(p, target / p.name)


setup(cmdclass={"build_py": build_py_with_kernels})
