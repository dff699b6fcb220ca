"""Grades (等级): fixed cutoffs, quotas and rank-based (forced) distributions; label sets.

Grades are integer indices, 0 = best, into a :class:`LabelSet`, which carries an English code
and a Chinese label for each grade. Scores are left-closed on the cutoffs: with the national
default cutoffs (90, 80, 60) a score of exactly 90 is 优, 89.99 is 良.

Quotas cap the share of projects in a grade ("at most 20% 优"). Projects are ranked by score,
highest first; **ties are broken by position in the portfolio: the project listed first ranks
higher**. Grades are filled best first; projects beyond a grade's quota move down one grade, so
quota grading never exceeds a quota and never gives a project a better grade than its cutoffs.
A quota of ``floor(share × projects)`` is allowed in each capped grade. The lowest grade takes
the projects that no better grade has room for, so it cannot carry a quota; with rank-only
grading the first grade without a quota takes all the rest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perfsim.errors import InputError


@dataclass(frozen=True)
class LabelSet:
    """Ordered grade labels, best first: English codes and Chinese labels."""

    name: str
    codes: tuple[str, ...]
    zh: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.codes)

    def index(self, code: str) -> int:
        """Position of a grade given by English code or Chinese label."""
        if code in self.codes:
            return self.codes.index(code)
        if code in self.zh:
            return self.zh.index(code)
        raise InputError(field="grade", value=code,
                         problem=f"unknown grade (known: {', '.join(self.codes)} / "
                                 f"{', '.join(self.zh)})")


LABEL_SETS: dict[str, LabelSet] = {
    "national": LabelSet("national", ("excellent", "good", "fair", "poor"),
                         ("优", "良", "中", "差")),
    "pass_fail": LabelSet("pass_fail", ("excellent", "good", "pass", "fail"),
                          ("优", "良", "合格", "不合格")),
    "basic_pass": LabelSet("basic_pass", ("excellent", "pass", "basic_pass", "fail"),
                           ("优秀", "合格", "基本合格", "不合格")),
}
NATIONAL = LABEL_SETS["national"]
NATIONAL_CUTOFFS = (90.0, 80.0, 60.0)


def label_set(spec: Any) -> LabelSet:
    """A label set by name (``national``, ``pass_fail``, ``basic_pass``) or a custom list of
    ``{code: ..., zh: ...}`` mappings, best first."""
    if isinstance(spec, LabelSet):
        return spec
    if spec is None:
        return NATIONAL
    if isinstance(spec, str):
        if spec not in LABEL_SETS:
            raise InputError(field="labels", value=spec,
                             problem=f"unknown label set (known: {', '.join(LABEL_SETS)})")
        return LABEL_SETS[spec]
    if isinstance(spec, Sequence) and len(spec) >= 2 and all(
            isinstance(s, Mapping) and "code" in s for s in spec):
        codes = tuple(str(s["code"]) for s in spec)
        if len(set(codes)) != len(codes):
            raise InputError(field="labels", value=list(codes), problem="duplicate grade codes")
        return LabelSet("custom", codes, tuple(str(s.get("zh", s["code"])) for s in spec))
    raise InputError(field="labels", value=spec,
                     problem="must be a label-set name or a list of {code, zh}, best first")


@dataclass(frozen=True)
class Grading:
    """Cutoff grading with optional quotas.

    ``cutoffs`` are the lower bounds of every grade but the last, descending, in points
    (national default 90, 80, 60). ``quotas`` map grade codes to the largest share of projects
    in [0, 1] that grade may hold. Without cutoffs (``cutoffs=None``) grading is purely by
    rank: quotas then give a forced distribution (top 20% 优, next 30% 良, ...).
    """

    labels: LabelSet = NATIONAL
    cutoffs: tuple[float, ...] | None = NATIONAL_CUTOFFS
    quotas: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.labels)
        if self.cutoffs is not None:
            c = tuple(float(x) for x in self.cutoffs)
            if len(c) != n - 1:
                raise InputError(field="cutoffs", value=list(c),
                                 problem=f"need {n - 1} cutoffs for {n} grades")
            if not all(math.isfinite(x) for x in c) or any(
                    a <= b for a, b in zip(c, c[1:], strict=False)):
                raise InputError(field="cutoffs", value=list(c),
                                 problem="must be finite and strictly descending")
            object.__setattr__(self, "cutoffs", c)
        quotas: dict[str, float] = {}
        for code, share in self.quotas.items():
            english = self.labels.codes[self.labels.index(code)]  # 优 → excellent
            if isinstance(share, bool) or not isinstance(share, int | float) or not (
                    0 <= share <= 1):
                raise InputError(field=f"quotas.{code}", value=share,
                                 problem="must be a share in [0, 1]")
            if english == self.labels.codes[-1]:
                raise InputError(field=f"quotas.{code}", value=share,
                                 problem="the lowest grade cannot have a quota: it takes the "
                                         "projects no better grade has room for")
            if english in quotas:
                raise InputError(field=f"quotas.{code}", value=share,
                                 problem=f"grade {english} already has a quota")
            quotas[english] = share
        object.__setattr__(self, "quotas", quotas)
        if self.cutoffs is None and not self.quotas:
            raise InputError(field="quotas", problem="rank grading without cutoffs needs quotas")

    def grade(self, score: np.ndarray, cutoffs: np.ndarray | None = None,
              active: np.ndarray | None = None) -> np.ndarray:
        """Grade indices (int8, 0 = best) for scores shaped (..., projects); quotas apply
        along the last axis (within each replication). ``cutoffs`` (replications, grades − 1)
        overrides the cutoffs per replication (for Monte Carlo over cutoffs); ``active`` marks
        the projects in the portfolio: the others neither count towards nor take quota places
        (their grade is still returned, by cutoffs)."""
        s = np.asarray(score, dtype=float)
        g = np.zeros(s.shape, dtype=np.int8)
        # left-closed bands: the grade index is the number of cutoffs above the score
        if cutoffs is not None:
            c = np.asarray(cutoffs, dtype=float)
            for k in range(c.shape[-1]):
                g += s < c[:, k:k + 1]
        elif self.cutoffs is not None:
            for c in self.cutoffs:
                g += s < c
        if self.quotas:
            g = self._apply_quotas(s, g, active)
        return g

    def _apply_quotas(self, s: np.ndarray, g: np.ndarray, active: np.ndarray | None
                      ) -> np.ndarray:
        if active is None:
            n_proj: int | np.ndarray = s.shape[-1]
            in_play = np.ones(s.shape, dtype=bool)
        else:
            in_play = np.broadcast_to(np.asarray(active, dtype=bool), s.shape)
            n_proj = in_play.sum(axis=-1, keepdims=True)
            s = np.where(in_play, s, -np.inf)
        order = np.argsort(-s, axis=-1, kind="stable")  # ties: first listed ranks higher
        g_sorted = np.take_along_axis(g, order, axis=-1)
        play_sorted = np.take_along_axis(in_play, order, axis=-1)
        for k, code in enumerate(self.labels.codes[:-1]):
            if code not in self.quotas:
                if self.cutoffs is None:  # pure rank grading: uncapped grade takes the rest
                    break
                continue
            cap = np.floor(self.quotas[code] * n_proj + 1e-9)
            member = (g_sorted == k) & play_sorted
            position = np.cumsum(member, axis=-1)
            g_sorted = np.where(member & (position > cap), k + 1, g_sorted).astype(np.int8)
        out = np.empty_like(g)
        np.put_along_axis(out, order, g_sorted, axis=-1)
        return out

    def codes_of(self, grades: np.ndarray) -> np.ndarray:
        return np.asarray(self.labels.codes, dtype=object)[grades]

    def zh_of(self, grades: np.ndarray) -> np.ndarray:
        return np.asarray(self.labels.zh, dtype=object)[grades]


def grading_from_dict(spec: Mapping[str, Any] | None) -> Grading:
    """Build grading from a scenario's ``grading:`` block::

        grading:
          labels: national          # or pass_fail, basic_pass, or a list of {code, zh}
          cutoffs: [90, 80, 60]     # or null for rank-only grading
          quotas: {excellent: 0.2}  # optional, shares in [0, 1]
    """
    spec = dict(spec or {})
    allowed = {"labels", "cutoffs", "quotas"}
    for key in spec:
        if key not in allowed:
            raise InputError(where="grading", field=key,
                             problem=f"unknown key (allowed: {', '.join(sorted(allowed))})")
    labels = label_set(spec.get("labels"))
    cutoffs = spec.get("cutoffs", NATIONAL_CUTOFFS if len(labels) == 4 else None)
    if cutoffs is not None and (not isinstance(cutoffs, Sequence) or isinstance(cutoffs, str)
                                or not all(isinstance(c, int | float) and not isinstance(c, bool)
                                           for c in cutoffs)):
        raise InputError(where="grading", field="cutoffs", value=cutoffs,
                         problem="must be a list of numbers, best grade's bound first")
    quotas = spec.get("quotas") or {}
    if not isinstance(quotas, Mapping):
        raise InputError(where="grading", field="quotas", value=quotas,
                         problem="must map grade codes to shares")
    try:
        return Grading(labels, None if cutoffs is None else tuple(cutoffs), dict(quotas))
    except InputError as err:
        raise err.at(where="grading") from None
