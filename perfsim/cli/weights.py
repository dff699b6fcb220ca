"""``perfsim weights``: an indicator system's weights under a weighting method."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from perfsim.cli.common import (
    DEFAULT_SYSTEM,
)
from perfsim.errors import InputError
from perfsim.io import csv_safe
from perfsim.kernel.weighting.ahp import RI_SOURCES, RI_TABLES, AHPResult
from perfsim.model.indicators import load_indicator_system
from perfsim.model.portfolio import load_portfolio
from perfsim.model.scenario import load_scenario
from perfsim.model.weighting_spec import (
    WeightingSpec,
    ahp_panel_weights,
    parse_weighting,
    resolve_matrices,
)
from perfsim.model.weights import apply_weighting, cell_counts, filled_counts, weights_frame


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim weights``."""
    wts = sub.add_parser(
        "weights", help="weights of an indicator system under a weighting method",
        description="Print an indicator system's weights as points under a weighting method, "
                    "at one tier: --level groups (default) splits the total among the level-1 "
                    "groups, the leaves keeping the file's proportions within each group; "
                    "--level leaves splits each group's points among its leaves, the groups "
                    "keeping the file's points. Objective methods (entropy, critic, pca, "
                    "optimised, combined) need project measurements from --portfolio or "
                    "--scenario.")
    wts.add_argument("--method", required=True,
                     help="expert, equal, ahp, entropy, critic, pca, optimised or combined")
    wts.add_argument("--level", choices=["groups", "leaves"], default="groups",
                     help="the tier the method weights (default: groups)")
    src = wts.add_mutually_exclusive_group()
    src.add_argument("--system", type=Path, default=None,
                     help="indicator system (default: the bundled national project "
                          "self-evaluation template)")
    src.add_argument("--scenario", type=Path, default=None,
                     help="take the indicator system and the portfolio from a scenario")
    wts.add_argument("--portfolio", type=Path, default=None,
                     help="portfolio with indicator measurements (for objective methods)")
    wts.add_argument("--matrix", type=Path, action="append", default=None, metavar="CSV",
                     help="AHP pairwise comparison matrix (codes in the header row); repeat "
                          "it for a panel of experts (at --level leaves, the codes say which "
                          "level-1 group each CSV belongs to)")
    wts.add_argument("--ri-table", dest="ri_table", default=None,
                     help="AHP random index of CR = CI / RI: " + ", ".join(
                         f"{k} ({v})" for k, v in RI_SOURCES.items()) + "; default saaty1980")
    wts.add_argument("--panel", default=None,
                     help="AHP panel: combine the experts' judgements (default) or priorities")
    wts.add_argument("--alpha", type=float, default=None,
                     help="combined: share of the subjective weights, in [0, 1] (default 0.5)")
    wts.add_argument("--objective", default=None,
                     help="combined: entropy (default), critic, pca or optimised")
    wts.add_argument("--subjective", default=None,
                     help="combined: expert (default), equal or ahp")
    wts.add_argument("--combine", default=None,
                     help="combined: additive (default) or multiplicative")
    wts.add_argument("--treatment", default=None,
                     help="objective methods: treat the data first: none, winsorise (5%%/95%% "
                          "quantiles), auto (winsorise while |skew| > 2 and kurtosis > 3.5, at "
                          "most 5 points, else log) or log")
    wts.add_argument("--target", default=None, metavar="CODE=N,...",
                     help="optimised: the importance each indicator should have, relative "
                          "numbers >= 0 by code (OUT.QTY.1=3,OUT.QTY.2=1; at --level leaves "
                          "every leaf of a group or none) or one per indicator in the file's "
                          "order (default: equal importance)")
    wts.add_argument("--format", choices=["table", "csv"], default="table",
                     help="table (default) or csv: code,weight with weights in points")
    wts.set_defaults(func=_cmd_weights)


def _cmd_weights(args: argparse.Namespace) -> int:
    portfolio = None
    if args.scenario is not None:
        if args.portfolio is not None:
            raise InputError(field="--portfolio", value=str(args.portfolio),
                             problem="give --portfolio or --scenario, not both")
        scenario = load_scenario(args.scenario)
        system, portfolio = scenario.system, scenario.portfolio
        if system is None:
            raise InputError(args.scenario, field="indicator_system",
                             problem="the scenario has no indicator system")
    else:
        system = load_indicator_system(args.system or DEFAULT_SYSTEM)
        if args.portfolio is not None:
            portfolio = load_portfolio(args.portfolio, system)
    tier: dict[str, object] = {"method": args.method}
    needs_matrix = args.method == "ahp" or (args.method == "combined"
                                            and args.subjective == "ahp")
    if needs_matrix and not args.matrix:
        raise InputError(field="--matrix", problem="AHP needs a pairwise comparison matrix CSV, "
                         "e.g. --matrix datasets/weighting/national_groups_ahp.csv")
    if args.matrix:
        files = [str(m) for m in args.matrix]
        tier["matrix_file"] = files[0] if len(files) == 1 and args.level == "groups" else files
    for key in ("alpha", "objective", "subjective", "combine", "treatment", "ri_table",
                "panel"):
        if getattr(args, key) is not None:
            tier[key] = getattr(args, key)
    if args.target is not None:
        tier["target"] = _target_option(args.target)
    spec = parse_weighting({args.level: tier}, base=Path.cwd())
    if spec.uses_data and portfolio is None:
        raise InputError(field="--method", value=args.method,
                         problem="needs project measurements: give --portfolio FILE or "
                                 "--scenario FILE")
    table = weights_frame(apply_weighting(system, spec, portfolio), args.level)
    if args.format == "csv":
        out = table[["code", "points"]].rename(columns={"points": "weight"})
        sys.stdout.write(csv_safe(out).to_csv(index=False, lineterminator="\n"))
        return 0
    other = "leaves keep the file's proportions" if args.level == "groups" else (
        "groups keep the file's points")
    method = getattr(spec, args.level).describe()
    print(f"{system.code}: {method} weights at the {args.level} tier ({other})")
    width = max(len("total"), *(len(c) for c in table["code"]))
    counts = None
    if spec.uses_data and args.level == "leaves":
        counts = cell_counts(system, portfolio).set_index("code")
    cells = f"  {'used':>5}  {'imputed':>7}  {'left out':>8}" if counts is not None else ""
    print(f"{'code':<{width}}  {'weight':>8}  {'share':>6}{cells}  name")
    for row in table.itertuples(index=False):
        if counts is not None:
            c = counts.loc[row.code]
            cells = f"  {c.n_used:>5}  {c.n_imputed:>7}  {c.n_left_out:>8}"
        print(f"{row.code:<{width}}  {row.points:8.2f}  {row.share:6.1%}{cells}  "
              f"{row.name_zh} / {row.name_en}")
    print(f"{'total':<{width}}  {table['points'].sum():8.2f}  {table['share'].sum():6.1%}  "
          f"(weight in points)")
    if counts is not None:
        _print_cells(counts)
    elif spec.uses_data:   # the groups tier reads attainment shares: every cell is scored
        by = filled_counts(system, portfolio)
        if not by.empty:
            print(f"缺失值 missing cells: {int(by.sum())} cell(s) hold no value, each used with "
                  "the attainment its leaf's policy gives it ("
                  + ", ".join(f"{n} {t}" for t, n in by.items()) + ")")
    for line in ahp_consistency(spec, system, args.level):
        print(line)
    return 0


def _target_option(text: str) -> list[object] | dict[str, object]:
    """``--target``: ``CODE=N,CODE=N`` as a mapping or ``N,N,...`` as a list, as a ``target:``
    of a ``weighting:`` block writes them (its parser checks the numbers, with the codes)."""
    items = [item.strip() for item in text.split(",")]
    pairs = ["=" in item for item in items]

    def number(value: str) -> object:
        try:
            return float(value)
        except ValueError:
            return value   # refused by the weighting block's parser, naming the value

    if all(pairs):
        return {code.strip(): number(value)
                for code, _, value in (item.partition("=") for item in items)}
    if any(pairs):
        raise InputError(field="--target", value=text,
                         problem="write CODE=NUMBER pairs or numbers in the file's order, "
                                 "not a mix")
    return [number(item) for item in items]


def _print_cells(counts) -> None:
    """What the objective method made of cells without a value, by each leaf's policy."""
    imputed = counts[counts["n_imputed"] > 0]
    for code, c in imputed.iterrows():
        print(f"已插补 imputed {code}: {c.n_imputed} blank cell(s) with {c.imputed_value} "
              f"({c.imputed_from}; missing: impute)")
    left = int(counts["n_left_out"].sum())
    if left:
        print(f"未计入 left out: {left} cell(s) without a value (blank under missing: zero or "
              "exclude, n/a, 未申报): each statistic reads the values a leaf has")


def _shown(path: str) -> str:
    """A matrix file as the user would write it: relative to the working directory when
    inside it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _consistency(label: str, r: AHPResult, n: int) -> str:
    return (f"  {label}: n = {n}, λmax = {r.lambda_max:.4f}, CI = {r.ci:.4f}, RI = {r.ri:g}, "
            f"CR = {r.cr:.4f}")


def ahp_consistency(spec: WeightingSpec, system, level: str) -> list[str]:
    """Lines for an AHP tier: each expert's λmax, CI, RI and CR, and the combined panel's
    (``panel: judgements``: the geometric-mean matrix), under the tier's random-index table;
    nothing for other methods. The same panels the weights came from
    (:func:`perfsim.model.weighting_spec.ahp_panel_weights`)."""
    tier = getattr(spec, level)
    if not tier.uses_ahp:
        return []
    group_mats, leaf_mats = resolve_matrices(spec, system)
    panels = ([("groups", group_mats)] if level == "groups" and group_mats
              else [(f"group {g}", mats) for g, mats in leaf_mats.items()])
    limit = "none" if tier.cr_limit is None else f"{tier.cr_limit:g}"
    table = RI_TABLES[tier.ri_table]
    lines = [f"AHP consistency: CR = CI / RI, CI = (λmax − n) / (n − 1), RI from "
             f"{tier.ri_table} ({RI_SOURCES[tier.ri_table]}: n = 3…{max(table)}), "
             f"CR limit {limit}"]
    for label, mats in panels:
        where = "weighting groups" if label == "groups" else f"weighting leaves, {label}"
        res = ahp_panel_weights(tier, mats, where, spec.source)
        n = res.weights.size
        for k, (m, r) in enumerate(zip(mats, res.experts, strict=True)):
            file = f" ({_shown(m.source)})" if m.source else ""
            lines.append(_consistency(f"{label}, expert {k + 1}{file}" if len(mats) > 1
                                      else f"{label}{file}", r, n))
        if len(mats) > 1 and res.combined is not None:
            lines.append(_consistency(f"{label}, combined judgements (element-wise geometric "
                                      f"mean of {len(mats)})", res.combined, n))
        elif len(mats) > 1:
            lines.append(f"  {label}: priorities combined (geometric mean of the "
                         f"{len(mats)} experts' weights): no combined matrix; the CR limit "
                         "applies to every expert")
    return lines
