"""Offline intersphinx inventories for the few outside objects geosym's docs link to.

The build machines have no network, so intersphinx cannot download ``objects.inv`` from NumPy,
SciPy, SymPy, POT or Python (and the build must not try). :func:`write_inventories` writes a small
inventory per project (the Sphinx format, version 2) listing the objects our pages reference, with
their real addresses, and ``conf.py`` points intersphinx at those files only. A page that links to
a new outside object adds it to :data:`OBJECTS`.
"""

from __future__ import annotations

import zlib
from pathlib import Path

# project -> (base URL, {object name: (domain:role, page relative to the base)})
OBJECTS: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "python": (
        "https://docs.python.org/3/",
        {
            "json.dumps": ("py:function", "library/json.html#json.dumps"),
            "ValueError": ("py:exception", "library/exceptions.html#ValueError"),
            "TypeError": ("py:exception", "library/exceptions.html#TypeError"),
            "ArithmeticError": ("py:exception", "library/exceptions.html#ArithmeticError"),
            "MemoryError": ("py:exception", "library/exceptions.html#MemoryError"),
            "KeyboardInterrupt": ("py:exception", "library/exceptions.html#KeyboardInterrupt"),
            "ast": ("py:module", "library/ast.html#module-ast"),
            "sqlite3": ("py:module", "library/sqlite3.html#module-sqlite3"),
            "pathlib.Path": ("py:class", "library/pathlib.html#pathlib.Path"),
        },
    ),
    "numpy": (
        "https://numpy.org/doc/stable/",
        {
            "numpy.ndarray": ("py:class", "reference/generated/numpy.ndarray.html#numpy.ndarray"),
            "numpy.random.Generator": (
                "py:class",
                "reference/random/generator.html#numpy.random.Generator",
            ),
            "numpy.random.SeedSequence": (
                "py:class",
                "reference/random/bit_generators/generated/numpy.random.SeedSequence.html"
                "#numpy.random.SeedSequence",
            ),
            "numpy.polynomial.hermite_e.hermegauss": (
                "py:function",
                "reference/generated/numpy.polynomial.hermite_e.hermegauss.html"
                "#numpy.polynomial.hermite_e.hermegauss",
            ),
        },
    ),
    "scipy": (
        "https://docs.scipy.org/doc/scipy/",
        {
            name: (role, f"reference/generated/{name}.html#{name}")
            for name, role in [
                ("scipy.integrate.odeint", "py:function"),
                ("scipy.integrate.solve_ivp", "py:function"),
                ("scipy.optimize.OptimizeResult", "py:class"),
                ("scipy.optimize.linprog", "py:function"),
                ("scipy.sparse.linalg.eigsh", "py:function"),
                ("scipy.sparse.linalg.LinearOperator", "py:class"),
            ]
        },
    ),
    "sympy": (
        "https://docs.sympy.org/latest/",
        {
            "sympy.integrate": (
                "py:function",
                "modules/integrals/integrals.html#sympy.integrals.integrals.integrate",
            ),
            "sympy.Expr": ("py:class", "modules/core.html#sympy.core.expr.Expr"),
            "sympy.Symbol": ("py:class", "modules/core.html#sympy.core.symbol.Symbol"),
            "sympy.lambdify": (
                "py:function",
                "modules/utilities/lambdify.html#sympy.utilities.lambdify.lambdify",
            ),
        },
    ),
    "mpmath": (
        "https://mpmath.org/doc/current/",
        {
            "mpmath.mpf": ("py:class", "general.html#mpmath.mpf"),
        },
    ),
    "ot": (
        "https://pythonot.github.io/",
        {
            "ot.sinkhorn": ("py:function", "all.html#ot.sinkhorn"),
            "ot.dist": ("py:function", "all.html#ot.dist"),
            "ot.emd2": ("py:function", "all.html#ot.emd2"),
            "ot.bregman.barycenter": (
                "py:function",
                "gen_modules/ot.bregman.html#ot.bregman.barycenter",
            ),
        },
    ),
}


def write_inventories(folder: Path) -> dict[str, tuple[str, tuple[str, str]]]:
    """Write one ``<project>.inv`` per project into ``folder``; return an intersphinx mapping."""
    folder.mkdir(parents=True, exist_ok=True)
    mapping = {}
    for project, (base, objects) in OBJECTS.items():
        header = (
            "# Sphinx inventory version 2\n"
            f"# Project: {project}\n# Version: \n"
            "# The remainder of this file is compressed using zlib.\n"
        ).encode()
        lines = "".join(
            f"{name} {role} 1 {page} -\n" for name, (role, page) in sorted(objects.items())
        )
        path = folder / f"{project}.inv"
        path.write_bytes(header + zlib.compress(lines.encode()))
        mapping[project] = (base, str(path))
    return mapping
