"""The what-if app's pure part: a loaded scenario and the page's values in, what the page shows
out. No widgets here, and no step of its own: every number comes from the researcher's object
(:meth:`perfsim.run.study.Scenario.set`, ``.run_year()``, ``.simulate()``) and the tables
from :mod:`perfsim.run.variants` and :mod:`perfsim.numbers`.

The page's values are a dict keyed by YAML paths, as in a scenario file:

============================== ====================================================== ========
path                           meaning                                                unit
============================== ====================================================== ========
``linkage.ratio``              the cut of 中-rated budgets (Liupanshui rule)           share
``grading.cutoffs.excellent``  the lowest score graded 优 (also ``.good``, ``.fair``)  points
``grading.quotas.excellent``   at most this share of projects graded 优 (1 = none)    share
``linkage.pool``               savings returned to the ``treasury`` or
                               ``redistribute``-d to 优 projects
``simulation.spot_check.share`` share of projects re-checked, in a small Monte Carlo share
============================== ====================================================== ========

(The grade codes are those of the scenario's label set: ``excellent``, ``good``, ``fair`` in
the national set.) :func:`changes` turns them into the changes :meth:`Scenario.set` takes:
the ratio and the spot-check share by their registry paths, cutoffs and quota as a
``grading`` block, the pool as a ``linkage`` block, both written as in a scenario file.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from perfsim import numbers
from perfsim.app.example import EXAMPLE_SCENARIO, EXAMPLE_WORKBOOK
from perfsim.errors import InputError
from perfsim.model.indicators import load_indicator_system
from perfsim.model.portfolio import DATASETS
from perfsim.present.notices import filled_cells_notice, read_notes
from perfsim.present.report import write_xlsx
from perfsim.run.simulate import MonteCarloResult
from perfsim.run.study import Scenario, load, study
from perfsim.run.variants import department_losses
from perfsim.run.year import YearResult

#: The dropdown's choice for a portfolio that carries its scores.
SCORES_READY = "scores"
SYSTEMS = DATASETS / "indicator_systems"
#: Where the savings go: ``linkage.pool`` values with their labels on the page.
POOLS: dict[str, str] = {
    "treasury": "上缴财政 returned to the treasury",
    "redistribute": "奖励优秀项目 redistributed to 优 projects (by budget)",
}
#: Replications of the spot-check Monte Carlo (one year): about 0.1 s at 3,468 projects.
REPLICATIONS = 64
#: Departments listed in the ledger of who loses most.
TOP_DEPARTMENTS = 15
#: Headings, Chinese first with English alongside.
HEADINGS: dict[str, str] = {
    "grade": "等级 grade", "department": "部门 department", "projects": "项目数 projects",
    "budget": "本年预算 budget", "kept": "保留 kept", "cut": "压减 cut",
    "cancelled": "取消 cancelled", "rewarded": "奖励 rewarded",
    "next_budget": "下年预算 next budget", "lost": "减少 lost",
    "share_lost": "减少比例 share lost",
}


# --- values ---------------------------------------------------------------------------------

def cutoff_paths(scenario: Scenario) -> list[str]:
    """``grading.cutoffs.<grade>`` for every grade but the last (empty without cutoffs)."""
    if scenario.grading.cutoffs is None:
        return []
    return [f"grading.cutoffs.{code}" for code in scenario.grading.labels.codes[:-1]]


def quota_path(scenario: Scenario) -> str:
    """``grading.quotas.<best grade>`` (``grading.quotas.excellent`` in the national set)."""
    return f"grading.quotas.{scenario.grading.labels.codes[0]}"


def defaults(scenario: Scenario) -> dict[str, Any]:
    """The page's values at the scenario's own settings (ratio and quota only where the
    scenario's rule and grading have them; a quota of 1 means none)."""
    g = scenario.grading
    out: dict[str, Any] = {}
    if "linkage.ratio" in scenario.parameters:
        out["linkage.ratio"] = float(scenario.linkage.params["ratio"])
    for path, cutoff in zip(cutoff_paths(scenario), g.cutoffs or (), strict=False):
        out[path] = float(cutoff)
    out[quota_path(scenario)] = float(g.quotas.get(g.labels.codes[0], 1.0))
    out["linkage.pool"] = scenario.linkage.pool
    out["simulation.spot_check.share"] = float(scenario.settings.check_share)
    return out


def changes(scenario: Scenario, values: Mapping[str, Any]) -> dict[str, Any]:
    """The changes :meth:`Scenario.set` takes for the page's ``values`` (paths absent keep
    the scenario's value; unknown paths are refused by ``set`` with the list of valid ones)."""
    values = dict(values)
    g = scenario.grading
    out: dict[str, Any] = {}
    cut_paths = cutoff_paths(scenario)
    quota = quota_path(scenario)
    if any(p in values for p in (*cut_paths, quota)):
        cutoffs = [float(values.pop(p, c)) for p, c in zip(cut_paths, g.cutoffs or (),
                                                             strict=False)]
        quotas = dict(g.quotas)
        if quota in values:
            share = values.pop(quota)
            if share is None or (isinstance(share, int | float) and share >= 1):
                quotas.pop(g.labels.codes[0], None)
            else:
                quotas[g.labels.codes[0]] = share
        out["grading"] = {"labels": g.labels, "cutoffs": cutoffs or None, "quotas": quotas}
    if "linkage.pool" in values:
        pool = values.pop("linkage.pool")
        if pool != scenario.linkage.pool:
            out["linkage"] = {**dict(scenario.spec.get("linkage") or {}), "pool": pool}
    out.update(values)
    return out


# --- loading --------------------------------------------------------------------------------

def indicator_systems() -> dict[str, str]:
    """The bundled indicator systems, ``{label: path}`` (label: Chinese and English name)."""
    out = {}
    for path in sorted(SYSTEMS.glob("*.yaml")):
        system = load_indicator_system(path)
        out[f"{system.name_zh} {system.name_en}"] = str(path)
    return out


def example() -> Scenario:
    """The bundled example: Liupanshui 2022 on the synthetic 2021 portfolio, from
    ``datasets/portfolios/liupanshui_2021_synthetic.xlsx``."""
    return load(EXAMPLE_SCENARIO)


def open_scenario(scenario_or_path: Scenario | str | os.PathLike[str] | None,
                  base: Scenario | None = None) -> Scenario | None:
    """A scenario (returned as the researcher's object), a scenario file (``.yaml``) or a
    portfolio file (``.xlsx``/``.csv``, ready scores, graded and linked as ``base``,
    default the bundled example); None stays None."""
    if scenario_or_path is None:
        return None
    if not isinstance(scenario_or_path, str | os.PathLike):
        return study(scenario_or_path)
    path = Path(scenario_or_path)
    if path.suffix.lower() in (".yaml", ".yml"):
        return load(path)
    if not path.exists():
        raise InputError(path, problem="file not found")
    return load_upload(path.name, path.read_bytes(), None, base)


def load_upload(name: str, content: bytes, system: str | os.PathLike[str] | None = None,
                base: Scenario | None = None) -> Scenario:
    """The scenario of an uploaded portfolio: ``name`` (``.xlsx`` or ``.csv``) with bytes
    ``content``, read with ``system`` (a path; None: ready scores) and graded, linked and
    seeded as ``base`` (default: the bundled example). Bad input raises the
    :class:`InputError` the command line gives for that file (``perfsim validate NAME``),
    naming the file as uploaded."""
    base = base or example()
    fname = Path(str(name).replace("\\", "/")).name or "portfolio.csv"
    stem = re.sub(r"[^\w.\-]", "_", Path(fname).stem).lstrip(".") or "upload"
    with tempfile.TemporaryDirectory(prefix="perfsim-app-") as tmp:
        folder = Path(tmp).resolve()
        (folder / fname).write_bytes(content)
        doc: dict[str, Any] = {"name": stem, "seed": base.seed, "portfolio": {"file": fname}}
        for block in ("grading", "linkage"):
            if base.spec.get(block) is not None:
                doc[block] = base.spec[block]
        if system is not None:
            doc["indicator_system"] = str(Path(system).resolve())
        spec = folder / "scenario.yaml"
        spec.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        try:
            sc = load(spec)
        except InputError as err:
            raise _as_uploaded(err, folder, fname) from None
    return sc.replace(source=fname)


def _as_uploaded(err: InputError, folder: Path, fname: str) -> InputError:
    """The error naming the uploaded file as its user named it, not the temporary copy."""
    source = err.source
    if source is not None and Path(source).resolve().is_relative_to(folder):
        source = fname if Path(source).name in (fname, "scenario.yaml") else os.path.relpath(
            source, folder)
    if err.has_value:
        return InputError(source, err.where, err.field, err.value, err.problem)
    return InputError(source, err.where, err.field, problem=err.problem)


def error_line(err: InputError) -> str:
    """The one line the command line prints for ``err``."""
    return f"perfsim: error: {err}"


def notices_html(view: View) -> str:
    """The notices ``perfsim run`` prints for the view's portfolio and year, as paragraphs:
    how its file was read (:func:`~perfsim.present.notices.read_notes`) and the blank cells
    filled by policy (:func:`~perfsim.present.notices.filled_cells_notice`)."""
    pf = view.scenario.portfolio
    name = Path(str(view.scenario.source or pf.source)).name  # as uploaded, not the temp copy
    lines = [*read_notes(pf, name), filled_cells_notice(view.result.summary)]
    return "".join(f"<p class='perfsim-notice'>{html.escape(t)}</p>" for t in lines if t)


# --- what the page shows --------------------------------------------------------------------

@dataclass(frozen=True)
class View:
    """What the page shows for one set of values: the changed scenario, its one-year result,
    the spot-check Monte Carlo (None when not run), the savings (yuan) and the page's HTML by
    section (``savings``, ``grades``, ``ledger``, ``moved``, ``spot_check``)."""

    scenario: Scenario
    result: YearResult
    monte_carlo: MonteCarloResult | None
    savings: float
    html: dict[str, str]

    @property
    def savings_text(self) -> str:
        """The savings as :func:`perfsim.numbers.yuan` writes them (``173,608,390.25``)."""
        return numbers.yuan(self.savings)


def update(scenario: Scenario, values: Mapping[str, Any], *,
           replications: int = REPLICATIONS) -> View:
    """Apply the page's ``values`` to ``scenario`` (:func:`changes`, :meth:`Scenario.set`),
    run one year, and (with ``replications``) a one-year Monte Carlo at the spot-check share;
    return the :class:`View`. Bad values raise :class:`InputError`."""
    sc = scenario.set(changes(scenario, values))
    result = sc.run_year()
    mc = sc.simulate(replications=replications, years=1) if replications else None
    tot = result.summary["totals_yuan"]
    return View(sc, result, mc, float(tot["savings"]), {
        "savings": savings_html(result),
        "grades": grades_html(result),
        "ledger": ledger_html(result),
        "moved": moved_html(result),
        "spot_check": spot_check_html(sc, mc),
    })


def bench_calls(scenario: Scenario | None = None) -> dict[str, Callable[[int], Any]]:
    """What ``perfsim bench`` times (:func:`perfsim.bench.time_app`): change ``k`` sets the
    ratio to 15% or 20% (alternately) on the bundled example; ``update`` is one change on the
    page, ``update_one_year`` the same without the Monte Carlo, ``run_year`` the bound: the
    bare one-year run of the same changed scenario."""
    sc = scenario or example()

    def values(k: int) -> dict[str, Any]:
        return {**defaults(sc), "linkage.ratio": 0.2 if k % 2 else 0.15}

    return {
        "update": lambda k: update(sc, values(k)),
        "update_one_year": lambda k: update(sc, values(k), replications=0),
        "run_year": lambda k: sc.set({"linkage.ratio": values(k)["linkage.ratio"]}).run_year(),
    }


def workbook(result: YearResult) -> bytes:
    """``allocation.xlsx`` of ``result`` as ``perfsim run --xlsx`` writes it
    (:func:`perfsim.present.report.write_xlsx`), as bytes."""
    with tempfile.TemporaryDirectory(prefix="perfsim-app-") as tmp:
        return write_xlsx(result, Path(tmp) / "allocation.xlsx").read_bytes()


def _money(x: float) -> str:
    return f"{numbers.yuan(x)} 元 ({numbers.yuan(x, '亿元')} 亿元)"


def savings_html(result: YearResult) -> str:
    """The savings: budget minus next year's budget, in yuan to the fen and in 亿元."""
    s = result.summary["totals_yuan"]["savings"]
    return ('<div class="perfsim-headline" style="font-size:1.4em"><b>节约资金 savings</b>: '
            f'<span class="perfsim-savings">{numbers.yuan(s)}</span> 元 '
            f'({numbers.yuan(s, "亿元")} 亿元)</div>')


def _table(frame: pd.DataFrame, css: str) -> str:
    """A table of strings (Chinese and English headings, money in one unit per table)."""
    unit = numbers.choose_unit([v for c in frame.columns
                                if numbers.column_kind(c) == "money" for v in frame[c]])
    shown = numbers.display_frame(frame, unit=unit)
    names = {}
    for c in frame.columns:
        head = HEADINGS.get(c, c)
        key = f"{c} ({unit})" if numbers.column_kind(c) == "money" else c
        names[key] = f"{head} ({unit})" if numbers.column_kind(c) == "money" else head
    return shown.rename(columns=names).to_html(index=False, classes=css, escape=True,
                                               border=0)


def grades_html(result: YearResult) -> str:
    """Projects and money by grade."""
    t = result.by_grade.copy()
    t["grade"] = t.pop("grade_zh") + " " + t["grade"]
    cols = ["grade", "projects", "budget", "cut", "cancelled", "rewarded", "next_budget"]
    return "<h4>等级分布 grades</h4>" + _table(t[cols], "perfsim-grades")


def ledger_html(result: YearResult, top: int = TOP_DEPARTMENTS) -> str:
    """The departments that lose most (cut + cancelled), largest first
    (:func:`perfsim.run.variants.department_losses`)."""
    t = department_losses(result, top)
    cols = ["department", "projects", "budget", "lost", "share_lost", "rewarded",
            "next_budget"]
    return (f"<h4>减少最多的部门 departments losing most (top {top})</h4>"
            + _table(t[cols], "perfsim-ledger"))


def moved_html(result: YearResult) -> str:
    """Where the money goes: cut and cancelled from projects, rewarded to projects, and the
    savings returned to the treasury."""
    t = result.summary["totals_yuan"]
    moved = t["cut"] + t["cancelled"]
    rows = [("压减 cut from projects", t["cut"]),
            ("取消 cancelled projects", t["cancelled"]),
            ("合计调出 taken from projects", moved),
            ("奖励 rewarded to projects", t["rewarded"]),
            ("上缴财政 returned to the treasury (savings)", t["budget"] - t["next_budget"])]
    body = "".join(f"<tr><td>{html.escape(k)}</td><td style='text-align:right'>"
                   f"{_money(v)}</td></tr>" for k, v in rows)
    return ("<h4>资金流向 money moved</h4>"
            f"<table class='perfsim-moved'>{body}</table>")


def spot_check_html(scenario: Scenario, mc: MonteCarloResult | None) -> str:
    """What the spot-check share changes: the Monte Carlo's misgrading, wrong cuts and
    savings (means and 5–95% bands over the replications), with the assumptions."""
    s = scenario.settings
    intro = (
        "<h4>抽查 spot checks</h4><p>抽查比例只影响评价过程：被抽查项目的自评分由复核分替代。"
        "上面的一年结果把表中得分视为真实得分，因此不受抽查比例影响。下表为蒙特卡洛模拟："
        f"自评误差 σ = {s.measurement_noise * 100:.1f} 分，平均虚高 "
        f"{s.inflation_mean * 100:.1f} 分，复核误差 σ = {s.recheck_noise * 100:.1f} 分，"
        f"抽查方式 {html.escape(s.check_selection)}。<br>"
        "The spot-check share changes the evaluation process only: the checked projects' "
        "self-scores are replaced by re-check scores. The one-year figures above take the "
        "table's scores as the truth, so the share does not move them. Below, a Monte Carlo: "
        f"self-evaluation noise sd {s.measurement_noise * 100:.1f} points, mean inflation "
        f"{s.inflation_mean * 100:.1f} points, re-check noise sd {s.recheck_noise * 100:.1f} "
        f"points, selection {html.escape(s.check_selection)}.</p>")
    if mc is None:
        return intro
    year = mc.replications[mc.replications["year"] == 1]
    n = len(year)
    rows = [("抽查比例 spot-check share", numbers.percent(s.check_share), "", ""),
            ("错评率 misgrading (share graded unlike the truth)",
             *(numbers.percent(v) for v in _band(year["misgrading"]))),
            ("误减 wrong cuts (yuan cut from truly 优/良)",
             *(_money(v) for v in _band(year["wrong_cuts"]))),
            ("节约资金 savings", *(_money(v) for v in _band(year["savings"])))]
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                   for r in rows)
    head = ("<tr><th>指标 metric</th><th>均值 mean</th><th>5%</th><th>95%</th></tr>")
    return (intro + f"<table class='perfsim-spot'>{head}{body}</table>"
            f"<p>{n} 次模拟 replications, seed {scenario.seed}</p>")


def _band(x: pd.Series) -> tuple[float, float, float]:
    return float(x.mean()), float(x.quantile(0.05)), float(x.quantile(0.95))


__all__ = ["EXAMPLE_WORKBOOK", "POOLS", "SCORES_READY", "View", "bench_calls", "changes",
           "defaults",
           "example", "indicator_systems", "load_upload", "open_scenario", "update",
           "workbook"]
