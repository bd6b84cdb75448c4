"""Every example runs top to bottom in its fast mode (as the documentation gallery runs it)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))

# The extras an example needs beyond the core dependencies; without them it is skipped.
# The gallery convention: ``plot_*`` examples draw figures (matplotlib); the others
# print their results and draw only when matplotlib is there.
REQUIRES = {
    "dask_out_of_core.py": ("dask", "distributed", "dask_ml"),
    "plot_onnx_export.py": ("matplotlib", "skl2onnx", "onnxruntime"),
}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path):
    needs = REQUIRES.get(path.name, ("matplotlib",) if path.name.startswith("plot_") else ())
    for module in needs:
        pytest.importorskip(module)
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, str(path), "--fast"], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip()
