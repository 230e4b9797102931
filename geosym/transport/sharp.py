r"""Sharp Sinkhorn: the transport cost of the entropic plan, its gradient, and its barycenter.

The *sharp* Sinkhorn loss (Luise, Rudi, Pontil & Ciliberto 2018, NeurIPS, "Differential
properties of Sinkhorn approximation for learning with Wasserstein distance", §3) is the
transport cost of the entropic plan, without the entropy term:

.. math:: \tilde S_λ(a, b) = \langle M, P_λ(a, b)\rangle, \qquad
          P_λ(a, b) = \arg\min_{P \in U(a, b)} \langle M, P\rangle - λ H(P).

**Gradient** (Luise et al. 2018, §4: implicit function theorem at the Sinkhorn fixed point).
Write ``P_ij = exp((α_i + β_j − M_ij)/λ)``. A change ``db`` of the second marginal (``Σ db =
0``) moves the potentials by ``(dα, dβ)`` with ``P(dα ⊕ dβ)/λ`` having marginals ``(0, db)``:

.. math:: H \begin{pmatrix} dα \\ dβ \end{pmatrix} = \begin{pmatrix} 0 \\ λ\, db\end{pmatrix},
          \qquad H = \begin{pmatrix} \mathrm{diag}\, a & P \\ P^\top & \mathrm{diag}\, b
          \end{pmatrix},

and ``d\tilde S = Σ M_ij dP_ij = (⟨r, dα⟩ + ⟨c, dβ⟩)/λ`` with ``r = (M⊙P)1``,
``c = (M⊙P)ᵀ1``. With the adjoint ``H (x, y) = (r, c)`` (``H`` is symmetric; ``(r, c)`` is
orthogonal to its null vector ``(1, −1)`` since ``Σ r = Σ c``), ``d\tilde S = ⟨y, db⟩``: the
gradient in ``b`` is ``y``, defined up to a constant. Eliminating ``y = c/b − Q x`` and
dividing by ``a``,

.. math:: (I - T)\, x = r / a - R\,(c / b), \qquad T = R Q, \quad
          R = \mathrm{diag}(a)^{-1} P, \quad Q = \mathrm{diag}(b)^{-1} P^\top,

where ``R`` and ``Q`` are row-stochastic, so ``T`` is a Markov matrix reversible with respect to
``a``: ``I − T`` is symmetric positive semi-definite in the ``a``-weighted inner product, with
null space the constants. It is solved by conjugate gradients in that inner product, the plan
never formed: ``R y`` and ``Q z`` are log-domain soft-min applications of the (separable)
kernel to the positive and negative parts of ``y``, ``z``; then ``y = c/b − Q x`` on every
bin, also where ``b`` is tiny or zero. The solve is on the side of the fixed inputs ``a``:
the ``b``-side form ``(I − QR) y = c/b − Q(r/a)`` (same spectrum) stalls at its rounding
floor when ``b`` collapses onto a few bins (measured: 2000 iterations did not reach 1e-10,
where the ``a``-side solve, warm-started, takes 1-3).

**Barycenter** ``argmin_q Σ_k w_k \tilde S_λ(p_k, q)`` (the sharp barycenter used as a
baseline by Janati, Cuturi & Gramfort 2020, ICML, "Debiased Sinkhorn barycenters", §5):
mirror descent with the entropy mirror map (exponentiated gradient; Beck & Teboulle 2003),
``q ← q ⊙ e^{−η ∇J} / Z``, with backtracking on the step ``η`` until the descent-lemma bound
``J(q⁺) <= J(q) + ⟨∇J, q⁺ − q⟩ + KL(q⁺‖q)/η`` holds, starting from ``η = 1/λ`` (the step at
which exponentiated gradient on the entropic objective is the Bregman-projection update).
The objective is not convex; the iteration finds a stationary point near its start. Each trial
step re-solves Sinkhorn warm-started from the current potentials; where the kernel mixes slowly
(a few bins per ``√λ``) and that takes more than :data:`PLAIN_SWEEPS` sweeps, from their
first-order prediction instead (the linearised marginal conditions, solved by the same
conjugate gradients; error second order in the step: 16 bins at ``λ = 10⁻² max M``, ~70 sweeps
per step instead of ~270). A descent whose error has not halved over :data:`STALL_WINDOW`
accepted steps is stopped and reported as stalled: more iterations would not help.

**Limits (measured).** The sharp barycenter is not translation invariant and over-concentrates
at large ``λ``: for a bump (FWHM 0.094) shifted ±24 of 120 pixels it has FWHM 0.95× the exact
one at ``λ = 2e-3`` (L1 error 0.05), but at ``λ = 1e-2`` it collapses towards a few bins
and the descent creeps: after 1600 iterations the stationarity residual is 8e-8 but ``q``
still moves by 5e-6 per step when the line search reaches the rounding floor of ``J``
(stall detection now stops it after ~300 iterations, residual 1e-5). Near convergence the
decrease of ``J`` per step (1e-10 for 16 bins at ``λ = 10⁻³``) approaches the error of ``J``
from the inner Sinkhorn tolerance, and the line search then decides on noise.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ._checks import as_histogram, check_cost, check_positive_int, check_reg, histogram_shapes
from ._grid import Grid
from ._kernel import LogKernel
from ._sweeps import sweeps

__all__ = ["sharp_sinkhorn"]

#: relative residual (b-weighted norm) at which the conjugate-gradient solve of the gradient stops
CG_TOL = 1e-10
#: at most this many conjugate-gradient iterations per gradient (warm-started solves take 1-3)
CG_MAX_ITER = 300
#: log q is held at most this far below its maximum (mass ratio e^{-800}: exactly zero in double)
ZERO_DEPTH = 800.0
#: mirror descent: the step grows by this factor after an accepted step, shrinks by 1/2 otherwise
STEP_GROWTH = 1.25
#: the q-step is the largest L1 change of q over this many consecutive accepted steps
Q_STEPS = 3
#: the line search gives up (rounding floor of the objective reached) after this many halvings
#: of the step in a row
MAX_HALVINGS = 40
#: Sinkhorn sweeps per objective evaluation from the current potentials before switching to
#: their first-order prediction (the inputs of issue-scale tests need 1-3; slowly mixing
#: kernels, e.g. 16 bins at λ = 1e-2 · max M, ~270, ~70 from the prediction)
PLAIN_SWEEPS = 20
#: at most this many Sinkhorn sweeps per objective evaluation
INNER_MAX_ITER = 10_000
#: the descent has stalled when its error (the larger of residual / tol and q-step / q_tol) has
#: not halved over this many consecutive accepted steps
STALL_WINDOW = 100


def _log_parts(y: np.ndarray) -> np.ndarray:
    """``log`` of the positive and negative parts of ``y``, stacked on a new first axis."""
    with np.errstate(divide="ignore"):
        return np.log(np.stack([np.maximum(y, 0.0), np.maximum(-y, 0.0)]))


class EntropicPlans:
    """Entropic plans ``P_k = diag(a_k) e^{f_k ⊕ g_k − M/λ} diag(b_k)``, never formed.

    ``log_a``, ``log_b``, ``f``, ``g`` have a leading batch axis (one plan per entry); ``f`` and
    ``g`` are the scaled potentials of :func:`~geosym.transport._sweeps.sweeps`. The potentials
    are re-derived as ``f = −rows(log b + g)``, ``g = −cols(log a + f)`` so that ``R`` and ``Q``
    (module docstring) are exactly stochastic.
    """

    def __init__(self, kernel: LogKernel, log_a: np.ndarray, log_b: np.ndarray, g: np.ndarray):
        self.kernel = kernel
        self.log_a, self.log_b = log_a, log_b
        self.x: np.ndarray | None = None  # the source-side unknown of the last gradient
        self.big_g = log_b + g
        self.f = -kernel.rows(self.big_g)
        self.big_f = log_a + self.f
        self.g = -kernel.cols(self.big_f)
        self.axes = tuple(range(1, log_b.ndim))  # the histogram axes of each plan

    def transport_costs(self) -> np.ndarray:
        """``⟨M, P_k⟩`` per plan."""
        return np.exp(self.big_f + self.kernel.cost_rows(self.big_g)).sum(axis=self.axes)

    def row_average(self, y: np.ndarray) -> np.ndarray:
        """``R y = diag(a)^{-1} P y``."""
        t = self.kernel.rows(self.big_g + _log_parts(y))
        return np.exp(self.f + t[0]) - np.exp(self.f + t[1])

    def col_average(self, z: np.ndarray) -> np.ndarray:
        """``Q z = diag(b)^{-1} Pᵀ z``."""
        t = self.kernel.cols(self.big_f + _log_parts(z))
        return np.exp(self.g + t[0]) - np.exp(self.g + t[1])

    def solve(self, h: np.ndarray, x0: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """Solve ``(I − T) x = h`` (``T = RQ``; module docstring) per plan; ``x`` centred.

        Conjugate gradients in the ``a``-weighted inner product, where ``I − T`` is symmetric
        positive semi-definite with null space the constants (``h`` is projected off them),
        warm-started from ``x0``, to relative residual :data:`CG_TOL` or :data:`CG_MAX_ITER`
        iterations. Returns ``x`` and the number of iterations.
        """
        a = np.exp(self.log_a)
        live = a > 0

        def dot(u: np.ndarray, v: np.ndarray) -> np.ndarray:
            return (a * u * v).sum(axis=self.axes, keepdims=True)

        def centre(u: np.ndarray) -> np.ndarray:
            return np.where(live, u - dot(u, np.ones_like(u)), 0.0)

        def markov(u: np.ndarray) -> np.ndarray:
            return self.row_average(self.col_average(u))

        h = centre(h)
        x = np.zeros_like(h) if x0 is None else centre(x0)
        res = centre(h - (x - markov(x)))
        direction = res.copy()
        rr = dot(res, res)
        stop = (CG_TOL**2) * dot(h, h)
        n_iter = 0
        while n_iter < CG_MAX_ITER and np.any(rr > stop):
            n_iter += 1
            a_dir = direction - markov(direction)
            curv = dot(direction, a_dir)
            step = np.divide(rr, curv, out=np.zeros_like(rr), where=curv > 0)
            x = x + step * direction
            res = centre(res - step * a_dir)
            rr_next = dot(res, res)
            direction = (
                res + np.divide(rr_next, rr, out=np.zeros_like(rr), where=rr > 0) * direction
            )
            rr = rr_next
        return x, n_iter

    def gradient(self, x0: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """``∇_b ⟨M, P⟩`` per plan (module docstring), centred so that ``⟨∇, b⟩ = 0``.

        ``x0`` warm-starts the source-side unknown (the ``x`` of an earlier call, kept in
        ``self.x``). Returns the gradients and the number of conjugate-gradient iterations.
        """
        r_over_a = np.exp(self.f + self.kernel.cost_rows(self.big_g))
        c_over_b = np.exp(self.g + self.kernel.cost_cols(self.big_f))
        x, n_iter = self.solve(r_over_a - self.row_average(c_over_b), x0)
        self.x = x
        y = c_over_b - self.col_average(x)
        b = np.exp(self.log_b)
        return y - (b * y).sum(axis=self.axes, keepdims=True), n_iter

    def predicted_g(self, log_b: np.ndarray) -> np.ndarray:
        """First-order potentials ``G`` of the plan with second marginal ``e^{log_b}``.

        Linearising the marginal conditions of ``a b' e^{F + u ⊕ G + v − M/λ}`` around this
        plan (``b' = b (1 + d)``, ``Σ b d = 0``): rows give ``u = −R (d + v)``, columns
        ``v = −Q u``, so ``(I − T) u = −R d`` and ``G' = G − Q u``. The Sinkhorn sweeps
        started there have an error of second order in ``d`` instead of first.
        """
        live = np.exp(self.log_b) > 0
        d = np.where(live, np.expm1(np.clip(log_b - self.log_b, -1.0, 1.0)), 0.0)
        u, _ = self.solve(-self.row_average(d))
        return self.g - self.col_average(u)


def _shifted(cost: np.ndarray | Grid) -> tuple[np.ndarray | Grid, float]:
    """A non-negative cost with the same plans: ``M − min M`` for dense costs, and the shift."""
    if isinstance(cost, Grid):
        return cost, 0.0
    low = float(cost.min())
    return cost - low, low


def sharp_sinkhorn(
    a: np.ndarray,
    b: np.ndarray,
    cost: np.ndarray | Grid,
    reg: float,
    tol: float = 1e-11,
    max_iter: int = 100_000,
) -> tuple[float, np.ndarray]:
    r"""The sharp Sinkhorn loss ``⟨M, P_λ(a, b)⟩`` and its gradient in ``b``.

    Luise, Rudi, Pontil & Ciliberto 2018 (NeurIPS, §3-4); see the module docstring for the
    derivation through the Sinkhorn fixed point. The plan ``P_λ(a, b)`` is the entropic plan
    of :func:`~geosym.transport.sinkhorn`; the loss is its ``transport_cost``.

    Parameters
    ----------
    a, b : array_like
        Histograms (``b`` may have zero bins: the gradient there is the limit from inside).
    cost : array_like or Grid
    reg : float
        Regularisation λ > 0 in cost units.
    tol, max_iter
        Sinkhorn stopping rule (column marginal error in L1, sweeps). The gradient inherits
        an error of the order of ``tol`` times the cost scale.

    Returns
    -------
    value : float
        ``⟨M, P_λ(a, b)⟩``.
    gradient : numpy.ndarray
        ``∂/∂b ⟨M, P_λ(a, b)⟩``, shape of ``b``, for directions with ``Σ db = 0`` (the
        gradient is returned with ``⟨gradient, b⟩ = 0``).

    Examples
    --------
    >>> import numpy as np
    >>> from geosym.transport import Grid
    >>> from geosym.transport.sharp import sharp_sinkhorn
    >>> x = np.linspace(0, 1, 50)
    >>> a, b = (np.exp(-(x - c) ** 2 / 0.005) for c in (0.3, 0.7))
    >>> a, b = a / a.sum(), b / b.sum()
    >>> value, grad = sharp_sinkhorn(a, b, Grid((50,)), 1e-3)
    >>> round(value, 4), grad.shape, abs(float(grad @ b)) < 1e-12
    (0.1605, (50,), True)
    """
    cost = check_cost(cost)
    reg = check_reg(reg)
    tol = check_reg(tol, "tol")
    max_iter = check_positive_int(max_iter, "max_iter")
    src, dst = histogram_shapes(cost)
    a, b = as_histogram(a, "a", src), as_histogram(b, "b", dst)
    cost, low = _shifted(cost)
    kernel = LogKernel(cost, reg)
    with np.errstate(divide="ignore"):
        log_a, log_b = np.log(a)[None], np.log(b)[None]
    _, g, _, _, _ = sweeps(kernel, log_a, log_b, np.zeros_like(log_b), tol, max_iter)
    plans = EntropicPlans(kernel, log_a, log_b, g)
    grad, _ = plans.gradient()
    return float(plans.transport_costs()[0]) + low, grad[0]


def _spread(log_q: np.ndarray, grad: np.ndarray) -> float:
    """``Σ_j q_j |∂_j J − ⟨∇J, q⟩|``: zero exactly when ``q`` is stationary on its support."""
    q = np.exp(log_q)
    return float(np.sum(q * np.abs(grad - np.sum(q * grad))))


def sharp_barycenter_descent(
    cost: np.ndarray | Grid,
    reg: float,
    log_p: np.ndarray,
    w: np.ndarray,
    log_q: np.ndarray,
    tol: tuple[float, float],
    max_iter: int,
    history: list[tuple[int, float, float]],
    inner_sweeps: list[int] | None = None,
) -> tuple[np.ndarray, tuple[float, float], int, str]:
    """Mirror descent on ``J(q) = Σ_k w_k ⟨M, P_λ(p_k, q)⟩`` from ``log_q`` (module docstring).

    One iteration is one trial step (accepted or not). After each accepted step the
    stationarity residual ``Σ_j q_j |∂_j J − ⟨∇J, q⟩| / max M`` (zero exactly when ``q`` is
    stationary on its support) and the q-step (largest L1 change of ``q`` over the last
    ``Q_STEPS`` accepted steps) are appended to ``history``. Stops when both are below
    ``tol = (gap tol, q-step tol)``; when the line search reaches the rounding floor of ``J``
    (:data:`MAX_HALVINGS` halvings in a row); or when the descent stalls: its error
    ``max(residual / tol, q-step / q_tol)`` has not halved over :data:`STALL_WINDOW` accepted
    steps (a creeping descent, see "Limits" in the module docstring, that would run to
    ``max_iter`` without converging). Returns ``log q``, the two residuals, the iterations
    and why it stopped short (``""`` when converged or out of iterations). The Sinkhorn
    sweeps of each trial step are appended to ``inner_sweeps`` (if given).
    """
    if inner_sweeps is None:
        inner_sweeps = []
    cost, _ = _shifted(cost)
    kernel = LogKernel(cost, reg)
    w_b = w.reshape((-1,) + (1,) * (log_p.ndim - 1))
    inner_tol = min(1e-9, 1e-3 * tol[0])

    def evaluate(
        log_q: np.ndarray, start: EntropicPlans | None
    ) -> tuple[float, EntropicPlans, int]:
        """``J`` at ``log_q``, its plans and the Sinkhorn sweeps spent.

        Warm-started from the potentials of ``start`` (the current iterate); when
        :data:`PLAIN_SWEEPS` sweeps do not converge from there, from its first-order
        prediction :meth:`EntropicPlans.predicted_g` instead.
        """
        log_b = np.broadcast_to(log_q, log_p.shape)
        g = np.zeros_like(log_p) if start is None else start.g
        _, g_new, err, _, used = sweeps(kernel, log_p, log_b, g, inner_tol, PLAIN_SWEEPS)
        if err > inner_tol:
            g = np.zeros_like(log_p) if start is None else start.predicted_g(log_b)
            _, g_new, _, _, more = sweeps(kernel, log_p, log_b, g, inner_tol, INNER_MAX_ITER)
            used += more
        plans = EntropicPlans(kernel, log_p, log_b, g_new)
        return float(w @ plans.transport_costs()), plans, used

    value, plans, _ = evaluate(log_q, None)
    grads, _ = plans.gradient()
    scale = cost.max_cost if isinstance(cost, Grid) else float(cost.max())
    eta = 1.0 / reg
    steps: deque[float] = deque(maxlen=Q_STEPS)
    grad = (w_b * grads).sum(axis=0)
    err = (_spread(log_q, grad) / scale, float("inf"))
    n_iter = halvings = 0
    anchor, since = float("inf"), 0  # error at the last halving, accepted steps since then
    while n_iter < max_iter:
        if halvings == MAX_HALVINGS:
            return (
                log_q,
                err,
                n_iter,
                (
                    f"the line search reached the rounding floor of the objective "
                    f"({MAX_HALVINGS} step halvings in a row, step {eta:.3g})"
                ),
            )
        n_iter += 1
        q = np.exp(log_q)
        trial = log_q - eta * grad
        trial -= np.logaddexp.reduce(trial.ravel())
        trial = np.maximum(trial, trial.max() - ZERO_DEPTH)
        q_trial = np.exp(trial)
        new_value, new_plans, used = evaluate(trial, plans)
        inner_sweeps.append(used)
        kl = float(np.sum(q_trial * (trial - log_q)))
        if new_value > value + float(np.sum(grad * (q_trial - q))) + kl / eta + 1e-15 * abs(value):
            eta *= 0.5
            halvings += 1
            continue
        eta *= STEP_GROWTH
        halvings = 0
        steps.append(float(np.abs(q_trial - q).sum()))
        log_q, value, plans, x_prev = trial, new_value, new_plans, plans.x
        grads, _ = plans.gradient(x_prev)
        grad = (w_b * grads).sum(axis=0)
        gap = _spread(log_q, grad) / scale
        step = max(steps) if len(steps) == Q_STEPS else float("inf")
        err = (gap, step)
        history.append((n_iter, gap, step))
        if gap <= tol[0] and step <= tol[1]:
            break
        ratio = max(gap / tol[0], step / tol[1] if tol[1] < float("inf") else 0.0)
        if ratio <= 0.5 * anchor:
            anchor, since = ratio, 0
        else:
            since += 1
        if since == STALL_WINDOW:
            return (
                log_q,
                err,
                n_iter,
                (
                    f"stalled: the residuals did not halve over the last {STALL_WINDOW} accepted "
                    f"steps (mirror-descent step {eta:.3g}, objective {value:.12g})"
                ),
            )
    return log_q, err, n_iter, ""
