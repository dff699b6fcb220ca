"""What every normalisation shares: the reference column statistics.

A normaliser takes ``x`` shaped (..., projects, indicators) and returns an array of the same
shape. A *relative* method reads the spread of each indicator over the projects of a reference:
``reference`` (projects', indicators) when given, else ``x`` itself along its projects axis
(each leading row, e.g. each Monte Carlo replication, separately), as COINr normalises one
cross-section.
"""

from __future__ import annotations

import numpy as np


def ref(x: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
    """The reference values, shaped to broadcast against ``x`` along the projects axis."""
    return x if reference is None else np.asarray(reference, dtype=float)
