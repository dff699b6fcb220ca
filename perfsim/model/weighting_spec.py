"""Weighting-scheme specifications: the ``weighting:`` block of an indicator-system or
scenario file, parsed and matched to a system (no numbers computed here; see
:mod:`perfsim.model.weights`)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from perfsim.errors import InputError
from perfsim.kernel import treatment as tr
from perfsim.kernel import weighting as wt
from perfsim.kernel.bod import Bounds

if TYPE_CHECKING:
    from perfsim.model.indicators import IndicatorSystem

#: The two tiers of a scheme (the leaf tier is computed first: see
#: :func:`perfsim.model.weights.apply_weighting`).
TIERS: tuple[str, ...] = ("groups", "leaves")
_TIER_KEYS = ("method", "matrix", "matrix_file", "codes", "alpha", "objective", "subjective",
              "combine", "cr_limit", "variance_kept", "treatment", "ri_table", "panel",
              "target")
_COMBINES = ("additive", "multiplicative")
# --------------------------------------------------------------------------------------------
# The specification
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Matrix:
    """A pairwise comparison matrix for AHP, as written (not yet matched to a system).

    ``codes`` name its rows/columns (from a CSV header or an inline ``codes:`` list); ``None``
    means the system's order. ``group`` is the level-1 group at the leaf tier (``None``: the
    groups tier, or to be inferred from ``codes``). ``source`` is the file it came from.
    """

    values: np.ndarray = field(repr=False)
    codes: tuple[str, ...] | None = None
    group: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class TreatmentSpec:
    """Treatment of the data before an objective method (see :mod:`perfsim.kernel.treatment`):
    ``default`` options for every column and ``per_code`` options for named columns (leaf codes
    at the leaf tier, level-1 codes at the groups tier), each a tuple of (option, value) pairs
    with ``method`` among them."""

    default: tuple[tuple[str, Any], ...] = (("method", "none"),)
    per_code: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()

    def options(self, codes: Sequence[str]) -> list[dict[str, Any]]:
        """The options of each column named in ``codes`` (its own, else the default)."""
        own = {c: dict(o) for c, o in self.per_code}
        return [own.get(c, dict(self.default)) for c in codes]

    def describe(self) -> str:
        text = dict(self.default)["method"]
        if self.per_code:
            text += "; " + ", ".join(f"{c}: {dict(o)['method']}" for c, o in self.per_code)
        return text


@dataclass(frozen=True)
class TargetSpec:
    """The importance target of the ``optimised`` method (:mod:`perfsim.kernel.weighting.
    optimised`), as written: ``values`` a list in the file's order (leaf tier: every non-bonus
    leaf; groups tier: every level-1 group), or ``by_code`` (code, value) pairs (leaf codes at
    the leaf tier, level-1 codes at the groups tier). Values are relative: each group's (leaf
    tier) or the whole list's (groups tier) are normalised to shares. Matched to a system by
    :func:`resolve_target`."""

    values: tuple[float, ...] | None = None
    by_code: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class TierSpec:
    """How one tier is weighted: a method of :data:`perfsim.weighting.METHODS` and its
    parameters (see :func:`perfsim.weighting.compute_weights`)."""

    method: str = "expert"
    alpha: float = 0.5
    objective: str = "entropy"
    subjective: str = "expert"
    combine: str = "additive"
    cr_limit: float | None = 0.1
    variance_kept: float = 0.85
    matrices: tuple[Matrix, ...] = ()
    treatment: TreatmentSpec | None = None
    ri_table: str = "saaty1980"
    panel: str = "judgements"
    target: TargetSpec | None = None

    @property
    def uses_optimised(self) -> bool:
        """Whether the tier runs the optimised method (alone, or as combined's objective)."""
        return self.method == "optimised" or (self.method == "combined"
                                              and self.objective == "optimised")

    @property
    def uses_ahp(self) -> bool:
        return self.method == "ahp" or (self.method == "combined" and self.subjective == "ahp")

    @property
    def uses_data(self) -> bool:
        """Whether the tier needs the portfolio's measurements (an objective method)."""
        return self.method in wt.OBJECTIVE_METHODS or self.method == "combined"

    @property
    def uses_pca(self) -> bool:
        return self.method == "pca" or (self.method == "combined" and self.objective == "pca")

    def describe(self) -> str:
        if self.method != "combined":
            text = self.method
        else:
            how = f"α={self.alpha:g}" if self.combine == "additive" else "multiplicative"
            text = f"{self.subjective}+{self.objective} ({how})"
        if self.target is not None:
            text += " (target importance)"
        if self.treatment is not None:
            text += f" on treated data ({self.treatment.describe()})"
        return text


@dataclass(frozen=True)
class WeightingSpec:
    """A two-tier weighting scheme; build it with :func:`parse_weighting`."""

    groups: TierSpec = field(default_factory=TierSpec)
    leaves: TierSpec = field(default_factory=TierSpec)
    source: str | None = None

    @property
    def is_identity(self) -> bool:
        """Both tiers ``expert``: the scheme keeps the system's points."""
        return self.groups.method == "expert" and self.leaves.method == "expert"

    @property
    def uses_data(self) -> bool:
        return self.groups.uses_data or self.leaves.uses_data

    def describe(self) -> str:
        """E.g. ``groups entropy, leaves expert``."""
        return f"groups {self.groups.describe()}, leaves {self.leaves.describe()}"

    def resolve(self, system: IndicatorSystem) -> WeightingSpec:
        """Check the scheme against ``system`` (codes in matrices, matrix sizes); returns
        ``self``. Raises :class:`InputError` naming the file, the code and the problem."""
        resolve_ahp(self, system)
        resolve_treatment(self, system)
        resolve_target(self, system)
        return self


def parse_weighting(block: Any, *, base: str | Path | None = None,
                    source: str | Path | None = None) -> WeightingSpec:
    """A :class:`WeightingSpec` from a ``weighting:`` block (already parsed YAML).

    ``block`` maps ``groups`` and/or ``leaves`` to a method name or to a mapping with
    ``method`` and its parameters (see the module docstring); ``None`` or ``{}`` is the identity
    (expert at both tiers); a :class:`WeightingSpec` is returned as is. ``base`` is the folder
    that relative ``matrix_file`` paths start from (default: the current directory); ``source``
    names the file holding the block in error messages. Matrices are read and checked (square,
    positive, reciprocal, consistency ratio) here; codes are checked against a system by
    :meth:`WeightingSpec.resolve` and :func:`apply_weighting`.
    """
    if isinstance(block, WeightingSpec):
        return block
    src = None if source is None else str(source)
    folder = Path(base) if base is not None else Path.cwd()
    if block is None:
        return WeightingSpec(source=src)
    if not isinstance(block, Mapping):
        raise InputError(src, "weighting", value=short(block),
                         problem="must be a mapping with 'groups' and/or 'leaves'")
    for key in block:
        if key not in TIERS:
            raise InputError(src, "weighting", str(key),
                             problem="unknown key (allowed: groups, leaves)")
    tiers = {t: _parse_tier(block.get(t), t, folder, src) for t in TIERS}
    return WeightingSpec(groups=tiers["groups"], leaves=tiers["leaves"], source=src)


def _parse_tier(block: Any, tier: str, base: Path, src: str | None) -> TierSpec:
    where = f"weighting {tier}"
    if block is None:
        return TierSpec()
    if isinstance(block, str):
        block = {"method": block}
    if not isinstance(block, Mapping):
        raise InputError(src, where, value=short(block),
                         problem="must be a method name or a mapping with 'method'")
    for key in block:
        if key not in _TIER_KEYS:
            raise InputError(src, where, str(key),
                             problem=f"unknown key (allowed: {', '.join(_TIER_KEYS)})")
    method = block.get("method", "expert")
    if method not in wt.METHODS:
        raise InputError(src, where, "method", method,
                         f"unknown method; choose one of {', '.join(wt.METHODS)}")
    params: dict[str, Any] = {"method": method}
    if "alpha" in block:
        alpha = block["alpha"]
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not (
                0.0 <= alpha <= 1.0):
            raise InputError(src, where, "alpha", alpha,
                             "must be in [0, 1] (the share of the subjective weights)")
        params["alpha"] = float(alpha)
    for key, allowed in (("objective", wt.OBJECTIVE_METHODS),
                         ("subjective", wt.SUBJECTIVE_METHODS), ("combine", _COMBINES)):
        if key in block:
            if block[key] not in allowed:
                raise InputError(src, where, key, block[key],
                                 f"choose one of {', '.join(allowed)}")
            params[key] = block[key]
    if "cr_limit" in block:
        cr = block["cr_limit"]
        if cr is not None and (isinstance(cr, bool) or not isinstance(cr, int | float)
                               or not cr >= 0 or not math.isfinite(cr)):
            raise InputError(src, where, "cr_limit", cr, "must be a number >= 0 or null")
        params["cr_limit"] = None if cr is None else float(cr)
    if "variance_kept" in block:
        vk = block["variance_kept"]
        if isinstance(vk, bool) or not isinstance(vk, int | float) or not 0 < vk <= 1:
            raise InputError(src, where, "variance_kept", vk, "must be a share in (0, 1]")
        params["variance_kept"] = float(vk)
    for key, allowed in (("ri_table", tuple(wt.RI_TABLES)), ("panel", wt.PANEL_METHODS)):
        if key in block:
            if block[key] not in allowed:
                raise InputError(src, where, key, short(block[key]),
                                 f"choose one of {', '.join(allowed)}")
            params[key] = block[key]
    if block.get("treatment") is not None:
        params["treatment"] = _parse_treatment(block["treatment"], f"{where}, treatment", src)
    if "target" in block:
        params["target"] = _parse_target(block["target"], where, src)
    spec = TierSpec(**params)
    _check_applicable(block, spec, where, src)
    if spec.uses_ahp:
        spec = replace(spec, matrices=_parse_matrices(block, spec, tier, base, src))
    return spec


def _check_applicable(block: Mapping[str, Any], spec: TierSpec, where: str,
                      src: str | None) -> None:
    """A parameter the tier's method does not use is a mistake, not something to ignore."""
    needs = {
        "alpha": ("method: combined", spec.method == "combined"),
        "objective": ("method: combined", spec.method == "combined"),
        "subjective": ("method: combined", spec.method == "combined"),
        "combine": ("method: combined", spec.method == "combined"),
        "matrix": ("AHP (method: ahp, or combined with subjective: ahp)", spec.uses_ahp),
        "matrix_file": ("AHP (method: ahp, or combined with subjective: ahp)", spec.uses_ahp),
        "codes": ("AHP (method: ahp, or combined with subjective: ahp)", spec.uses_ahp),
        "cr_limit": ("AHP (method: ahp, or combined with subjective: ahp)", spec.uses_ahp),
        "ri_table": ("AHP (method: ahp, or combined with subjective: ahp)", spec.uses_ahp),
        "panel": ("AHP (method: ahp, or combined with subjective: ahp)", spec.uses_ahp),
        "variance_kept": ("PCA (method: pca, or combined with objective: pca)", spec.uses_pca),
        "treatment": ("objective methods (entropy, critic, pca, combined)", spec.uses_data),
        "target": ("optimised weights (method: optimised, or combined with objective: "
                   "optimised)", spec.uses_optimised),
    }
    for key, (what, ok) in needs.items():
        if key in block and not ok:
            raise InputError(src, where, key, short(block[key]),
                             f"only applies to {what}, not to method {spec.method}")


def _target_value(value: Any, src: str | None, where: str, name: str) -> float:
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or value < 0):
        raise InputError(src, where, name, short(value), "must be a number >= 0")
    return float(value)


def _parse_target(block: Any, where: str, src: str | None) -> TargetSpec:
    """``target: [0.5, 0.3, 0.2]`` (the file's order) or ``{CODE: 0.5, ...}``: numbers >= 0,
    relative (normalised where the method uses them). Codes and counts are checked against a
    system by :func:`resolve_target`."""
    if isinstance(block, list) and block:
        return TargetSpec(values=tuple(_target_value(v, src, where, f"target[{k + 1}]")
                                       for k, v in enumerate(block)))
    if isinstance(block, Mapping) and block:
        return TargetSpec(by_code=tuple(
            (str(c), _target_value(v, src, where, f"target.{c}")) for c, v in block.items()))
    raise InputError(src, where, "target", short(block),
                     "must be numbers in the file's order (a list) or a mapping of codes to "
                     "numbers (e.g. {OUT.QTY.1: 0.3, OUT.QTY.2: 0.2})")


def _treatment_options(value: Any, where: str, src: str | None) -> tuple[tuple[str, Any], ...]:
    if isinstance(value, str):
        value = {"method": value}
    if not isinstance(value, Mapping):
        raise InputError(src, where, value=short(value),
                         problem=f"must be a method ({', '.join(tr.TREATMENTS)}) or a mapping "
                                 "with method: and its options")
    for key in value:
        if key not in ("method", *tr.DEFAULTS, "indicators"):
            raise InputError(src, where, str(key), problem="unknown treatment option (allowed: "
                             f"method, {', '.join(tr.DEFAULTS)}, indicators)")
    if "method" not in value:
        raise InputError(src, where, "method",
                         problem=f"missing; choose one of {', '.join(tr.TREATMENTS)}")
    opts = tr.check_options(value, where, src)
    return tuple((k, opts[k]) for k in ("method", *tr.DEFAULTS))


def _parse_treatment(block: Any, where: str, src: str | None) -> TreatmentSpec:
    """``treatment: auto`` or ``{method: winsorise, upper: 0.95, leaves: {CODE: log}}``."""
    if isinstance(block, Mapping):
        own = block.get("indicators")
        rest = {k: v for k, v in block.items() if k != "indicators"}
        default = _treatment_options(rest or "none", where, src)
    else:
        own, default = None, _treatment_options(block, where, src)
    per_code: list[tuple[str, tuple[tuple[str, Any], ...]]] = []
    if own is not None:
        if not isinstance(own, Mapping) or not own:
            raise InputError(src, where, "indicators", short(own),
                             "must map indicator codes to a treatment, e.g. {OUT.COST.1: log}")
        for code, value in own.items():
            per_code.append((str(code), _treatment_options(value, f"{where}, indicators.{code}",
                                                           src)))
    return TreatmentSpec(default, tuple(per_code))


def _parse_matrices(block: Mapping[str, Any], spec: TierSpec, tier: str, base: Path,
                    src: str | None) -> tuple[Matrix, ...]:
    where = f"weighting {tier}"
    inline, files = block.get("matrix"), block.get("matrix_file")
    if inline is None and files is None:
        raise InputError(src, where, "matrix",
                         problem="AHP needs a pairwise comparison matrix: give matrix: or "
                                 "matrix_file:")
    if tier == "groups":
        out_g: list[Matrix] = []
        if files is not None:
            if "codes" in block and inline is None:
                raise InputError(src, where, "codes",
                                 problem="a matrix_file names its codes in its header row")
            paths = files if isinstance(files, list) and files else [files]
            for k, p in enumerate(paths):
                name = "matrix_file" if len(paths) == 1 else f"matrix_file[{k + 1}]"
                out_g.append(_read_matrix_file(p, base, src, where, name, spec, None))
        if inline is not None:
            codes = block.get("codes")
            if codes is not None and (not isinstance(codes, list)
                                      or not all(isinstance(c, str | int) for c in codes)):
                raise InputError(src, where, "codes", short(codes),
                                 "must be a list of level-1 codes, in the matrix's row order")
            ctuple = None if codes is None else tuple(str(c) for c in codes)
            mats = _panel_list(inline)
            for k, m in enumerate(mats):
                name = "matrix" if len(mats) == 1 else f"matrix[{k + 1}]"
                out_g.append(_inline_matrix(m, ctuple, None, spec, src, where, name))
        return tuple(out_g)
    if "codes" in block:
        raise InputError(src, where, "codes",
                         problem="at the leaf tier, give matrix: {GROUP: [[...]]} in the file's "
                                 "leaf order, or matrix_file: with the codes in its header")
    out: list[Matrix] = []
    if inline is not None:
        if not isinstance(inline, Mapping) or not inline:
            raise InputError(src, where, "matrix", short(inline),
                             "at the leaf tier, map each level-1 group code to its matrix, "
                             "e.g. {OUT: [[1, 3], [1/3, 1]]}")
        for group, m in inline.items():
            mats = _panel_list(m)
            for k, one in enumerate(mats):
                name = f"matrix.{group}" if len(mats) == 1 else f"matrix.{group}[{k + 1}]"
                out.append(_inline_matrix(one, None, str(group), spec, src, where, name))
    if files is not None:
        if isinstance(files, str):
            files = [files]
        if isinstance(files, Mapping):
            items: list[tuple[str | None, Any]] = [
                (str(g), q) for g, p in files.items()
                for q in (p if isinstance(p, list) and p else [p])]
        elif isinstance(files, list) and files:
            items = [(None, p) for p in files]
        else:
            raise InputError(src, where, "matrix_file", short(files),
                             "must be a CSV path, a list of them, or {GROUP: path}")
        for group, p in items:
            name = "matrix_file" if group is None else f"matrix_file.{group}"
            out.append(_read_matrix_file(p, base, src, where, name, spec, group))
    return tuple(out)


def _panel_list(value: Any) -> list[Any]:
    """One inline matrix ``[[...], ...]`` as a list of one, or a panel ``[[[...]], ...]`` (a
    list of matrices, one per expert) as it is."""
    if (isinstance(value, list) and value and isinstance(value[0], list) and value[0]
            and isinstance(value[0][0], list)):
        return list(value)
    return [value]


def _read_matrix_file(value: Any, base: Path, src: str | None, where: str, name: str,
                      spec: TierSpec, group: str | None) -> Matrix:
    if not isinstance(value, str) or not value.strip():
        raise InputError(src, where, name, short(value), "must be a path to a CSV file")
    path = Path(value) if Path(value).is_absolute() else base / value
    if not path.exists():
        raise InputError(src, where, name, value, f"file not found ({path})")
    codes, values = wt.ahp_matrix_from_csv(path)
    wt.ahp_weights(values, None, codes=codes, source=path)  # the CR: for the panel, at resolve
    return Matrix(values, tuple(codes), group, str(path))


def _inline_matrix(value: Any, codes: tuple[str, ...] | None, group: str | None,
                   spec: TierSpec, src: str | None, where: str, name: str) -> Matrix:
    if (not isinstance(value, list) or not value
            or not all(isinstance(r, list) for r in value)):
        raise InputError(src, where, name, short(value),
                         "must be a list of rows, e.g. [[1, 3], [1/3, 1]]")
    rows: list[list[float]] = []
    for i, row in enumerate(value):
        out_row = []
        for j, cell in enumerate(row):
            try:
                if isinstance(cell, bool):
                    raise ValueError
                x = float(Fraction(cell.replace(" ", ""))) if isinstance(cell, str) else float(
                    cell)
            except (TypeError, ValueError, ZeroDivisionError):
                raise InputError(src, f"{where}, {name} row {i + 1}, column {j + 1}", "a_ij",
                                 short(cell), "not a number; write e.g. 3, 0.2 or 1/3") from None
            out_row.append(x)
        rows.append(out_row)
    if len({len(r) for r in rows}) != 1 or len(rows[0]) != len(rows):
        raise InputError(src, where, name, f"{len(rows)} rows of {[len(r) for r in rows]}",
                         "must be a square n × n matrix of pairwise comparisons")
    matrix = np.array(rows, dtype=float)
    if codes is not None and len(codes) != len(rows):
        raise InputError(src, where, "codes", list(codes),
                         f"the matrix has {len(rows)} rows but {len(codes)} codes are given")
    try:
        wt.ahp_weights(matrix, None, codes=codes)  # the CR: for the panel, at resolve
    except InputError as err:
        raise within(err, f"{where}, {name}", src) from None
    return Matrix(matrix, codes, group, src)


def short(value: Any) -> Any:
    """A value short enough for a one-line message (numbers and short strings as they are)."""
    if isinstance(value, int | float | str) and len(str(value)) <= 60:
        return value
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def within(err: InputError, where: str, source: str | None = None) -> InputError:
    """``err`` placed under ``where`` (prefixing its own place) and in ``source`` if unset."""
    place = f"{where}: {err.where}" if err.where else where
    args: dict[str, Any] = {"field": err.field, "problem": err.problem}
    if err.has_value:
        args["value"] = err.value
    return InputError(err.source or source, place, **args)


# --------------------------------------------------------------------------------------------
# Matching a spec to a system
# --------------------------------------------------------------------------------------------


def level1_members(system: IndicatorSystem) -> dict[str, np.ndarray]:
    """Leaf positions (into ``system.indicators``) of each level-1 group, in file order."""
    idx = system.level1_index
    return {code: np.flatnonzero(idx == g) for g, code in enumerate(system.level1_codes)}


def resolve_treatment(spec: WeightingSpec, system: IndicatorSystem) -> None:
    """Check that the codes a ``treatment:`` names exist at their tier (leaf codes at the leaf
    tier, level-1 codes at the groups tier)."""
    for tier, codes, what in (("leaves", system.codes, "leaf"),
                              ("groups", system.level1_codes, "level-1 code")):
        t = getattr(spec, tier).treatment
        if t is None:
            continue
        for code, _ in t.per_code:
            if code not in codes:
                raise InputError(spec.source, f"weighting {tier}, treatment, indicators", "code",
                                 code, f"not a {what} of {system.code}")


def _target_in_order(t: TargetSpec, codes: Sequence[str], leaves: bool,
                     system: IndicatorSystem, src: str | None, where: str) -> np.ndarray:
    """The target's numbers in ``codes`` order (the leaves', or the level-1 codes'); NaN for
    a code a mapping leaves out."""
    what = "leaf" if leaves else "level-1 code"
    if t.values is not None:
        if len(t.values) != len(codes):
            raise InputError(src, where, "target", f"{len(t.values)} numbers",
                             f"must list one number per {what}, in the file's order "
                             f"({len(codes)}: {', '.join(codes)})")
        return np.asarray(t.values, dtype=float)
    out = np.full(len(codes), np.nan)
    for code, value in t.by_code:
        if code not in codes:
            raise InputError(src, where, "target", code, f"not a {what} of {system.code}")
        out[list(codes).index(code)] = value
    return out


def resolve_target(spec: WeightingSpec, system: IndicatorSystem
                   ) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    """The ``target:`` of the optimised method matched to ``system``: the groups tier's
    target in ``system.level1_codes`` order (``None``: equal importance), and the leaf tier's
    by level-1 group in the group's leaf order (a group absent: equal importance). A mapping
    names every level-1 group (groups tier), or every leaf of a group or none of them (leaf
    tier); a list gives every level-1 group, or every non-bonus leaf, in the file's order.
    A tier's or group's numbers may not all be 0 (a single-leaf group, which the leaf tier
    never weighs, excepted). The numbers are relative: the method normalises them to shares.
    Errors name the file, the tier, the code and the value."""
    src = spec.source
    group_target = None
    t = spec.groups.target
    if t is not None and spec.groups.uses_optimised:
        where = "weighting groups"
        groups = system.level1_codes
        group_target = _target_in_order(t, groups, False, system, src, where)
        if np.isnan(group_target).any():
            raise InputError(src, where, "target", groups[int(np.flatnonzero(
                np.isnan(group_target))[0])], "missing from the target, which must give every "
                "level-1 group")
        if not group_target.sum() > 0:
            raise InputError(src, where, "target", short(group_target.tolist()),
                             "all targets are 0: give at least one level-1 group a target "
                             "above 0")
    by_group: dict[str, np.ndarray] = {}
    t = spec.leaves.target
    if t is not None and spec.leaves.uses_optimised:
        where = "weighting leaves"
        leaf_target = _target_in_order(t, system.codes, True, system, src, where)
        for group, cols in level1_members(system).items():
            given = leaf_target[cols]
            if cols.size < 2 or np.isnan(given).all():
                continue
            if np.isnan(given).any():
                raise InputError(src, where, "target",
                                 system.codes[int(cols[np.isnan(given)][0])],
                                 f"missing from the target, which must give every leaf of group "
                                 f"{group} or none of them")
            if not given.sum() > 0:
                raise InputError(src, where, f"target (group {group})",
                                 short(given.tolist()), f"all targets of group {group} are 0: "
                                 "give at least one leaf a target above 0")
            by_group[group] = given
    return group_target, by_group


def resolve_matrices(spec: WeightingSpec, system: IndicatorSystem
                      ) -> tuple[list[Matrix] | None, dict[str, list[Matrix]]]:
    """The groups-tier matrices (one per expert) in ``system.level1_codes`` order, and the
    leaf-tier matrices by group in each group's leaf order, as :class:`Matrix` objects holding
    the reordered values and their source."""
    groups = system.level1_codes
    group_matrices = None
    if spec.groups.uses_ahp:
        group_matrices = [
            Matrix(_ordered(m, groups, system, "weighting groups", "level-1 group",
                            spec.source), groups, None, m.source or spec.source)
            for m in spec.groups.matrices]
    by_group: dict[str, list[Matrix]] = {}
    if spec.leaves.uses_ahp:
        members = level1_members(system)
        leaf_group = {leaf.code: leaf.level1 for leaf in system.indicators}
        where = "weighting leaves"
        for m in spec.leaves.matrices:
            src = m.source or spec.source
            group = m.group
            if group is None:  # a CSV listed without a group: its codes say which
                first = next((c for c in m.codes or () if c in leaf_group), None)
                if first is None:
                    bad = (m.codes or ("?",))[0]
                    raise InputError(src, where, "code", bad,
                                     f"not a leaf code of {system.code}")
                group = leaf_group[first]
            if group not in members:
                raise InputError(src, where, "group", group,
                                 f"not a level-1 code of {system.code} (level-1 codes: "
                                 f"{', '.join(groups)})")
            leaves = tuple(system.indicators[k].code for k in members[group])
            values = _ordered(m, leaves, system, f"{where}, group {group}",
                              f"leaf of group {group}", src)
            by_group.setdefault(group, []).append(Matrix(values, leaves, group, src))
    return group_matrices, by_group


def ahp_panel_weights(tier: TierSpec, matrices: list[Matrix], where: str,
                      source: str | None) -> wt.AHPPanelResult:
    """The AHP panel of one tier (or one group at the leaf tier): the experts' matrices
    combined as ``tier.panel`` says, CR checked against ``tier.cr_limit`` with the tier's
    ``ri_table``; errors name the file, the tier (and group), the expert and the judgement."""
    codes = matrices[0].codes
    sources = [m.source for m in matrices]
    try:
        return wt.ahp_panel([m.values for m in matrices], tier.cr_limit, how=tier.panel,
                            ri_table=tier.ri_table, codes=codes, sources=sources)
    except InputError as err:
        raise within(err, where, source) from None


def resolve_ahp(spec: WeightingSpec, system: IndicatorSystem
                ) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    """AHP weights of the groups tier (shares in ``system.level1_codes`` order) and of each
    leaf-tier group with matrices (shares in its leaf order), panels combined and every CR
    checked (:func:`ahp_panel_weights`)."""
    group_mats, leaf_mats = resolve_matrices(spec, system)
    gw = None if group_mats is None else ahp_panel_weights(
        spec.groups, group_mats, "weighting groups", spec.source).weights
    lw = {g: ahp_panel_weights(spec.leaves, mats, f"weighting leaves, group {g}",
                               spec.source).weights
          for g, mats in leaf_mats.items()}
    return gw, lw


def _ordered(m: Matrix, expected: tuple[str, ...], system: IndicatorSystem, where: str,
             what: str, source: str | None) -> np.ndarray:
    src = m.source or source
    if m.codes is None:
        if m.values.shape[0] != len(expected):
            raise InputError(src, where, "matrix", f"{m.values.shape[0]} × {m.values.shape[1]}",
                             f"must be {len(expected)} × {len(expected)}, one row per {what} "
                             f"({', '.join(expected)}) in the file's order")
        return m.values
    for code in m.codes:
        if code not in expected:
            raise InputError(src, where, "code", code,
                             f"not a {what} of {system.code} (expected: {', '.join(expected)})")
    missing = [c for c in expected if c not in m.codes]
    if missing:
        raise InputError(src, where, "code", missing[0],
                         f"missing from the AHP matrix, which must compare every {what}")
    perm = [m.codes.index(c) for c in expected]
    return m.values[np.ix_(perm, perm)]




# --------------------------------------------------------------------------------------------
# Weight bounds (benefit of the doubt, bounded SMAA)
# --------------------------------------------------------------------------------------------


def _pair(value: Any, src: str | None, where: str, name: str) -> tuple[float, float]:
    if (not isinstance(value, list | tuple) or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
        raise InputError(src, where, name, short(value),
                         "must be [lower, upper], two shares of the total weight in [0, 1]")
    lo, hi = float(value[0]), float(value[1])
    for label, v in (("lower", lo), ("upper", hi)):
        if not (math.isfinite(v) and 0.0 <= v <= 1.0):
            raise InputError(src, f"{where}, {name}", label, v, "must be a share in [0, 1]")
    if lo > hi:
        raise InputError(src, f"{where}, {name}", "lower", lo,
                         f"above its upper bound {hi:g}")
    return lo, hi


def parse_bounds(block: Any, system: IndicatorSystem,
                 source: str | Path | None = None) -> Bounds:
    """Share bounds on an indicator system's leaf weights from a ``bounds:`` block::

        bounds:
          leaves: {default: [0.02, 0.25], SAT: [0.05, 0.15]}   # each leaf's share of the total
          groups: {OUT: [0.3, 0.6], BEN: [0.2, 0.4]}           # each level-1 group's share

    Shares are of the total weight (points / total). ``None`` or ``{}``: no bounds. Returns a
    :class:`perfsim.kernel.bod.Bounds` (leaf order, level-1 groups); unknown codes, bounds
    outside [0, 1] and a lower bound above its upper bound are refused with one line. Whether
    the bounds can be met together is checked where they are used
    (:func:`perfsim.kernel.bod.check_bounds`)."""
    src = None if source is None else str(source)
    n = len(system.codes)
    lower, upper = np.zeros(n), np.ones(n)
    groups = system.level1_codes
    glo, ghi = np.zeros(len(groups)), np.ones(len(groups))
    if block is None:
        block = {}
    if not isinstance(block, Mapping):
        raise InputError(src, "bounds", value=short(block),
                         problem="must be a mapping with 'leaves' and/or 'groups'")
    for key in block:
        if key not in TIERS:
            raise InputError(src, "bounds", str(key),
                             problem="unknown key (allowed: leaves, groups)")
    leaves = block.get("leaves") or {}
    if not isinstance(leaves, Mapping):
        raise InputError(src, "bounds", "leaves", short(leaves),
                         "must map leaf codes (or default) to [lower, upper]")
    if "default" in leaves:
        lo, hi = _pair(leaves["default"], src, "bounds leaves", "default")
        lower[:], upper[:] = lo, hi
    for code, value in leaves.items():
        if code == "default":
            continue
        if str(code) not in system.codes:
            raise InputError(src, "bounds leaves", "code", str(code),
                             f"not a leaf of {system.code}")
        k = system.codes.index(str(code))
        lower[k], upper[k] = _pair(value, src, "bounds leaves", str(code))
    grp = block.get("groups") or {}
    if not isinstance(grp, Mapping):
        raise InputError(src, "bounds", "groups", short(grp),
                         "must map level-1 codes to [lower, upper]")
    for code, value in grp.items():
        if str(code) not in groups:
            raise InputError(src, "bounds groups", "code", str(code),
                             f"not a level-1 code of {system.code}")
        g = groups.index(str(code))
        glo[g], ghi[g] = _pair(value, src, "bounds groups", str(code))
    return Bounds(lower, upper, np.asarray(system.level1_index, dtype=np.int64), glo, ghi,
                  tuple(system.codes), tuple(groups))
