"""Sphinx configuration for the geosym documentation site."""

from __future__ import annotations

import importlib.metadata
import os
import sys

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
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

intersphinx_mapping: dict = {}
_unused = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "scipy": ("https://docs.scipy.org/doc/scipy", None),
    "sympy": ("https://docs.sympy.org/latest", None),

}

html_theme = "pydata_sphinx_theme"
html_title = "geosym"
exclude_patterns = ["_build"]
