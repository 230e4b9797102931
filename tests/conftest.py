"""Shared test helpers: an independent reference integrator for Gaussian expectations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

_GL_X, _GL_W = np.polynomial.legendre.leggauss(96)


def reference_expectation(f, g, cov, kinks_f=(), kinks_g=(), width=11.0):
    """E[f(u1) g(u2)] (or E[f(u1)] when g is None) by nested adaptive scipy quadrature.

    Independent of geosym's engine: u1 = sqrt(a) z, u2 = (c/sqrt(a)) z + s w, integrated over
    |z|, |w| <= ``width`` with break points at the kinks; absolute accuracy ~1e-12.
    """
    phi = lambda t: math.exp(-t * t / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    if g is None:
        a = float(cov[0][0])
        sa = math.sqrt(a)
        pts = [k / sa for k in kinks_f if abs(k / sa) < width] if sa > 0 else []
        val, _ = integrate.quad(
            lambda z: phi(z) * float(f(sa * z)),
            -width,
            width,
            points=pts or None,
            epsabs=1e-14,
            epsrel=1e-13,
            limit=400,
        )
        return val
    a, c, b = float(cov[0][0]), float(cov[0][1]), float(cov[1][1])
    sa = math.sqrt(a)
    slope = c / sa
    s = math.sqrt(max(b - slope * slope, 0.0))

    def inner(z):
        # Gauss-Legendre (96 nodes) on 44 panels, split at kinks: exact to ~1e-14 for smooth pieces
        if s < 1e-14:
            return float(g(slope * z))
        pts = [p for p in ((k - slope * z) / s for k in kinks_g) if abs(p) < width]
        edges = np.unique(np.concatenate([np.linspace(-width, width, 45), pts]))
        lo, hi = edges[:-1, None], edges[1:, None]
        w = (hi - lo) / 2 * _GL_X + (hi + lo) / 2
        vals = np.exp(-w * w / 2) / math.sqrt(2 * math.pi) * np.asarray(g(slope * z + s * w))
        return float(np.sum((hi - lo) / 2 * _GL_W * vals))

    pts = [k / sa for k in kinks_f] + ([k / slope for k in kinks_g] if abs(slope) > 1e-14 else [])
    pts = [p for p in pts if abs(p) < width]
    val, _ = integrate.quad(
        lambda z: phi(z) * float(f(sa * z)) * inner(z),
        -width,
        width,
        points=pts or None,
        epsabs=1e-13,
        epsrel=1e-12,
        limit=400,
    )
    return val


@pytest.fixture
def rng():
    return np.random.default_rng(20261130)
