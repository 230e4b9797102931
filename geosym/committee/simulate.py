r"""Online SGD of two-layer teacher-student networks, vectorised over seeds.

The ground truth that the order-parameter ODEs (:class:`~geosym.committee.CommitteeODE`) are
checked against.  Model and scalings are those of :ref:`theory-committee` (Saad & Solla 1995;
Goldt et al. 2019; Yoshida, Karakida, Okada & Amari 2019): at every step a fresh input
:math:`\mathbf x\sim\mathcal N(0, I_N)`,

.. math::

    \mathbf w_i \leftarrow \mathbf w_i + \frac{\eta}{\sqrt N}\,g'(\lambda_i)\,
        (\mathbf v_i\cdot\boldsymbol\Delta)\,\mathbf x - \frac{\kappa}{N}\mathbf w_i,\qquad
    \mathbf v_i \leftarrow \mathbf v_i + \frac{\eta_v}{N}\,g(\lambda_i)\,\boldsymbol\Delta
        - \frac{\kappa}{N}\mathbf v_i,

with :math:`\boldsymbol\Delta=\mathbf y-\boldsymbol\phi`, and time advances by :math:`1/N` per
step (:math:`\alpha=\mu/N`).  All seeds run in lock-step as one batched array computation; the
only Python loop is over SGD steps, and it touches only K-vectors: inputs are drawn for a chunk
of steps at once, and within a chunk the student fields are obtained from the Gram matrix of
the chunk's inputs (:math:`\lambda_t = W_0x_t/\sqrt N + \sum_{s<t}c_s\,x_s\cdot x_t/N`,
exact), so :math:`W` is updated by one matrix product per chunk instead of a rank-one update
per step.  The measured order parameters
:math:`Q=\mathbf w\mathbf w^\top/N`, :math:`R=\mathbf w\mathbf w^{*\top}/N`, :math:`T` and the
second layers are stored at the requested times, and :math:`\epsilon_g` is computed *exactly*
from them through the Gaussian integral :math:`I_2` (inputs are Gaussian), or, with
``test_size > 0``, measured on a held-out set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _checks
from .._memory import require_memory
from ..errors import NumericalError
from .trajectory import Trajectory

__all__ = ["simulate"]

#: Steps per inner block of the field updates (see :func:`simulate`).
_BLOCK = 16
_MAX_WORK = 2e10  # default cap on seeds x steps x N x (K + M) of one simulate call


def _as_seeds(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, bool):
        raise TypeError("seeds must be a count (int) or a list of seeds, got a bool")
    if isinstance(seeds, int | np.integer):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1 (a count) or a list of seeds, got {seeds}")
        return list(range(int(seeds)))
    out = [int(s) for s in seeds]
    if not out:
        raise ValueError("seeds: give at least one seed")
    return out


def simulate(
    activation: Any,
    N: int,
    K: int,
    M: int,
    outputs: int = 1,
    eta: float = 0.5,
    alpha_max: float = 10.0,
    seeds: int | Sequence[int] = 1,
    *,
    eta_v: float = 0.0,
    noise: float = 0.0,
    weight_decay: float = 0.0,
    teacher_cov: Any = None,
    teacher_out: Any = None,
    student_out: Any = None,
    alphas: Any = None,
    test_size: int = 0,
    chunk: int = 256,
    max_work: float = _MAX_WORK,
) -> list[Trajectory]:
    r"""Run online SGD for every seed and return one :class:`Trajectory` per seed.

    Parameters
    ----------
    activation
        Spec string, :class:`geosym.Activation` or
        :class:`~geosym.committee.integrals.IntegralProvider`.
    N, K, M, outputs
        Input dimension, student and teacher hidden units, output dimension :math:`L`.
    eta, eta_v
        Learning rates of the first layer (step :math:`\eta/\sqrt N`) and second layer (step
        :math:`\eta_v/N`; 0 = fixed).
    alpha_max
        Final time; the run has ``round(alpha_max*N)`` steps.
    seeds
        Number of seeds or list of seeds.  Seed ``s`` draws its own teacher
        :math:`w^*_{nj}\sim\mathcal N(0,1)` (so :math:`T\approx I`; with ``teacher_cov`` the
        teacher is transformed so that :math:`\mathbf w^*\mathbf w^{*\top}/N = T` exactly), its
        student :math:`w_{ij}\sim\mathcal N(0,1)` and its inputs.
    noise, weight_decay
        Output-noise std :math:`\sigma` and weight decay :math:`\kappa`.
    teacher_out
        M×L teacher second layer (default ones, L = 1).
    student_out
        K×L initial student second layer (default: the teacher's when K = M and the layer is
        fixed, ones when fixed and K ≠ M, :math:`\mathcal N(0, 1/K)` per seed when trained).
    alphas
        Recording times (default: the ODE's default grid); rounded to whole steps.
    test_size
        0: :math:`\epsilon_g` exactly from the overlaps.  >0: on this many held-out inputs per
        seed (for comparisons where the Gaussian integral is not wanted).
    chunk
        Steps whose inputs are drawn in one call.
    max_work
        Refuse (``ValueError``, before any work) a run of more than this many multiply-adds,
        counted as seeds x steps x N x (K + M): the default (2e10, a few minutes on one core;
        ``N = 1000``, ``alpha_max = 600``, K = M = 3, 3 seeds is 1.1e10) keeps a run within
        minutes; raise it for a deliberately long run.

    Examples
    --------
    >>> from geosym.committee import simulate
    >>> runs = simulate("erf(x/sqrt(2))", N=100, K=2, M=2, alpha_max=2.0, seeds=2)
    >>> len(runs), type(runs[0]).__name__
    (2, 'Trajectory')
    >>> bool(runs[0].eps_g[-1] < runs[0].eps_g[0])
    True
    """
    from .ode import CommitteeODE, default_alphas  # validation and eps_g formula shared

    N = _checks.positive_int(N, "N")
    chunk = _checks.positive_int(chunk, "chunk")
    test_size = _checks.positive_int(test_size, "test_size", allow_zero=True)
    seed_list = _as_seeds(seeds)
    alpha_max = float(alpha_max)
    if not np.isfinite(alpha_max) or alpha_max <= 0:
        raise ValueError(f"alpha_max must be a finite number > 0, got {alpha_max!r}")
    n_seeds = len(seed_list)
    fields = _checks.positive_int(K, "K") + _checks.positive_int(M, "M")
    work = float(n_seeds) * alpha_max * N * N * fields
    if work > max_work:
        raise ValueError(
            f"simulate with N = {N}, alpha_max = {alpha_max:g}, K = {K}, M = {M}, {n_seeds} "
            f"seed(s) takes about {alpha_max * N:.3g} SGD steps of N x (K + M) each, "
            f"{work:.3g} multiply-adds in all, more than max_work = {max_work:.3g} (minutes on "
            f"one core): reduce N, alpha_max or the number of seeds, or raise max_work"
        )
    # the ODE object validates K, M, L, eta, ... (before building the integrals of the
    # activation, which takes seconds) and provides eps_g from the overlaps
    model = CommitteeODE(
        activation,
        K,
        M,
        outputs,
        eta=eta,
        eta_v=eta_v,
        noise=noise,
        weight_decay=weight_decay,
        teacher_cov=teacher_cov,
        teacher_out=teacher_out,
    )
    prov = model.integrals
    L = model.L
    steps_total = int(round(alpha_max * N))
    grid = default_alphas(alpha_max) if alphas is None else np.asarray(alphas, dtype=float)
    rec_steps = np.unique(np.clip(np.round(grid * N).astype(np.int64), 0, steps_total))
    g, dg = prov.act.array_function, prov.act.derivative(1).array_function
    S, P = len(seed_list), K + M
    # peak: weights, one chunk of inputs with its Gram, the recorded overlaps, the test inputs
    require_memory(
        8.0
        * S
        * (
            (K + M) * N
            + min(chunk, max(steps_total, 1)) * (N + chunk + P)
            + rec_steps.size * K * (P + model.L)
            + test_size * (N + P)
        ),
        f"simulate with N = {N}, K = {K}, M = {M}, {S} seed(s)",
        "N, the number of seeds, test_size, chunk or the number of recorded alphas",
    )
    rngs = [np.random.default_rng(s) for s in seed_list]
    W = np.stack([r.standard_normal((K, N)) for r in rngs])
    Ws = np.stack([r.standard_normal((M, N)) for r in rngs])
    if teacher_cov is not None:
        lt = np.linalg.cholesky(model.T)
        lh = np.linalg.cholesky(Ws @ np.swapaxes(Ws, 1, 2) / N)
        Ws = lt @ np.linalg.solve(lh, Ws)
    Vs = model.teacher_out  # (M, L)
    if student_out is not None:
        V = np.broadcast_to(np.array(student_out, dtype=float).reshape(K, L), (S, K, L)).copy()
    elif eta_v > 0:
        V = np.stack([r.standard_normal((K, L)) / np.sqrt(K) for r in rngs])
    else:
        V = np.broadcast_to(model._default_V(), (S, K, L)).copy()
    sq = np.sqrt(N)
    a_v, decay = eta_v / N, weight_decay / N
    nrec = rec_steps.size
    Qr = np.empty((S, nrec, K, K))
    Rr = np.empty((S, nrec, K, M))
    Vr = np.empty((S, nrec, K, L))
    Tr = Ws @ np.swapaxes(Ws, 1, 2) / N
    if test_size:
        xt = [
            np.random.default_rng([s, 104729]).standard_normal((int(test_size), N))
            for s in seed_list
        ]  # own stream: the SGD run is the same with or without it
        eps_test = np.empty((S, nrec))

    def record(j: int) -> None:
        Qr[:, j] = W @ np.swapaxes(W, 1, 2) / N
        Rr[:, j] = W @ np.swapaxes(Ws, 1, 2) / N
        Vr[:, j] = V
        if test_size:
            for s in range(S):  # per seed: held-out evaluation, vectorised over samples
                lam = xt[s] @ W[s].T / sq
                rho = xt[s] @ Ws[s].T / sq
                d = g(rho) @ Vs - g(lam) @ V[s]
                eps_test[s, j] = 0.5 * np.mean(np.sum(d**2, axis=1))

    j = 0
    if rec_steps[0] == 0:
        record(0)
        j = 1
    step = 0
    noise_rng = np.random.default_rng([*seed_list, 7919])
    f = 1.0 - decay
    Wt = np.swapaxes(W, 1, 2).copy()  # (S, N, K)
    with np.errstate(over="raise", invalid="raise"):
        try:
            while step < steps_total:
                n = min(chunk, steps_total - step)
                # inputs of the next n steps, one fresh sample per step and seed (own streams)
                X = np.stack([r.standard_normal((n, N)) for r in rngs])  # (S, n, N)
                gy = g(X @ np.swapaxes(Ws, 1, 2) / sq) @ Vs  # (S, n, L)
                if noise > 0:
                    gy = gy + noise * noise_rng.standard_normal(gy.shape)
                G = X @ np.swapaxes(X, 1, 2) / N  # (S, n, n): x_s . x_t / N
                t0 = 0
                while t0 < n:
                    # segment [t0, t1): ends at the next recording step or the chunk's end
                    t1 = n if j >= nrec else int(min(n, t0 + rec_steps[j] - step))
                    m = t1 - t0
                    # Within a segment W_t = f^t [W_0 + sum_{s<t} c_s x_s^T / sqrt(N)], so the
                    # fields are lam_t = f^t [W_0 x_t / sqrt(N) + sum_{s<t} c_s G_st]: exact
                    # online SGD, with only K-vectors updated per step and W once per segment.
                    lp = X[:, t0:t1] @ Wt / sq  # (S, m, K), pending fields
                    c = np.empty((S, m, K))
                    fj = 1.0
                    for b0 in range(0, m, _BLOCK):
                        b1 = min(m, b0 + _BLOCK)
                        for t in range(b0, b1):  # the unavoidable loop over SGD steps
                            lam = lp[:, t] * fj if decay else lp[:, t]
                            gl = g(lam)
                            delta = gy[:, t0 + t] - (gl[:, None, :] @ V)[:, 0]  # (S, L)
                            back = dg(lam) * (V @ delta[:, :, None])[:, :, 0]  # (S, K)
                            fj *= f
                            ct = back * (eta / fj) if decay else back * eta
                            c[:, t] = ct
                            if t + 1 < b1:  # fields of the rest of this block
                                lp[:, t + 1 : b1] += (
                                    G[:, t0 + t, t0 + t + 1 : t0 + b1, None] * ct[:, None, :]
                                )
                            if a_v:
                                if decay:
                                    V *= f
                                V += a_v * gl[:, :, None] * delta[:, None, :]
                        if b1 < m:  # the block's updates, for the fields of the later steps
                            lp[:, b1:] += G[:, t0 + b1 : t1, t0 + b0 : t0 + b1] @ c[:, b0:b1]
                    Wt += np.swapaxes(X[:, t0:t1], 1, 2) @ c / sq
                    if decay:
                        Wt *= fj
                    step += m
                    t0 = t1
                    if not np.all(np.isfinite(Wt)):
                        raise FloatingPointError
                    if j < nrec and step == rec_steps[j]:
                        W = np.swapaxes(Wt, 1, 2)
                        record(j)
                        j += 1
        except FloatingPointError:
            raise NumericalError(
                f"SGD blew up at alpha = {step / N:.6g} (weights overflowed); eta = {eta} is "
                "probably too large"
            ) from None
    alpha_rec = rec_steps / N
    out = []
    for s, seed in enumerate(seed_list):
        Tm = Tr[s]
        sub = CommitteeODE(
            prov,
            K,
            M,
            L,
            eta=eta,
            eta_v=eta_v,
            noise=noise,
            weight_decay=weight_decay,
            teacher_cov=Tm,
            teacher_out=Vs,
        )
        eps = eps_test[s] if test_size else sub.eps_g(Qr[s], Rr[s], Vr[s])
        meta = {
            "activation": prov.act.name,
            "N": int(N),
            "seed": int(seed),
            "K": K,
            "M": M,
            "L": L,
            "eta": float(eta),
            "eta_v": float(eta_v),
            "noise": float(noise),
            "weight_decay": float(weight_decay),
            "eps_method": "test set" if test_size else "exact from overlaps (I2)",
        }
        out.append(
            Trajectory(
                alpha=alpha_rec.copy(),
                Q=Qr[s],
                R=Rr[s],
                V=Vr[s],
                eps_g=eps,
                T=Tm,
                teacher_out=Vs.copy(),
                source="sgd",
                meta=meta,
                model=sub,
            )
        )
    return out
