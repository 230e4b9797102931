"""Log-domain Gibbs kernels: the soft-min ``LSE_j(h_j - M_ij / reg)`` for dense and grid costs.

Every solver of the package only touches the cost through :class:`LogKernel`. The dense kernel
holds ``-M/reg`` and its transpose; the grid kernel holds one ``-M_d/reg`` per axis and applies
them one axis at a time (``K = K_x ⊗ K_y``; Solomon et al. 2015, ACM Trans. Graph. 34(4):66,
"Convolutional Wasserstein distances", §4).

Each log-sum-exp is computed with matrix products instead of exponentials of the full
matrix. With ``m = max_j h_j`` per line and ``c = max A``, the entries of ``h`` are cut into
bands ``m − (b+1)B < h_j <= m − bB`` (``B = 300``) and

    LSE_j(h_j + A_ij) = c + log sum_b e^{m - bB} [e^{h - m + bB}|_band b @ e^{A - c}]_i,

one BLAS call per band, every factor within ``[e^{-B}, 1]`` on its band. A band whose sum falls
below ``_TINY`` may have underflowed; when such a band could still matter (its bound
``m − bB + log _TINY`` is within ``e^{-40}`` of the result) the entry is recomputed with an exact
max-shifted log-sum-exp. So zero-mass bins (``h = -inf``) and ``reg`` down to ``1e-4 · max M``
never underflow (Peyré & Cuturi 2019, Computational OT, Remark 4.23), at kernel-mode speed.

Fast paths: a single product with one max shift per line is tried first; a sum ``>= _TINY``
is exact to machine precision (each dropped term is below ``1e-300`` of the line's maximum),
so only lines with a smaller sum take the banded route. On 2-D grids both axes are applied in
one pass (no exponential between them, see :meth:`LogKernel._grid`), images failing the same
test are redone axis by axis.
"""

from __future__ import annotations

import numpy as np

from ._grid import Grid

#: products e^{h-m} e^{A-c} summing to at least this are accurate to machine precision
_TINY = 1e-280
#: kernel entries below this are flushed to 0 (their terms are < n·1e-300, far under _TINY)
_FLUSH = 1e-300
#: width (in log units) of a band of h values handled by one matrix product
_BAND = 300.0
#: at most this many bands; deeper entries fall in the last one (and may underflow there)
_MAX_BANDS = 8
#: the one-pass 2-D product is trusted where its sum is at least this (dropped terms < 1e-300 each)
_TINY_2D = 1e-250
#: an underflowed band is negligible when its bound is this far (log units) below the result
_MARGIN = 40.0


def logsumexp_last(t: np.ndarray) -> np.ndarray:
    """Max-shifted ``log sum exp`` over the last axis of ``t`` (overwritten in place).

    Lines whose terms are all ``-inf`` give ``-inf``.
    """
    shift = t.max(axis=-1)
    shift[~np.isfinite(shift)] = 0.0
    t -= shift[..., None]
    np.exp(t, out=t)
    with np.errstate(divide="ignore"):
        return np.log(t.sum(axis=-1)) + shift


class LogSumExpProduct:
    """``h ↦ LSE_j(h[..., j] + A[i, j])`` over the last axis of ``h``: the product
    ``log(exp(h) @ exp(A).T)`` in the log domain (see module docstring)."""

    def __init__(self, log_kernel: np.ndarray, kernel_t: np.ndarray | None = None) -> None:
        self.log_kernel = log_kernel
        self.shift = float(log_kernel[np.isfinite(log_kernel)].max())
        if kernel_t is None:
            kernel_t = np.exp(log_kernel.T - self.shift)
            kernel_t[kernel_t < _FLUSH] = 0.0
        self.kernel_t = kernel_t

    def transpose(self) -> LogSumExpProduct:
        """The same operation with the kernel transposed (no new exponentials)."""
        return LogSumExpProduct(self.log_kernel.T, self.kernel_t.T)

    def __call__(self, h: np.ndarray) -> np.ndarray:
        # one product with a single max shift per line; a sum >= _TINY is exact to machine
        # precision (every dropped term is below _FLUSH), so only lines with a smaller sum
        # go through the banded computation
        m = h.max(axis=-1, keepdims=True)
        live = np.isfinite(m)
        if not live.all():
            m = np.where(live, m, 0.0)
        with np.errstate(under="ignore"):
            s = np.exp(h - m) @ self.kernel_t
        with np.errstate(divide="ignore"):
            out = np.log(s)
        out += m
        out += self.shift
        redo = ((s < _TINY) & live).any(axis=-1)
        if redo.any():
            out[redo] = self._banded(h[redo])
        return out

    def _banded(self, h: np.ndarray) -> np.ndarray:
        m = h.max(axis=-1, keepdims=True)
        live = np.isfinite(m)  # lines with at least one finite entry
        m[~live] = 0.0
        depth = m - h  # >= 0; +inf on -inf entries
        with np.errstate(invalid="ignore"):  # inf // B on -inf entries, masked out below
            band_of = np.where(np.isfinite(depth), np.minimum(depth // _BAND, _MAX_BANDS - 1), -1)
        logs = []
        hidden = np.full(h.shape[:-1] + self.kernel_t.shape[1:], -np.inf)
        scaled = np.zeros_like(h)
        with np.errstate(divide="ignore"):
            for b in range(_MAX_BANDS):
                band = band_of == b
                if not band.any():
                    continue
                top = m - b * _BAND
                scaled[...] = 0.0
                np.exp(h - top, out=scaled, where=band)
                s = scaled @ self.kernel_t
                logs.append(np.log(s) + top)
                lost = (s < _TINY) & band.any(axis=-1, keepdims=True)
                hidden = np.where(lost, np.maximum(hidden, top + np.log(_TINY)), hidden)
        out = np.logaddexp.reduce(np.stack(logs), axis=0) if logs else hidden.copy()
        bad = (hidden > out - _MARGIN) & live
        out += self.shift
        if bad.any():
            lines = h.reshape(-1, h.shape[-1])
            flat = np.broadcast_to(
                np.arange(lines.shape[0]).reshape(h.shape[:-1] + (1,)), bad.shape
            )
            out[bad] = logsumexp_last(lines[flat[bad]] + self.log_kernel[np.nonzero(bad)[-1]])
        return out


class LogKernel:
    """The log Gibbs kernel ``-M/reg`` of a dense cost matrix or a :class:`Grid`.

    ``rows(h)[..., i] = LSE_j(h[..., j] - M_ij/reg)`` (sum over the target index) and
    ``cols(h)[..., j] = LSE_i(h[..., i] - M_ij/reg)`` (sum over the source index); leading axes
    of ``h`` are batch axes.
    """

    def __init__(self, cost: np.ndarray | Grid, reg: float) -> None:
        self.cost = cost
        self.reg = reg
        # cost-weighted kernels, built on demand: per axis (grid) or rows and columns (dense)
        self._weighted: list[LogSumExpProduct] | None = None
        if isinstance(cost, Grid):
            self._axes = [LogSumExpProduct(-m / reg) for m in cost.axis_costs()]
        else:
            self._rows = LogSumExpProduct(-cost / reg)
            self._cols = self._rows.transpose()

    @staticmethod
    def _separable(h: np.ndarray, ops: list[LogSumExpProduct]) -> np.ndarray:
        nd = len(ops)
        for d, op in enumerate(ops):
            axis = h.ndim - nd + d
            h = np.moveaxis(op(np.moveaxis(h, axis, -1)), -1, axis)
        return h

    def _grid(self, h: np.ndarray) -> np.ndarray:
        """Separable soft-min on a grid; on 2-D grids both axes in one pass when it is exact.

        With a max shift ``m_i`` per row and ``c = max_i m_i`` per image, ``s = K_0 [(e^{h - m}
        K_1ᵀ) e^{m - c}]`` needs no exponential between the two axes. Every term this drops is
        below ``1e-300`` times the largest, so wherever ``s >= _TINY_2D`` the result
        ``c + log s`` is exact; images with a smaller entry are redone axis by axis (banded).
        """
        if len(self._axes) != 2:
            return self._separable(h, self._axes)
        first, second = self._axes
        lead = h.shape[:-2]
        h3 = h.reshape((-1,) + h.shape[-2:])
        m = h3.max(axis=-1, keepdims=True)
        live = np.isfinite(m)
        m = np.where(live, m, 0.0)
        c = np.where(live, m, -np.inf).max(axis=-2, keepdims=True)
        c[~np.isfinite(c)] = 0.0
        with np.errstate(under="ignore"):
            s = np.exp(h3 - m) @ second.kernel_t
            s *= np.where(live, np.exp(m - c), 0.0)
            s = first.kernel_t.T @ s
        with np.errstate(divide="ignore"):
            out = np.log(s)
        out += c + (first.shift + second.shift)
        redo = ((s < _TINY_2D) & live.any(axis=-2, keepdims=True)).any(axis=(-2, -1))
        if redo.any():
            out[redo] = self._separable(h3[redo], self._axes)
        return out.reshape(lead + out.shape[-2:])

    def rows(self, h: np.ndarray) -> np.ndarray:
        """Soft-min over the target index (see class docstring)."""
        if isinstance(self.cost, Grid):
            return self._grid(h)
        return self._rows(h)

    def cols(self, h: np.ndarray) -> np.ndarray:
        """Soft-min over the source index (see class docstring)."""
        if isinstance(self.cost, Grid):
            return self._grid(h)  # the grid cost is symmetric
        return self._cols(h)

    def _dense_weighted(self) -> tuple[LogSumExpProduct, LogSumExpProduct]:
        """Dense cost-weighted soft-max over the target and over the source index (cached)."""
        if self._weighted is None:
            with np.errstate(divide="ignore"):
                op = LogSumExpProduct(self._rows.log_kernel + np.log(np.asarray(self.cost)))
            self._weighted = [op, op.transpose()]
        return self._weighted[0], self._weighted[1]

    def cost_rows(self, h: np.ndarray) -> np.ndarray:
        """``log Σ_j M_ij exp(h_j − M_ij/reg)``: the row sums of ``M ⊙ P`` in the log domain.

        On a grid ``M = Σ_d M_d``: each axis term is the soft-min with that axis' kernel
        weighted by ``M_d`` (``log M_d`` added to its log kernel), so no plan is formed. Needs
        ``M >= 0`` (true on a grid; dense costs are shifted by the caller).
        """
        if not isinstance(self.cost, Grid):
            return self._dense_weighted()[0](h)
        if self._weighted is None:
            with np.errstate(divide="ignore"):
                self._weighted = [
                    LogSumExpProduct(op.log_kernel + np.log(-self.reg * op.log_kernel))
                    for op in self._axes
                ]
        ops = self._axes
        terms = [
            self._separable(h, [self._weighted[k] if k == d else op for k, op in enumerate(ops)])
            for d in range(len(ops))
        ]
        return np.logaddexp.reduce(np.stack(terms), axis=0)

    def cost_cols(self, h: np.ndarray) -> np.ndarray:
        """``log Σ_i M_ij exp(h_i − M_ij/reg)`` (see :meth:`cost_rows`)."""
        if isinstance(self.cost, Grid):
            return self.cost_rows(h)  # the grid cost is symmetric
        return self._dense_weighted()[1](h)

    def transport_cost(self, h_src: np.ndarray, h_dst: np.ndarray) -> float:
        """``<M, P>`` for ``P_ij = exp(h_src_i + h_dst_j - M_ij/reg)``."""
        if not isinstance(self.cost, Grid):
            plan = np.exp(self._rows.log_kernel + np.add.outer(h_src, h_dst))
            return float(np.vdot(plan, self.cost))
        return float(np.exp(h_src + self.cost_rows(h_dst)).sum())

    def log_dense(self) -> np.ndarray:
        """``-M/reg`` as a dense ``(n_src, n_dst)`` matrix (flattened grid indices)."""
        if isinstance(self.cost, Grid):
            return -self.cost.cost_matrix() / self.reg
        return self._rows.log_kernel
