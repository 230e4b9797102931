"""Shared helpers of the derivation scripts: a LaTeX document builder with checked steps."""

from __future__ import annotations

import pathlib

from geosym.latex import document

OUT = pathlib.Path(__file__).resolve().parent / "out"


class Derivation:
    """Collects numbered steps (text + display maths), each asserted before it is written."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.parts: list[str] = []
        self.checks = 0

    def text(self, paragraph: str) -> None:
        self.parts.append(paragraph + "\n")

    def step(self, description: str, latex: str, holds: bool) -> None:
        """Record one identity; raise AssertionError (with the step) if it does not hold."""
        if not holds:
            raise AssertionError(f"{self.title}: step failed: {description}")
        self.checks += 1
        self.parts.append(
            f"\\paragraph{{Step {self.checks}.}} {description} (checked)\n"
            f"\\begin{{align*}}\n{latex}\n\\end{{align*}}\n"
        )

    def write(self, name: str) -> pathlib.Path:
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"{name}.tex"
        path.write_text(document(self.title, "\n".join(self.parts)), encoding="utf-8")
        print(f"{self.title}: {self.checks} identities checked; LaTeX written to {path}")
        return path
