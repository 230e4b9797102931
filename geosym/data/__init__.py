r"""Real data for the Fisher theory: bundled benchmark sets, the user's arrays, input statistics.

* :func:`load` -> :class:`Dataset` (``"mnist-5k"``, ``"digits"`` or a ``.npz``/``.npy``/``.csv``
  path); nothing is downloaded, the bundled sets need ``pip install 'geosym[data]'``;
* :func:`input_statistics` -> :class:`InputStatistics`: the exact :math:`q_1^0, q_2^0` the
  mean-field theory takes (Karakida, Akaho & Amari, AISTATS 2019), and how far real inputs are
  from the equicorrelated Gram it assumes.

>>> from geosym.data import load, input_statistics
>>> st = input_statistics(load("digits").scaled(1.0))
>>> round(st.q1_0, 12), 0.6 < st.q2_0 < 0.8      # raw pixels are far from centred
(1.0, True)
"""

from .datasets import NAMES, Dataset, load
from .statistics import InputStatistics, input_statistics

__all__ = ["Dataset", "load", "NAMES", "InputStatistics", "input_statistics"]
