"""The year kernel: score → grade → link on arrays shaped (rows, projects)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from perfsim.kernel.grading import Grading
from perfsim.kernel.linkage import Linkage, LinkageResult


def allocate(score: np.ndarray, budget: np.ndarray, grading: Grading, linkage: Linkage,
             flags: Mapping[str, np.ndarray] | None = None) -> tuple[np.ndarray, LinkageResult]:
    """Grade scores (..., projects) and apply the linkage rule to budgets (yuan)."""
    grade = grading.grade(score)
    return grade, linkage.apply(budget, score, grade, flags)
