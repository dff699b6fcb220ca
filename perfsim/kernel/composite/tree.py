"""A composite indicator over a hierarchy of any depth: normalise the leaves, then aggregate
level by level, each group by its own method, and the level-1 groups to the total.

The hierarchy is given as arrays: ``paths`` (leaves, depth) holds, for each leaf, the index of
its group at each level (level 1 first); a leaf that sits higher than the deepest level passes
through groups of its own (a group with one child is that child, for every method).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perfsim.kernel.composite.aggregate import AGGREGATORS
from perfsim.kernel.composite.normalise import NORMALISERS, RELATIVE
from perfsim.kernel.scoring.aggregation import ordinal_total

#: the total's names (the indicator system's ``aggregation:``) as aggregators
TOTAL_AS = {"weighted_sum": "arithmetic", "geometric": "geometric", "weakest_link": "min"}


def level_paths(leaf_paths: Sequence[Sequence[str]]) -> tuple[np.ndarray, tuple[tuple[str,
                                                                                     ...], ...]]:
    """``paths`` (leaves, depth) of group indices from each leaf's group codes (level 1
    first), and the code of each group index at each level ('' for a pass-through group)."""
    depth = max((len(p) for p in leaf_paths), default=0)
    depth = max(depth, 1)
    paths = np.empty((len(leaf_paths), depth), dtype=np.intp)
    codes: list[list[str]] = [[] for _ in range(depth)]
    seen: list[dict[tuple[str, ...], int]] = [{} for _ in range(depth)]
    for i, p in enumerate(leaf_paths):
        for d in range(depth):
            key = tuple(p[:d + 1]) if d < len(p) else (*p, f"#leaf{i}", str(d))
            if key not in seen[d]:
                seen[d][key] = len(codes[d])
                codes[d].append(p[d] if d < len(p) else "")
            paths[i, d] = seen[d][key]
    return paths, tuple(tuple(c) for c in codes)


@dataclass(frozen=True, eq=False)
class Composite:
    """How leaf attainments (..., projects, leaves) become a share of the total.

    ``paths`` (leaves, depth): each leaf's group index at each level (:func:`level_paths`);
    ``methods``: per level, the aggregation of each group (a name of
    :data:`~perfsim.kernel.composite.aggregate.AGGREGATORS`); ``top``: the total from the
    level-1 groups (an aggregator or an ``aggregation:`` name, ``ordinal_average`` included);
    ``normalisation``: a name of :data:`~perfsim.kernel.composite.normalise.NORMALISERS` or
    ``none``; ``params``: keyword arguments by method name; ``reference`` (projects', leaves):
    the values relative normalisations read (None: the projects scored together)."""

    paths: np.ndarray
    methods: tuple[tuple[str, ...], ...]
    top: str = "weighted_sum"
    normalisation: str = "none"
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    reference: np.ndarray | None = None

    @property
    def relative(self) -> bool:
        """The normalisation reads the other projects and no reference is fixed."""
        return self.normalisation != "none" and RELATIVE[self.normalisation] \
            and self.reference is None

    def normalised(self, attainment: np.ndarray) -> np.ndarray:
        """The leaves normalised (the attainments as they are for ``none``)."""
        if self.normalisation == "none":
            return np.asarray(attainment, dtype=float)
        return NORMALISERS[self.normalisation](attainment, self.reference,
                                               **self.params.get(self.normalisation, {}))

    def _aggregate(self, method: str, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        return AGGREGATORS[method](x, w / w.sum(), **self.params.get(method, {}))

    def groups(self, attainment: np.ndarray, points: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """The level-1 groups' values (..., groups) and points (groups,)."""
        values = self.normalised(attainment)
        weight = np.asarray(points, dtype=float)
        unit_paths = self.paths   # the paths of the current units (leaves first)
        for d in range(self.paths.shape[1] - 1, -1, -1):
            parent = unit_paths[:, d]
            n = int(parent.max()) + 1
            out = np.empty(values.shape[:-1] + (n,))
            w_out = np.empty(n)
            first = np.empty(n, dtype=np.intp)
            for g in range(n):   # a loop over groups (a handful), not projects
                kids = np.flatnonzero(parent == g)
                first[g] = kids[0]
                w_out[g] = weight[kids].sum()
                if kids.size == 1 or w_out[g] <= 0:
                    out[..., g] = values[..., kids[0]]
                else:
                    out[..., g] = self._aggregate(self.methods[d][g], values[..., kids],
                                                  weight[kids])
            values, weight, unit_paths = out, w_out, unit_paths[first]
        return values, weight

    def share(self, attainment: np.ndarray, points: np.ndarray) -> np.ndarray:
        """The composite (...): the level-1 groups aggregated by ``top``, as a share of the
        total."""
        values, weight = self.groups(attainment, points)
        if self.top == "ordinal_average":
            return ordinal_total(values, weight, 1.0)
        return self._aggregate(TOTAL_AS.get(self.top, self.top), values, weight)
