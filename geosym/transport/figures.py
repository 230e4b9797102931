"""Figures for the docs and the CLI (matplotlib, Agg backend, written to files)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ._grid import Grid
from .geometry import ako_divergence, sinkhorn_divergence, unregularized_ot
from .sharpness import TranslationStudy

__all__ = [
    "plot_divergence_limits",
    "plot_histograms",
    "plot_translation_study",
    "plot_transport",
    "save_image",
]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_histograms(hists: Mapping[str, np.ndarray], path: str | Path, title: str = "") -> Path:
    """Plot named histograms side by side: 1-D as curves on one axis, 2-D as images.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> out = tempfile.mkdtemp()
    >>> from geosym.transport.figures import plot_histograms
    >>> from geosym.transport.shapes import cross, ring
    >>> plot_histograms({"ring": ring(16), "cross": cross(16)}, os.path.join(out, "h.png")).name
    'h.png'
    """
    plt = _pyplot()
    arrays = {k: np.asarray(v) for k, v in hists.items()}
    if all(a.ndim == 1 for a in arrays.values()):
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for name, a in arrays.items():
            ax.plot(a, label=name)
        ax.legend()
    else:
        fig, axes = plt.subplots(1, len(arrays), figsize=(3 * len(arrays), 3.2), squeeze=False)
        for ax, (name, a) in zip(axes[0], arrays.items(), strict=True):
            ax.imshow(np.atleast_2d(a), cmap="magma")
            ax.set_title(name)
            ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def plot_translation_study(study: TranslationStudy, path: str | Path) -> Path:
    """Profiles of entropic vs debiased barycenters against the exact one, one panel per method.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> out = tempfile.mkdtemp()
    >>> from geosym.transport import translation_study
    >>> from geosym.transport.figures import plot_translation_study
    >>> from geosym.transport.shapes import bump
    >>> b = bump(41, 0.5, 0.04)
    >>> b[np.abs(np.linspace(0, 1, 41) - 0.5) > 0.2] = 0
    >>> study = translation_study(b / b.sum(), shift=6, regs=(1e-2,))
    >>> plot_translation_study(study, os.path.join(out, "t.png")).name
    't.png'
    """
    plt = _pyplot()
    methods = sorted({r.method for r in study.rows})
    fig, axes = plt.subplots(1, len(methods), figsize=(5 * len(methods), 3.5), squeeze=False)
    for ax, method in zip(axes[0], methods, strict=True):
        ax.plot(study.x, study.exact_profile, "k--", lw=2, label="exact W2")
        for r in (r for r in study.rows if r.method == method):
            ax.plot(
                study.x, r.profile, label=f"reg={r.reg:g}: FWHM {r.fwhm:.3f}, L1 {r.l1_error:.2g}"
            )
        ax.set_title(f"{method} barycenter of ±{study.shift}-pixel shifts {study.shape}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def plot_transport(a: np.ndarray, b: np.ndarray, plan: np.ndarray | None, path: str | Path) -> Path:
    """The two histograms (curves for 1-D, images for 2-D) and, if given, the plan as an image.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> out = tempfile.mkdtemp()
    >>> from geosym.transport import Grid, sinkhorn
    >>> from geosym.transport.figures import plot_transport
    >>> a, b = np.array([0.1, 0.2, 0.4, 0.2, 0.1]), np.array([0.3, 0.3, 0.2, 0.1, 0.1])
    >>> plan = sinkhorn(a, b, Grid((5,)), 0.05).plan
    >>> plot_transport(a, b, plan, os.path.join(out, "plan.png")).name
    'plan.png'
    """
    plt = _pyplot()
    a, b = np.asarray(a), np.asarray(b)
    panels = (1 if a.ndim == 1 else 2) + (plan is not None)
    fig, axes = plt.subplots(1, panels, figsize=(3.5 * panels, 3.2), squeeze=False)
    axes = list(axes[0])
    if a.ndim == 1:
        ax = axes.pop(0)
        ax.plot(a, label="p")
        ax.plot(b, label="q")
        ax.legend()
    else:
        for name, h in (("p", a), ("q", b)):
            ax = axes.pop(0)
            ax.imshow(h, cmap="magma")
            ax.set_title(name)
            ax.axis("off")
    if plan is not None:
        ax = axes.pop(0)
        ax.imshow(plan, cmap="magma")
        ax.set_title("optimal plan")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def save_image(img: np.ndarray, path: str | Path) -> Path:
    """Write a histogram as a grey-level PNG (1-D histograms as a one-row image).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> out = tempfile.mkdtemp()
    >>> from geosym.transport.figures import save_image
    >>> from geosym.transport.shapes import digit
    >>> save_image(digit(3, 28), os.path.join(out, "three.png")).name
    'three.png'
    """
    _pyplot().imsave(path, np.atleast_2d(img), cmap="gray")
    return Path(path)


def plot_divergence_limits(
    p: np.ndarray, q: np.ndarray, cost: np.ndarray | Grid, regs: np.ndarray, path: str | Path
) -> Path:
    """``D_λ`` (W ↔ KL, AKO 2018) and ``S_λ`` (W ↔ MMD, Feydy 2019) against ``λ``, with the
    limits ``W`` (exact LP), ``KL(q ‖ p)`` and ``−½(p−q)ᵀM(p−q)`` as horizontal lines.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> out = tempfile.mkdtemp()
    >>> from geosym.transport import Grid
    >>> from geosym.transport.figures import plot_divergence_limits
    >>> p, q = np.array([0.1, 0.2, 0.4, 0.2, 0.1]), np.array([0.3, 0.3, 0.2, 0.1, 0.1])
    >>> plot_divergence_limits(p, q, Grid((5,)), [0.1, 1.0], os.path.join(out, "lim.png")).name
    'lim.png'
    """
    plt = _pyplot()
    p, q = np.asarray(p, float) / np.sum(p), np.asarray(q, float) / np.sum(q)
    matrix = cost.cost_matrix() if isinstance(cost, Grid) else np.asarray(cost, float)
    flat = (p - q).ravel()
    limits = {
        "W (LP)": unregularized_ot(p, q, cost),
        "KL(q‖p)": float(np.sum(q * np.log(q / p))),
        "−½(p−q)ᵀM(p−q)": float(-0.5 * flat @ matrix @ flat),
    }
    curves = {
        "AKO D_λ": [ako_divergence(p, q, cost, r, eps_scaling=0.5, max_iter=100_000) for r in regs],
        "Sinkhorn S_λ": [
            sinkhorn_divergence(p, q, cost, r, eps_scaling=0.5, max_iter=100_000) for r in regs
        ],
    }
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in curves.items():
        ax.semilogx(regs, values, "o-", label=name)
    for (name, value), style in zip(limits.items(), (":", "--", "-."), strict=True):
        ax.axhline(value, color="k", ls=style, lw=1, label=name)
    ax.set_xlabel("λ (reg)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)
