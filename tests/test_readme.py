"""The README's Python examples run as written: its ```python blocks, in order, as one session
(later blocks use the imports of the first), in a fresh interpreter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)


def test_readme_python_blocks_run(tmp_path):
    assert len(BLOCKS) >= 4, "the README's worked examples are missing"
    script = tmp_path / "readme_examples.py"
    script.write_text(
        "".join(f"# --- README python block {i} ---\n{b}" for i, b in enumerate(BLOCKS)),
        encoding="utf-8",
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    run = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert run.returncode == 0, f"a README example failed:\n{run.stderr[-3000:]}"
