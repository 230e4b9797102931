"""Sphinx configuration for the geosym documentation site."""

from __future__ import annotations

import importlib.metadata
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.abspath(".."))

project = "geosym"
author = "the geosym developers"
copyright = "2026, the geosym developers"
try:
    release = importlib.metadata.version("geosym")
except importlib.metadata.PackageNotFoundError:  # building from a checkout that is not installed
    import geosym

    release = geosym.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]

autosummary_generate = True
autosummary_ignore_module_all = False
autosummary_imported_members = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

sys.path.insert(0, os.path.dirname(__file__))
from _inventories import write_inventories  # noqa: E402

# offline inventories of the outside objects we link to (docs/_inventories.py): no network here
intersphinx_mapping = write_inventories(Path(__file__).parent / "_build" / "inventories")

html_theme = "pydata_sphinx_theme"
html_title = "geosym"
templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates"]
