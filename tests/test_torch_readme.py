"""The README's PyTorch worked example runs as written and says what it shows: torch.optim.SGD
at geosym's rate converges on mnist-5k, at three times that rate it diverges."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("mlxtend")

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(
    r"^```python torch\n(.*?)^```", (ROOT / "README.md").read_text(encoding="utf-8"), re.M | re.S
)

CHECK = """
import math
st = input_statistics(train.X)
assert 0.3 < st.q2_0 / st.q1_0 < 0.5          # the comment in the README
assert math.isfinite(loss_1) and loss_1 < 0.5 * torch.nn.functional.mse_loss(model(X), Y).item()
with torch.no_grad():
    acc = (m1(torch.tensor(test.X, dtype=torch.float32)).argmax(1).numpy() == test.y).mean()
assert acc > 0.6, acc                       # the net learns (10 classes: chance is 0.1)
assert not math.isfinite(loss_3) or loss_3 > 1e3, loss_3
print("ACC", acc)
"""


def test_readme_torch_example(tmp_path):
    assert len(BLOCKS) == 1, "the README's PyTorch example is missing"
    script = tmp_path / "readme_torch.py"
    script.write_text(
        "import torch; torch.set_num_threads(1)\n" + BLOCKS[0] + CHECK, encoding="utf-8"
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert run.returncode == 0, f"the README's torch example failed:\n{run.stderr[-3000:]}"
    assert "ACC" in run.stdout
