"""Every notebook in notebooks/ executes without error (outputs are not committed)."""

import pathlib

import nbformat
import pytest

nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path):
    book = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code"), (
        "commit notebooks with outputs cleared"
    )
    client = nbclient.NotebookClient(
        book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    assert any(c.get("outputs") for c in book.cells if c.cell_type == "code")


def test_committed_notebooks_equal_the_generator_output():
    """notebooks/_make_notebooks.py is the source: each committed notebook is exactly what it
    writes (deterministic cell ids), and every committed notebook comes from it."""
    import runpy

    generator = runpy.run_path(str(NOTEBOOKS[0].parent / "_make_notebooks.py"))
    books = generator["BOOKS"]
    assert sorted(p.name for p in books) == sorted(p.name for p in NOTEBOOKS)
    for path, book in books.items():
        assert path.read_text() == nbformat.writes(book) + "\n", f"{path.name} is stale"
