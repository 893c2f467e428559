"""Importing calibrate (any module of it) or the CLI never imports a framework; the registry is lazy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from calibrate.backends.base import BACKENDS, canonical_framework, get_backend, resolve_frameworks
from calibrate.errors import CalibrationError
from tests.calibrate.helpers import REPO, subprocess_env

HEAVY = ("torch", "jax", "jaxlib", "tensorflow", "keras")


def test_no_framework_is_imported_by_calibrate_or_the_cli() -> None:
    code = (
        "import sys, json\n"
        "import calibrate, calibrate.kernels, calibrate.timing, calibrate.devices, calibrate.system\n"
        "import calibrate.profiles, calibrate.results, calibrate.store, calibrate.runner, calibrate.report\n"
        "import calibrate.worker, calibrate.backends.base, calibrate.backends.common\n"
        "import calibrate.backends.torch, calibrate.backends.jax, calibrate.backends.tensorflow\n"
        "import calibrate.backends.torch_allreduce\n"
        "import tco.cli, tco.cli.calibrate\n"
        "from calibrate.backends.base import BACKENDS, get_backend\n"
        "infos = [get_backend(n).info.name for n in BACKENDS]\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=subprocess_env(),
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout) == []


def test_registry_names_and_aliases() -> None:
    assert resolve_frameworks(None) == tuple(BACKENDS) == ("torch", "jax", "tensorflow")
    assert resolve_frameworks(["all"]) == tuple(BACKENDS)
    assert resolve_frameworks(["pytorch", "tf", "torch"]) == ("torch", "tensorflow")
    assert canonical_framework("JAX") == "jax"
    with pytest.raises(CalibrationError, match="did you mean 'torch'"):
        canonical_framework("troch")
    for name in BACKENDS:
        info = get_backend(name).info
        assert info.name == name
        assert str(info.missing()) == f"{info.display_name} is not installed: pip install 'tco[{info.extra}]'"
