"""Measurement space: the Monte Carlo draws each leaf's raw measured value and scores it
through the indicator system's own rules (:mod:`perfsim.kernel.scoring`), bonus leaves
included.

In attainment space (:func:`perfsim.kernel.evaluation.evaluate_process` without a
:class:`LeafSpace`) the noise moves each leaf's share of points, clipped to [0, 1], so the
rules never act. Here the same latent quantities — the true leaf attainment (the project's
long-run level, leaf dispersion and the latent performance's moves), the self-evaluation's
noise and inflation, the re-check's noise, all in attainment units — are *changes* Δ from the
attainment the portfolio's own measured value earns. Each leaf turns Δ into a measured value in
its unit and direction (the rule's own ``measured_value``,
:meth:`perfsim.kernel.scoring.Rule.measured_value`): ``value = portfolio value + slope × Δ``,
the slope being the measured units per unit of attainment (the rule's ``slope``):

======================  ========================================================================
rule kind               measured value for a latent change Δ
======================  ========================================================================
proportional, higher    value + target × Δ (the cap at the target stays: 130% of it earns full)
proportional, lower     value − target × Δ
exact target (equal)    the distance to the target shrinks by |target| × Δ
threshold ``>=``        value + max(|target|, 1) × Δ: a project at the target falls off the cliff
                        with any shortfall
deduct                  days late (errors, …) + step × points / per × (−Δ), never below 0: the
                        rule then deducts whole steps
linear                  value + (target − floor) × Δ
share of items          value − Δ, kept in [0, 1]
all or nothing          value + max(min, 1) × Δ
graded levels           the level nearest to the attainment the value earns plus Δ
ratio, grade points     value + scale × Δ
execution rate          value + target × Δ (the floor acts; higher is better whatever the
                        leaf's direction)
assessed                value + points × Δ
bonus                   extra units + points / per × Δ, whole and >= 0; each leaf capped by its
                        rule, the sum by the system's bonus cap
======================  ========================================================================

Where Δ is 0 the value is the portfolio's own, so with every random source off the Monte
Carlo's first year is the one-year run to the yuan. Cells without a value (blank, not
applicable, not submitted: filled as the system says) and leaves whose rule reads another
column (a re-check's self-score, an assessed item's band) stay in attainment space.

Targets: each project may score a target leaf (:data:`perfsim.kernel.scoring.TARGETED`)
against a target it set itself, ``expected performance × (1 + ambition)`` (lower-is-better:
``expected / (1 + ambition)``), the expected performance being the value at the project's
long-run latent level; a negative ambition is a *soft* target (:func:`ambition_targets`). A
re-check may score a soft target against the expected performance instead (the evaluator's
check of target quality).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from perfsim.kernel.scoring import (
    Rule,
    SlopePart,
    along_slope,
    bonus_total,
    cell_attain_latent,
    cell_attain_rows,
    cell_groups,
    with_targets,
)

#: where a :class:`LeafSpace`'s arrays are read: a run of rows (slice) or cells (rows, slots)
At = slice | tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True, eq=False)
class LeafSpace:
    """What measurement space needs of the scored leaves and the bonus leaves.

    ``value`` (P, I): the portfolio's measured values (0 where a cell has none); ``base``
    (P, I): the attainment each earns as the system resolves it; ``measured`` (P, I): the cells
    scored through their rule (a value is given and the rule reads no other column).
    ``targets`` and ``reset`` (P, I) are the projects' own targets in the self-evaluation and
    in the re-check (None: the rules'; read on target leaves only). Bonus leaves:
    ``bonus_value`` and ``bonus_given`` (P, B). Any project array may carry a leading rows
    axis (R, S, …): the Monte Carlo's slots (entrants included), per-row targets (a
    sensitivity sample's ambition)."""

    rules: tuple[Rule, ...]
    value: np.ndarray
    base: np.ndarray
    measured: np.ndarray
    targets: np.ndarray | None = None
    reset: np.ndarray | None = None
    soft: np.ndarray | None = None         # (P,) projects that set soft targets
    bonus_rules: tuple[Rule, ...] = ()
    bonus_value: np.ndarray | None = None
    bonus_given: np.ndarray | None = None
    bonus_cap: float = 0.0
    leaf_decimals: int | None = None
    #: a space mapped to the slots (:meth:`map`): the projects' groups, each group's
    #: columns mapped and the values moved together (:attr:`_block`), which are all
    #: :meth:`attain` reads (``value`` … ``reset`` then stay the projects' own)
    mapped: tuple[Any, Any, Any] | None = field(default=None, repr=False)

    @staticmethod
    def take(x: np.ndarray | None, at: At, trailing: int) -> Any:
        """``x`` — (projects, …) with ``trailing`` axes after the projects, or with a
        leading rows axis — read ``at`` rows or cells."""
        if x is None:
            return None
        if x.ndim > trailing + 1:    # one value per row
            return x[at]
        return x if isinstance(at, slice) else x[at[1]]

    def map(self, fn: Any) -> LeafSpace:
        """The same space with ``fn`` applied to every project array (e.g. to the slots):
        the groups stay the projects' (a group scored on every project is scored on every
        slot; a cell outside the measured ones stays out), only their columns are mapped,
        once, and the arrays the groups are not read from (``soft``, the bonus leaves')."""
        def f(x: Any) -> Any:
            return None if x is None else fn(x)

        def mapped(x: np.ndarray | None) -> np.ndarray | None:
            return _leaf_major(f(_last(x)))
        block = None if self._block is None else tuple(mapped(x) for x in self._block)
        spans = dict(zip(self._moves[0], self._moves[3], strict=True))
        columns = tuple(
            tuple(block[i][spans[g]] if g in spans and block is not None and i < 2
                  else mapped(c) for i, c in enumerate(cols))
            for g, cols in enumerate(self._columns))
        return LeafSpace(rules=self.rules, value=self.value, base=self.base,
                         measured=self.measured, targets=self.targets,
                         reset=self.reset, soft=f(self.soft),
                         bonus_rules=self.bonus_rules, bonus_value=f(self.bonus_value),
                         bonus_given=f(self.bonus_given), bonus_cap=self.bonus_cap,
                         leaf_decimals=self.leaf_decimals,
                         mapped=(self.groups, columns, block))

    def attain(self, latent: np.ndarray, at: At = slice(None), recheck: bool = False,
               leaf_major: bool = False) -> np.ndarray:
        """Leaf attainments (…, I) of latent attainments ``latent`` (rows, S, I) read ``at``
        rows, or (K, I) ``at`` cells: each measured cell's value (:func:`measured_value`)
        scored by its rule against the project's target (the re-check's with ``recheck``;
        :meth:`~perfsim.kernel.scoring.Rule.attain_latent`); other cells clipped to [0, 1]
        as in attainment space.

        Worked leaf by leaf: the latent attainments are copied once with the leaves first
        (:func:`_leaf_major`), and each group's rule scores its leaves as (leaves, …) arrays,
        its per-leaf targets (leaves, 1, …): each leaf's cells are one block of memory, which
        every array operation of the rule runs through in one stretch (with the leaves last,
        a per-leaf target would break each operation into runs of a few cells). With
        ``leaf_major`` the latent attainments are given so already, (I, rows, S) (built leaves
        first by their maker: :func:`perfsim.kernel.evaluation.evaluate_process`), and not
        copied. ``latent`` is never written. The groups
        whose rule moves a value along its slope (:meth:`~perfsim.kernel.scoring.Rule.
        slope_move`) move their values in one :func:`~perfsim.kernel.scoring.along_slope`
        (a slope per leaf, each rule's bounds on its part), then each rule scores its part
        (:meth:`~perfsim.kernel.scoring.Rule.attain_measured`). The rules' operations are
        element by element, so the numbers are those of one rule at a time, to the bit."""
        nd = latent.ndim
        lat = latent if leaf_major else _leaf_major(latent)
        res = np.empty_like(lat)
        rest = self._unscored
        if rest is not None:
            res[rest] = np.clip(lat[rest], 0.0, 1.0)
        take = _take_leaf_major
        if self._block is not None:
            value_a, base_a = self._block
            change = lat[self._moves[1]]
            change -= take(base_a, at, nd)
            moved = along_slope(self._slopes(nd), take(value_a, at, nd), change,
                                self._moves[2])
        for leaves, rule, targeted, everywhere, span, (value, base, measured, own, reset) in \
                self._plan(nd):
            targets = (reset if recheck else own) if targeted else None
            scorer = None if targets is None else _at(rule, take(targets, at, nd))
            if span is not None:
                got = rule.attain_measured(moved[span], scorer)
            elif rule.latent_only:
                got = rule.attain_latent(None, None, lat[leaves], scorer)
            else:
                got = rule.attain_latent(take(value, at, nd), take(base, at, nd), lat[leaves],
                                         scorer)
            res[leaves] = got if everywhere else np.where(take(measured, at, nd), got,
                                                          res[leaves])
        return np.ascontiguousarray(_last(res))

    def _plan(self, nd: int) -> tuple[tuple[Any, ...], ...]:
        """What :meth:`attain` reads of each group for leaf-major arrays of ``nd`` axes, once:
        its leaves, its rule (:meth:`_leaf_major_rules`), whether it has targets projects
        set and a value on every project, its part of the values moved together (None:
        moved on its own) and its columns."""
        cache = self._by_ndim
        if ("plan", nd) not in cache:
            span_of = dict(zip(self._moves[0], self._moves[3], strict=True))
            cache["plan", nd] = tuple(
                (leaves, rule, targeted, everywhere, span_of.get(g), cols)
                for g, ((leaves, _, targeted, everywhere), rule, cols) in enumerate(zip(
                    self.groups, self._leaf_major_rules(nd), self._columns, strict=True)))
        return cache["plan", nd]

    def _leaf_major_rules(self, nd: int) -> tuple[Rule, ...]:
        """Each group's rule for leaf-major arrays of ``nd`` axes (:meth:`attain`): a target
        per leaf as (leaves, 1, …)."""
        cache = self._by_ndim
        if ("rules", nd) not in cache:
            cache["rules", nd] = tuple(
                _at(rule, np.reshape(rule.target, (-1,) + (1,) * (nd - 1))) if targeted
                else rule for _, rule, targeted, _ in self.groups)
        return cache["rules", nd]

    def _slopes(self, nd: int) -> np.ndarray:
        """The slope of each leaf the groups of :attr:`_moves` move, (leaves, 1, …) for
        leaf-major arrays of ``nd`` axes."""
        cache = self._by_ndim
        if ("slopes", nd) not in cache:
            rules = self._leaf_major_rules(nd)
            shape = (1,) * (nd - 1)
            cache["slopes", nd] = np.concatenate([
                np.broadcast_to(np.asarray(rules[g].slope, dtype=float),
                                (span.stop - span.start, *shape))
                for g, span in zip(self._moves[0], self._moves[3], strict=True)])
        return cache["slopes", nd]

    @cached_property
    def _by_ndim(self) -> dict[tuple[str, int], Any]:
        return {}

    @cached_property
    def _moves(self) -> tuple[tuple[int, ...], np.ndarray, tuple[SlopePart, ...],
                              tuple[slice, ...]]:
        """The groups whose measured values move along their rule's slope and are then
        scored (:meth:`~perfsim.kernel.scoring.Rule.slope_move`, the rule's
        :meth:`~perfsim.kernel.scoring.Rule.attain_latent` the base's), moved together in
        :meth:`attain`: the groups, their leaves in the order moved, the parts with bounds
        and each group's part."""
        chosen, leaves, parts, spans = [], [], [], []
        k = 0
        every = np.arange(len(self.rules))
        for g, (lv, rule, _, _) in enumerate(self.groups):
            move = rule.slope_move()
            if move is None or type(rule).attain_latent is not Rule.attain_latent:
                continue
            idx = every[lv]
            span = slice(k, k + idx.size)
            k += idx.size
            chosen.append(g)
            leaves.append(idx)
            spans.append(span)
            if move != (None, None, False):
                parts.append((span, *move))
        return (tuple(chosen), np.concatenate(leaves) if leaves else every[:0], tuple(parts),
                tuple(spans))

    @cached_property
    def _block(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The value and base (leaf-major, :func:`_leaf_major`) of the leaves of
        :attr:`_moves`, in the order moved; None where no group moves so."""
        if self.mapped is not None:
            return self.mapped[2]
        chosen = self._moves[0]
        if not chosen:
            return None
        cols = self._columns
        return (np.concatenate([cols[g][0] for g in chosen]),
                np.concatenate([cols[g][1] for g in chosen]))

    @cached_property
    def _columns(self) -> tuple[tuple[np.ndarray | None, ...], ...]:
        """Each group's columns of the project arrays, read once and stored leaf-major
        (:func:`_leaf_major`): value, base, measured, the projects' targets and the
        re-check's (None where there are none)."""
        if self.mapped is not None:
            return self.mapped[1]
        def cols(x: np.ndarray | None, leaves: slice | np.ndarray) -> np.ndarray | None:
            return None if x is None else _leaf_major(x[..., leaves])
        return tuple((cols(self.value, g[0]), cols(self.base, g[0]), cols(self.measured, g[0]),
                      cols(self.targets, g[0]), cols(self.reset, g[0])) for g in self.groups)

    @cached_property
    def _unscored(self) -> slice | np.ndarray | None:
        """The leaves not scored by a group on every cell (they start clipped, as in
        attainment space); None when there are none."""
        covered = np.zeros(len(self.rules), dtype=bool)
        for leaves, _, _, everywhere in self.groups:
            if everywhere:
                covered[leaves] = True
        rest = np.flatnonzero(~covered)
        if rest.size == 0:
            return None
        if rest.size == rest[-1] - rest[0] + 1:
            return slice(int(rest[0]), int(rest[-1]) + 1)
        return rest

    @cached_property
    def groups(self) -> tuple[tuple[slice | np.ndarray, Rule, bool, bool], ...]:
        """The measured leaves scored together, one call of a rule each: the same
        :attr:`~perfsim.kernel.scoring.Rule.group_key` (kind, direction, what scores among
        the parameters, points where the rule reads them), as one rule holding one target
        per leaf. Each group: its leaves (a slice where they are
        consecutive), the rule, whether it has a target projects may set and whether every
        project has a measured value on all of them."""
        if self.mapped is not None:
            return self.mapped[0]
        keys: dict[tuple[Any, ...], list[int]] = {}
        for i, r in enumerate(self.rules):
            if np.any(self.measured[..., i]):
                keys.setdefault(r.group_key, []).append(i)
        out = []
        for idx in keys.values():
            first = self.rules[idx[0]]
            targeted = first.needs_target
            rule = _at(first, np.array([self.rules[i].target for i in idx], dtype=float)) \
                if targeted else first
            run = idx == list(range(idx[0], idx[-1] + 1))
            leaves = slice(idx[0], idx[-1] + 1) if run else np.array(idx)
            out.append((leaves, rule, targeted, bool(np.all(self.measured[..., leaves]))))
        return tuple(out)

    def bonus(self, change: np.ndarray, at: At = slice(None)) -> np.ndarray | float:
        """Bonus points (rows, S) when each bonus leaf's latent attainment moves by
        ``change`` (rows, S, B): each leaf's value scored by its rule (capped at its points),
        rounded as the system rounds leaf points, the sum capped at the system's cap."""
        if not self.bonus_rules:
            return 0.0
        value = self.take(self.bonus_value, at, 1)
        given = self.take(self.bonus_given, at, 1)
        earned = [np.where(given[..., b], rule.attainment(
            rule.measured_value(value[..., b], change[..., b])), 0.0)
            for b, rule in enumerate(self.bonus_rules)]
        return bonus_total(earned, [rule.points for rule in self.bonus_rules], self.bonus_cap,
                           self.leaf_decimals)


@dataclass(frozen=True, eq=False)
class CellSpace:
    """Measurement space for a portfolio whose projects carry their own leaves (padded
    arrays (P, L), or per slot (R, S, L); :mod:`perfsim.kernel.scoring.cells`): each cell's
    rule ``kind``, ``direction`` and ``target``, its measured ``value`` and the attainment it
    earns (``base``). The same interface as :class:`LeafSpace` for the evaluation process;
    no bonus leaves, no targets a project sets itself."""

    kind: np.ndarray
    direction: np.ndarray
    target: np.ndarray
    value: np.ndarray
    base: np.ndarray
    bonus_rules: tuple[Rule, ...] = ()
    soft: np.ndarray | None = None

    def map(self, fn: Any) -> CellSpace:
        """The same space with ``fn`` applied to every cell array (e.g. to the slots)."""
        return CellSpace(kind=fn(self.kind), direction=fn(self.direction),
                         target=fn(self.target), value=fn(self.value), base=fn(self.base))

    def attain(self, latent: np.ndarray, at: At = slice(None), recheck: bool = False
               ) -> np.ndarray:
        """Cell attainments (…, L) of latent attainments ``latent`` read ``at`` rows or
        cells (:meth:`LeafSpace.attain`): each cell scored by its own rule
        (:func:`~perfsim.kernel.scoring.cell_attain_latent`); a run of rows of per-slot
        arrays by the cells grouped once (:func:`~perfsim.kernel.scoring.cell_attain_rows`)."""
        if isinstance(at, slice) and self.groups is not None:
            return cell_attain_rows(self.groups, self.target, self.value, self.base, latent,
                                    at)

        def take(x: np.ndarray) -> np.ndarray:
            return LeafSpace.take(x, at, 1)

        return cell_attain_latent(take(self.kind), take(self.direction), take(self.target),
                                  take(self.value), take(self.base), latent)

    @cached_property
    def groups(self) -> tuple[np.ndarray, ...] | None:
        """The measured cells grouped by rule once (:func:`~perfsim.kernel.scoring.cell_groups`)
        where the cell arrays are per slot (R, S, L) and C-contiguous (the Monte Carlo's,
        entrants included); None otherwise."""
        arrays = (self.kind, self.direction, self.target, self.value, self.base)
        if any(a.ndim != 3 or not a.flags.c_contiguous for a in arrays):
            return None
        return cell_groups(self.kind, self.direction)

    def bonus(self, change: np.ndarray, at: At = slice(None)) -> float:
        """No bonus leaves: 0 points."""
        return 0.0


def _leaf_major(x: np.ndarray | None) -> np.ndarray | None:
    """A copy of ``x`` (…, I) with the leaves first, (I, …): each leaf's cells one block of
    memory (None as it is)."""
    if x is None:
        return None
    return np.ascontiguousarray(leaves_first(x))


def leaves_first(x: np.ndarray) -> np.ndarray:
    """``x`` (…, I) seen with the leaves first, (I, …): a view (no copy)."""
    return x.transpose((x.ndim - 1, *range(x.ndim - 1)))


def _last(x: np.ndarray | None) -> np.ndarray | None:
    """A leaf-major array (I, …) seen with the leaves last again, (…, I) (a view)."""
    return None if x is None else x.transpose((*range(1, x.ndim), 0))


def _take_leaf_major(x: np.ndarray | None, at: At, nd: int) -> np.ndarray | None:
    """:meth:`LeafSpace.take` of a leaf-major column ``x`` (leaves, projects) or (leaves,
    rows, projects): the cells read ``at`` rows or cells, leaves first, shaped to broadcast
    against leaf-major latent attainments of ``nd`` axes."""
    if x is None:
        return None
    if x.ndim > 2:    # one value per row
        if isinstance(at, slice):
            return x[:, at]
        if x.ndim == 3 and x.flags.c_contiguous:   # cells as one index: a faster gather
            rows, slots = at
            return np.take(x.reshape(x.shape[0], -1), rows * x.shape[2] + slots, axis=1)
        return x[(slice(None), *at)]
    if isinstance(at, slice):
        return x.reshape(x.shape[:1] + (1,) * (nd - 2) + x.shape[1:])
    return x[:, at[1]]


def _at(rule: Rule, targets: np.ndarray) -> Rule:
    """``rule`` with targets already checked by :func:`with_targets` (a cheap copy)."""
    out = copy.copy(rule)
    object.__setattr__(out, "target", targets)
    return out


def expected_values(space: LeafSpace, mean: np.ndarray) -> np.ndarray:
    """Each measured leaf's value (P, I) at the projects' long-run latent attainments
    ``mean`` (P, I): their expected performance in the leaf's unit."""
    out = np.array(space.value, dtype=float)
    for i, rule in enumerate(space.rules):
        out[..., i] = rule.measured_value(space.value[..., i],
                                          mean[..., i] - space.base[..., i])
    return out


def ambition_targets(rule: Rule, expected: np.ndarray, ambition: np.ndarray) -> np.ndarray:
    """Targets a project sets itself: ``expected × (1 + ambition)`` for a higher-is-better
    leaf, ``expected / (1 + ambition)`` for a lower-is-better one (an ambitious target asks
    for less), so a negative ambition is a soft target either way; an exact target (``equal``)
    is kept. Which way is better is the rule's
    :attr:`~perfsim.kernel.scoring.Rule.value_direction`. Ambition must exceed −1."""
    e = np.asarray(expected, dtype=float)
    a = np.asarray(ambition, dtype=float)
    if rule.value_direction == "equal":
        return np.full(np.broadcast(e, a).shape, float(rule.target))
    return e / (1.0 + a) if rule.value_direction == "lower" else e * (1.0 + a)


def set_targets(space: LeafSpace, expected: np.ndarray, ambition: np.ndarray,
                recheck_resets: bool = False) -> LeafSpace:
    """``space`` with every target leaf (:data:`perfsim.kernel.scoring.TARGETED`, measured)
    scored against the projects' own targets (:func:`ambition_targets`, ambition (P,) per
    project, or (R, P) per row and project). With
    ``recheck_resets`` a re-check scores a soft target (ambition < 0) against the expected
    performance (ambition 0); otherwise the re-check keeps the project's target."""
    a = np.asarray(ambition, dtype=float)
    soft = a < 0
    own = np.array([r.target if r.needs_target else np.nan for r in space.rules],
                   dtype=float)
    own = np.array(np.broadcast_to(own, a.shape + own.shape))
    reset = own.copy()
    for i, rule in enumerate(space.rules):
        if not rule.needs_target or not np.any(space.measured[..., i]):
            continue
        cells = space.measured[..., i]
        own[..., i] = np.where(cells, ambition_targets(rule, expected[..., i], a), rule.target)
        honest = np.where(cells, ambition_targets(rule, expected[..., i], np.zeros_like(a)),
                          rule.target)
        with_targets(rule, own[..., i])   # refuses non-finite or zero targets
        with_targets(rule, honest)
        reset[..., i] = np.where(soft, honest, own[..., i]) if recheck_resets else own[..., i]
    return LeafSpace(rules=space.rules, value=space.value, base=space.base,
                     measured=space.measured, targets=own, reset=reset,
                     soft=soft, bonus_rules=space.bonus_rules, bonus_value=space.bonus_value,
                     bonus_given=space.bonus_given, bonus_cap=space.bonus_cap,
                     leaf_decimals=space.leaf_decimals)


def with_overcompletion(rule: Rule, threshold: float, rate: float = 1.0, floor: float = 0.0
                        ) -> Rule:
    """A proportional rule with the MoF over-completion markdown (its ``overcompletion``
    option) where it has none and can take it (higher or lower is better, non-zero target);
    other rules as they are (:meth:`~perfsim.kernel.scoring.Rule.with_overcompletion`)."""
    return rule.with_overcompletion({"threshold": threshold, "rate": rate, "floor": floor})
