"""Learning dynamics of soft committee machines and two-layer teacher-student networks.

Order-parameter ODEs for online SGD (Saad & Solla 1995; Goldt et al. 2019), with multiple
outputs (Yoshida, Karakida, Okada & Amari 2019), their symmetric fixed point and plateau, and
a vectorised online-SGD simulator that measures the same order parameters.
"""

from .integrals import IntegralProvider, integral_provider
from .ode import CommitteeFixedPoint, CommitteeODE, FixedPoint, random_overlaps
from .simulate import simulate
from .studies import (
    AngleRow,
    DimensionRow,
    PlateauStudy,
    output_angle_study,
    output_dim_study,
    plateau_study,
    time_to_learn,
)
from .trajectory import Plateau, Trajectory, decay_rate, plateau

__all__ = [
    "CommitteeODE",
    "CommitteeFixedPoint",
    "FixedPoint",
    "IntegralProvider",
    "Plateau",
    "Trajectory",
    "decay_rate",
    "integral_provider",
    "plateau",
    "random_overlaps",
    "simulate",
    "AngleRow",
    "DimensionRow",
    "PlateauStudy",
    "output_angle_study",
    "output_dim_study",
    "plateau_study",
    "time_to_learn",
]
