"""Matplotlib figures for notebooks and reports.

Every figure has a title, axis labels with units and a source line (``fig.text`` at the bottom).
Chinese labels need a CJK font: :func:`use_cjk_font` picks one if installed; without one the
figures fall back to English-only labels (DejaVu Sans has no Chinese glyphs) after a one-time
warning.
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from perfsim import numbers
from perfsim.errors import InputError
from perfsim.run.year import NOT_EVALUATED

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from matplotlib.axes import Axes

    from perfsim.run.compare import Comparison
    from perfsim.run.sensitivity import SensitivityResult

__all__ = ["CJK_FONTS", "plot_scheme_comparison", "plot_sensitivity", "use_cjk_font"]

#: CJK-capable fonts tried in order by :func:`use_cjk_font`.
CJK_FONTS: tuple[str, ...] = ("Noto Sans CJK SC", "WenQuanYi Zen Hei", "SimHei",
                              "Source Han Sans SC")
#: Grade colours, best first (green → red); more grades reuse the last ones.
GRADE_COLOURS: tuple[str, ...] = ("#1a9850", "#91cf60", "#fc8d59", "#d73027", "#7f0000")
NOT_GRADED_COLOUR = "#bdbdbd"   # projects not evaluated this year (a coverage or cross-year rule)

_state: dict[str, Any] = {"checked": False, "font": None, "warned": False}


def use_cjk_font() -> str | None:
    """Make matplotlib render Chinese: put the first installed font of :data:`CJK_FONTS` first
    in ``font.sans-serif`` (and use an ASCII minus sign, which CJK fonts may lack). Returns the
    font's name, or ``None`` when none is installed — then matplotlib keeps DejaVu Sans and a
    warning is given once per session. Cheap to call repeatedly."""
    import matplotlib
    from matplotlib import font_manager

    if not _state["checked"]:
        _register_packaged_font()
        installed = {f.name for f in font_manager.fontManager.ttflist}
        _state["font"] = next((name for name in CJK_FONTS if name in installed), None)
        _state["checked"] = True
    font = _state["font"]
    if font is None:
        if not _state["warned"]:
            _state["warned"] = True
            warnings.warn("no CJK font found (tried " + ", ".join(CJK_FONTS) + "); figures use "
                          "DejaVu Sans and English-only labels", UserWarning, stacklevel=2)
        return None
    families = list(matplotlib.rcParams["font.sans-serif"])
    if not families or families[0] != font:
        matplotlib.rcParams["font.sans-serif"] = [font, *[f for f in families if f != font]]
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["axes.unicode_minus"] = False
    return font


#: The pip-installed package whose font file :func:`use_cjk_font` registers (a dependency of
#: perfsim: Noto Sans CJK SC, SIL Open Font License), found without importing the package
#: (importing it would switch matplotlib's font and backend).
PACKAGED_FONT = ("mpl_font", "fonts/noto/NotoSansCJKsc-Regular.otf")


def _register_packaged_font() -> str | None:
    """Register the Noto Sans CJK SC file shipped by the ``mpl-font`` wheel with matplotlib's
    font manager (``fontManager.addfont``); returns its path, or None if it is not installed."""

    from matplotlib import font_manager

    package, relative = PACKAGED_FONT
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        return None
    if str(path) not in {f.fname for f in font_manager.fontManager.ttflist}:
        font_manager.fontManager.addfont(str(path))
    return str(path)


def _label(en: str, zh: str, cjk: bool) -> str:
    return f"{en} ({zh})" if cjk else en


def plot_scheme_comparison(comparison: Comparison, ax: Axes | None = None,
                           kind: str = "grades") -> Axes:
    """Plot a :class:`~perfsim.schemes.Comparison` on ``ax`` (a new figure if ``None``).

    ``kind``:

    - ``'grades'`` (default): stacked bars of projects per grade under each scheme, each bar
      annotated with Spearman's ρ against the reference scheme;
    - ``'money'``: yuan lost and gained by departments under each scheme against the reference,
      in 亿元 (100 million yuan);
    - ``'correlations'``: the scheme × scheme matrix of Spearman's ρ as a heat map.

    Returns the axes. Titles, labels and the source line are bilingual when a CJK font is
    installed (see :func:`use_cjk_font`).
    """
    import matplotlib.pyplot as plt

    if kind not in ("grades", "money", "correlations"):
        raise InputError(field="kind", value=kind,
                         problem="must be 'grades', 'money' or 'correlations'")
    cjk = use_cjk_font() is not None
    own = ax is None
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5))
    fig = ax.figure
    names = list(comparison.schemes)
    x = np.arange(len(names))
    summary = comparison.summary.set_index("scheme").loc[names]
    n_projects = int(summary.filter(like="projects_").iloc[0].sum())
    if kind == "grades":
        bottom = np.zeros(len(names))
        for k, (code, zh) in enumerate(zip(comparison.grade_codes, comparison.grade_zh,
                                           strict=True)):
            counts = summary[f"projects_{code}"].to_numpy(dtype=float)
            ax.bar(x, counts, bottom=bottom, color=GRADE_COLOURS[min(k, 4)],
                   label=f"{zh} {code}" if cjk else code)
            bottom += counts
        for xi, rho in zip(x, summary["spearman_vs_reference"], strict=True):
            ax.annotate(f"ρ={rho:.3f}", (xi, bottom[xi]), ha="center", va="bottom",
                        fontsize=8, xytext=(0, 2), textcoords="offset points")
        ax.set_ylim(0, bottom.max() * 1.1)
        ax.set_ylabel(_label("projects", "项目数，个", cjk))
        ax.set_title(_label("Grades under each weighting scheme", "各赋权方案下的等级分布", cjk))
        ax.legend(title=_label("grade", "等级", cjk), loc="center left",
                  bbox_to_anchor=(1.01, 0.5), fontsize=8)
        note = f"ρ: Spearman rank correlation of scores with {comparison.reference}"
    elif kind == "money":
        lost = summary["money_lost"].to_numpy(dtype=float) / 1e8
        gained = summary["money_gained"].to_numpy(dtype=float) / 1e8
        ax.bar(x, -lost, color=GRADE_COLOURS[3], label=_label("lost", "减少", cjk))
        ax.bar(x, gained, color=GRADE_COLOURS[0], label=_label("gained", "增加", cjk))
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_ylabel(_label("next budget vs reference, 100 million yuan", "亿元", cjk))
        ax.set_title(_label("Money moved between departments", "部门间预算变动", cjk))
        ax.legend(fontsize=8)
        note = f"departments' next budgets minus under {comparison.reference}"
    else:
        matrix = comparison.correlation_matrix("spearman").to_numpy(dtype=float)
        low = float(np.nanmin(matrix)) if np.isfinite(matrix).any() else 0.0
        low = min(low, 1.0) - 0.01
        image = ax.imshow(matrix, cmap="viridis", vmin=low, vmax=1.0)
        for (i, j), v in np.ndenumerate(matrix):
            ax.text(j, i, f"{v:.3f}", ha="center", va="center", fontsize=7,
                    color="white" if v < (low + 1.0) / 2 else "black")
        fig.colorbar(image, ax=ax, label=_label("Spearman's ρ (unitless)", "秩相关", cjk))
        ax.set_yticks(x, names)
        ax.set_ylabel(_label("weighting scheme", "赋权方案", cjk))
        ax.set_title(_label("Rank agreement between schemes", "方案间排序一致性", cjk))
        note = "Spearman rank correlation of project scores"
    ax.set_xticks(x, names, rotation=20, ha="right")
    ax.set_xlabel(_label("weighting scheme", "赋权方案", cjk))
    fig.text(0.01, 0.005, f"Source: perfsim compare_schemes, scenario {comparison.scenario}, "
                          f"{n_projects:,} projects; {note}.", fontsize=7, ha="left",
             va="bottom", color="0.35")
    if own:
        fig.tight_layout(rect=(0, 0.04, 1, 1))  # leave room for the source line
    return ax


# --------------------------------------------------------------------------------------------
# Generic figures for the notebooks (perfsim.notebooks.runner): every one takes a title, axis labels
# with units and a source line as required keyword arguments. Labels may mix Chinese and
# English ("节约 savings"); without a CJK font the Chinese characters are dropped.
# --------------------------------------------------------------------------------------------

_CJK_CHARS = r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+"


def text(label: str) -> str:
    """``label`` as it can be rendered: unchanged with a CJK font, else without its Chinese
    characters (and without the brackets or spaces they leave behind)."""

    if use_cjk_font() is not None:
        return label
    out = re.sub(_CJK_CHARS, "", str(label))
    out = re.sub(r"\(\s*[,;/]?\s*\)", "", out)
    out = re.sub(r"\(\s*[,;/]\s*", "(", out)
    out = re.sub(r"\s{2,}", " ", out).strip(" ,;/")
    return out or "?"


def source_line(fig: Any, source: str) -> None:
    """Write ``Source: ...`` at the bottom left of ``fig``."""
    fig.text(0.01, 0.005, text(f"Source: {source}"), fontsize=7, ha="left", va="bottom",
             color="0.35")


def _finish(fig: Any, ax: Any, title: str, xlabel: str, ylabel: str, source: str) -> Any:
    for name, value in (("title", title), ("xlabel", xlabel), ("ylabel", ylabel),
                        ("source", source)):
        if not isinstance(value, str) or not value.strip():
            raise InputError(field=name, value=value,
                             problem="every figure needs a title, axis labels with units "
                                     "and a source line")
    ax.set_title(text(title))
    ax.set_xlabel(text(xlabel))
    ax.set_ylabel(text(ylabel))
    plain_ticks(ax)
    source_line(fig, source)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def tick_label(value: float, _position: Any = None) -> str:
    """A tick as people write it: 1,000,000 and 0.25, never 1e6 or an offset."""
    v = float(value)
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if v != 0 and abs(v) < 1e-4:
        return f"{v:.8f}".rstrip("0")
    return f"{v:g}"


def plain_ticks(ax: Any) -> None:
    """Numeric ticks of linear axes written in full (:func:`tick_label`): matplotlib would
    show large values as ×1e6 with an offset."""
    from matplotlib.ticker import FuncFormatter, ScalarFormatter

    for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
        if scale == "linear" and isinstance(axis.get_major_formatter(), ScalarFormatter):
            axis.set_major_formatter(FuncFormatter(tick_label))


def _new(figsize: tuple[float, float]) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    use_cjk_font()
    return plt.subplots(figsize=figsize)


def _has_rows(data: Any, y: str, title: str) -> None:
    if not len(data):
        raise InputError(where=f"chart {title}", field=y,
                         problem="no rows to plot (does the table hold this metric?)")


def bar_chart(data: Any, x: str, y: str, *, hue: str | None = None, title: str, xlabel: str,
              ylabel: str, source: str, scale: float = 1.0, stacked: bool = False,
              horizontal: bool = False, low: str | None = None, high: str | None = None,
              figsize: tuple[float, float] = (8, 4.5)) -> Any:
    """Bars of ``data[y] / scale`` by ``data[x]`` (grouped or ``stacked`` by ``hue``), in the
    order the rows come; error bars from columns ``low`` to ``high`` (e.g. the 5–95% interval,
    not with ``stacked``). Returns the figure; ``data`` without a row is an error."""
    _has_rows(data, y, title)
    fig, ax = _new(figsize)
    cats = list(dict.fromkeys(data[x].astype(str)))
    pos = np.arange(len(cats))
    groups = list(dict.fromkeys(data[hue].astype(str))) if hue else [None]
    width = 0.8 if (stacked or hue is None) else 0.8 / len(groups)
    base = np.zeros(len(cats))
    for k, g in enumerate(groups):
        sub = data if g is None else data[data[hue].astype(str) == g]
        grouped = sub.groupby(sub[x].astype(str), sort=False)
        vals = (grouped[y].sum() / scale).reindex(cats, fill_value=0.0).to_numpy(dtype=float)
        err = None
        if low and high and not stacked:
            lo = (grouped[low].sum() / scale).reindex(cats).to_numpy(dtype=float)
            hi = (grouped[high].sum() / scale).reindex(cats).to_numpy(dtype=float)
            err = np.vstack([np.clip(vals - lo, 0, None), np.clip(hi - vals, 0, None)])
        offset = 0.0 if (stacked or hue is None) else (k - (len(groups) - 1) / 2) * width
        colour = GRADE_COLOURS[k % len(GRADE_COLOURS)] if hue and len(groups) <= 5 else None
        kwargs = {"label": text(g) if g is not None else None, "color": colour,
                  "capsize": 3 if err is not None else 0}
        if horizontal:
            ax.barh(pos + offset, vals, height=width, left=base if stacked else None,
                    xerr=err, **kwargs)
        else:
            ax.bar(pos + offset, vals, width=width, bottom=base if stacked else None, yerr=err,
                   **kwargs)
        if stacked:
            base = base + vals
    labels = [text(c) for c in cats]
    if horizontal:
        ax.set_yticks(pos, labels)
        ax.invert_yaxis()
        xlabel, ylabel = ylabel, xlabel
    else:
        ax.set_xticks(pos, labels, rotation=20 if max(map(len, labels)) > 8 else 0,
                      ha="right" if max(map(len, labels)) > 8 else "center")
    if hue:
        ax.legend(title=text(hue), fontsize=8)
    return _finish(fig, ax, title, xlabel, ylabel, source)


def line_chart(data: Any, x: str, y: str, *, hue: str | None = None, low: str | None = None,
               high: str | None = None, title: str, xlabel: str, ylabel: str, source: str,
               scale: float = 1.0, figsize: tuple[float, float] = (8, 4.5)) -> Any:
    """Lines of ``data[y] / scale`` against ``data[x]``, one per ``hue`` value, with a shaded
    band between ``low`` and ``high`` (e.g. the 5–95% interval) when given. ``data`` without
    a row (a filter that matched nothing, such as a metric the table does not hold) is an
    error, never an empty chart."""
    _has_rows(data, y, title)
    fig, ax = _new(figsize)
    groups = list(dict.fromkeys(data[hue])) if hue else [None]
    for g in groups:
        sub = (data if g is None else data[data[hue] == g]).sort_values(x)
        xs = sub[x].to_numpy()
        line, = ax.plot(xs, sub[y].to_numpy(dtype=float) / scale, marker="o", markersize=3,
                        label=text(str(g)) if g is not None else None)
        if low and high:
            ax.fill_between(xs, sub[low].to_numpy(dtype=float) / scale,
                            sub[high].to_numpy(dtype=float) / scale, alpha=0.15,
                            color=line.get_color(), linewidth=0)
    if hue:
        ax.legend(title=text(hue), fontsize=8)
    ax.grid(alpha=0.3)
    xs_all = data[x]
    if np.issubdtype(np.asarray(xs_all).dtype, np.integer):
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return _finish(fig, ax, title, xlabel, ylabel, source)


def histogram(values: Any, *, bins: int | Sequence[float] = 50,
              lines: Sequence[float] | None = (), title: str, xlabel: str, ylabel: str,
              source: str, figsize: tuple[float, float] = (8, 4.5)) -> Any:
    """A histogram of ``values`` with dashed vertical ``lines`` (e.g. grade cutoffs; None:
    none, as for rank grading)."""
    fig, ax = _new(figsize)
    ax.hist(np.asarray(values, dtype=float), bins=bins, color="#4575b4", alpha=0.85)
    for v in lines or ():
        ax.axvline(float(v), color="#d73027", linestyle="--", linewidth=1)
    return _finish(fig, ax, title, xlabel, ylabel, source)


def heatmap(matrix: Any, *, title: str, xlabel: str, ylabel: str, source: str,
            colorbar: str, fmt: str = "{:.2f}", figsize: tuple[float, float] = (7, 5.5)) -> Any:
    """A labelled matrix (a DataFrame: rows × columns) as a heat map with its values written."""
    fig, ax = _new(figsize)
    values = matrix.to_numpy(dtype=float)
    image = ax.imshow(values, cmap="viridis", aspect="auto")
    mid = np.nanmean(values) if np.isfinite(values).any() else 0.0
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=7,
                color="white" if v < mid else "black")
    ax.set_xticks(np.arange(values.shape[1]), [text(str(c)) for c in matrix.columns],
                  rotation=20, ha="right")
    ax.set_yticks(np.arange(values.shape[0]), [text(str(r)) for r in matrix.index])
    fig.colorbar(image, ax=ax, label=text(colorbar))
    return _finish(fig, ax, title, xlabel, ylabel, source)


def sweep_comparison(table: Any, *, grid: Sequence[str], x: str | None = None,
                     y: str | None = None, hue: str | None = None,
                     where: Mapping[str, Any] | None = None, title: str,
                     source: str) -> Any | None:
    """The comparison plot of a sweep table (one row per run × results row): the mean of
    ``y`` per run against grid parameter ``x``, one line per value of ``hue``, over the rows
    matching ``where`` (column → value). Defaults: the first grid parameter, the second as hue;
    ``y`` = ``savings`` or ``mean`` if the table has one, else its first numeric column; a
    long table with a ``metric`` column is filtered to its first metric. Returns None when there
    is nothing numeric to plot."""

    grid = list(grid)
    x = x or grid[0]
    if hue is None and len(grid) > 1:
        hue = next(g for g in grid if g != x)
    where = dict(where or {})
    if not where and "metric" in table.columns and len(table):
        where = {"metric": table["metric"].iloc[0]}
    for column, value in where.items():
        table = table[table[column].astype(str) == str(value)]
    skip = {"run", *grid, *(f"param_{g}" for g in grid)}
    numeric = [c for c in table.columns if c not in skip
               and pd.api.types.is_numeric_dtype(table[c])
               and not pd.api.types.is_bool_dtype(table[c])]
    if y is None:
        preferred = [c for c in ("savings", "mean") if c in numeric]
        if not (preferred or numeric) or table.empty:
            return None
        y = (preferred or numeric)[0]
    keys = ["run", x] + ([hue] if hue else [])
    per_run = table.groupby(keys, sort=False, dropna=False)[y].mean().reset_index()
    agg = per_run.groupby([x] + ([hue] if hue else []), dropna=False)[y].mean().reset_index()
    if not pd.api.types.is_numeric_dtype(agg[x]):
        agg[x] = agg[x].astype(str)
    other = [g for g in grid if g not in (x, hue)]
    note = f"; mean over runs for {', '.join(other)}" if other else ""
    rows = ", ".join(f"{k} = {v}" for k, v in where.items())
    return line_chart(agg, x, y, hue=hue, title=title, xlabel=f"{x} (grid parameter)",
                      ylabel=f"{y} (mean per run{'; ' + rows if rows else ''}; units of the "
                             "results table)", source=source + note)


__all__ += ["bar_chart", "heatmap", "histogram", "line_chart", "source_line",
            "sweep_comparison", "text"]


def plot_sensitivity(res: SensitivityResult, metric: str, ax: Any = None,
                     source: str | None = None) -> Any:
    """A tornado-style bar chart for one metric: Sobol S1 and ST with their intervals, or
    Morris μ* with its interval, parameters sorted by importance. Returns the figure."""
    import matplotlib.pyplot as plt

    use_cjk_font()
    if metric not in res.metrics:
        raise InputError(field="metric", value=metric,
                         problem=f"not analysed (analysed: {', '.join(res.metrics)})")
    t = res.table.loc[res.table["metric"] == metric]
    unit = res.info.get("units", {}).get(metric, "")
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 1.0 + 0.5 * len(t)))
    else:
        fig = ax.figure
    y = np.arange(len(t))
    if res.method == "sobol":
        t = t.sort_values("ST")
        ax.barh(y + 0.2, t["ST"], height=0.4, xerr=t["ST_conf"], label="total order ST",
                color="#c0504d", capsize=3)
        ax.barh(y - 0.2, t["S1"], height=0.4, xerr=t["S1_conf"], label="first order S1",
                color="#4f81bd", capsize=3)
        ax.set_xlabel("Sobol index (share of the output variance, 0–1)")
        ax.legend(loc="lower right")
        title = f"Sobol indices: {metric} ({unit})"
    else:
        t = t.sort_values("mu_star")
        scale, shown = (1e8, "亿元 = 100 million yuan") if unit == "yuan" else (1.0, unit)
        ax.barh(y, t["mu_star"] / scale, xerr=t["mu_star_conf"] / scale, color="#4f81bd",
                capsize=3)
        ax.set_xlabel(f"Morris μ* ({shown} per full parameter range)")
        title = f"Morris screening: {metric}"
    ax.set_yticks(y)
    ax.set_yticklabels(t["parameter"])
    ax.set_ylabel("design parameter")
    ax.set_title(title)
    src = source or (f"Source: perfsim {res.method} analysis, scenario "
                     f"{res.info.get('scenario', '?')}, n = {res.n}, {res.evaluations:,} "
                     f"evaluations, seed {res.seed}")
    fig.text(0.01, 0.01, src, fontsize=7, color="0.35", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def check_designs(table: Any, *, source: str, figsize: tuple[float, float] = (8, 5)) -> Any:
    """The check designs of :func:`perfsim.run.checks.optimise_checks`: inflation payoff
    (yuan per point) against wrong cuts (万元), one colour per selection, marker size
    by cost; the Pareto-optimal designs ringed, the view framed on them. A design under
    which no unit inflates (payoff per inflated point undefined) is drawn at payoff 0."""
    fig, ax = _new(figsize)
    table = table.assign(inflation_payoff=table["inflation_payoff"].fillna(0.0))
    sel = "simulation.spot_check.selection"
    cost = "evaluation_cost_recheck"
    for k, (name, sub) in enumerate(table.groupby(sel, sort=False)):
        size = 20 + 180 * sub[cost] / max(float(table[cost].max()), 1.0)
        ax.scatter(sub["wrong_cuts"] / 1e4, sub["inflation_payoff"], s=size, alpha=0.6,
                   label=text(str(name)), color=f"C{k}")
    front = table[table["pareto"]]
    ax.scatter(front["wrong_cuts"] / 1e4, front["inflation_payoff"], s=160,
               facecolors="none", edgecolors="black", linewidths=1.2,
               label=text("Pareto front 帕累托前沿"))
    # the view: the front and its neighbourhood (designs far worse on both axes are cut off)
    fx, fy = front["wrong_cuts"] / 1e4, front["inflation_payoff"]
    span_y = max(float(fy.max() - fy.min()), 1.0)
    ax.set_xlim(-0.02 * max(float(fx.max()), 1.0), 1.3 * max(float(fx.max()), 1.0))
    ax.set_ylim(float(fy.min()) - 0.3 * span_y, float(fy.max()) + 0.15 * span_y)
    ax.axhline(0.0, color="0.5", linewidth=0.8, linestyle="--")
    ax.legend(title=text("抽查方式 selection"), fontsize=8)
    ax.grid(alpha=0.3)
    return _finish(fig, ax, "抽查方案 Check designs: inflation payoff against wrong cuts",
                   "误减资金 wrong cuts (万元, 10,000 yuan)",
                   "虚报收益 inflation payoff (元/分, yuan per point)", source)


def department_page(summary: Any, indicators: Any, grade_codes: Sequence[str],
                    grade_zh: Sequence[str], *, source: str, show: int = 5,
                    figsize: tuple[float, float] = (10, 4.8)) -> Any:
    """One department on one page: its projects by grade (left) and, when the portfolio has
    indicators, its ``show`` strongest and weakest indicators against the portfolio (right,
    percentage points of the leaf's points). ``summary`` is the department's row of
    :func:`perfsim.analyse.departments.department_profiles`, ``indicators`` its rows."""
    import matplotlib.pyplot as plt

    use_cjk_font()
    panels = 2 if len(indicators) else 1
    fig, axes = plt.subplots(1, panels, figsize=figsize if panels == 2 else (6, 4.8),
                             squeeze=False)
    ax = axes[0, 0]
    counts = [int(summary[f"count_{c}"]) for c in grade_codes]
    colours = [NOT_GRADED_COLOUR if c == NOT_EVALUATED[0] else GRADE_COLOURS[k]
               for k, c in enumerate(grade_codes)]
    ax.bar([text(f"{z}\n{c}") for z, c in zip(grade_zh, grade_codes, strict=True)], counts,
           color=colours)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_ylabel(text("项目数 projects"))
    ax.set_title(text(f"等级 grades — 预算 budget {numbers.yuan(summary['budget'], '万元')} 万元, "
                      f"增减 change {numbers.yuan(summary['net'], '万元')} 万元"), fontsize=9)
    if panels == 2:
        ax2 = axes[0, 1]
        d = indicators.sort_values("difference_pp")
        picked = pd.concat([d.head(show), d.tail(show)]).drop_duplicates("code")
        colours = ["#d73027" if v < 0 else "#1a9850" for v in picked["difference_pp"]]
        ax2.barh([text(f"{c} {n}") for c, n in zip(picked["code"], picked["name"],
                                                   strict=True)],
                 picked["difference_pp"], color=colours)
        ax2.axvline(0.0, color="0.3", linewidth=0.8)
        ax2.set_xlabel(text("与全部项目平均之差 vs the portfolio (百分点 percentage points)"))
        ax2.set_title(text("最强与最弱指标 strongest and weakest indicators"), fontsize=9)
        ax2.tick_params(axis="y", labelsize=7)
    fig.suptitle(text(f"部门 department {summary['department']}: "
                      f"{int(summary['projects'])} 个项目 projects"))
    source_line(fig, source)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def rank_acceptability(result: Any, *, top: int = 10, source: str,
                       figsize: tuple[float, float] = (8, 5.5)) -> Any:
    """SMAA-2 rank acceptability (:func:`perfsim.analyse.robust.smaa`) as a heat map: the
    ``top`` projects of the expert ranking (rows) against ranks 1 to ``top`` (columns), each
    cell the share of admissible weights that give the project that rank (fewer when the
    portfolio has fewer projects)."""
    top = min(int(top), len(result.table))
    t = result.table.sort_values("expert_rank", kind="stable").head(top)
    matrix = pd.DataFrame(result.acceptability[t.index.to_numpy(), :top],
                          index=[f"{p} (#{r})" for p, r in zip(t["project_id"],
                                                               t["expert_rank"], strict=True)],
                          columns=[str(k) for k in range(1, top + 1)])
    return heatmap(matrix, title="排名可接受度 SMAA-2 rank acceptability",
                   xlabel="名次 rank", ylabel="项目 (专家排名) project (expert rank)",
                   source=source, colorbar="可接受度 share of weights (0-1)", figsize=figsize)


def rank_intervals(result: Any, *, top: int | None = 30, source: str,
                   figsize: tuple[float, float] | None = None) -> Any:
    """Each project's rank interval under SMAA (:func:`perfsim.analyse.robust.smaa`): a bar
    from its ``rank_low`` to its ``rank_high`` quantile (e.g. 5th–95th percentile over the
    draws) with a dot at the median rank, projects ordered by median rank (the ``top`` best;
    ``None``: all) and the file's own rank marked. Rank 1 (best) at the left."""
    t = result.table.sort_values(["rank_median", "expected_rank", "expert_rank"],
                                 kind="stable")
    if top is not None:
        t = t.head(int(top))
    k = len(t)
    fig, ax = _new(figsize or (8, max(3.0, 0.28 * k + 1.5)))
    y = np.arange(k)[::-1]
    ax.hlines(y, t["rank_low"], t["rank_high"], color="#4575b4", linewidth=3, alpha=0.7,
              label=text(f"排名区间 rank interval ({result.interval[0]:.0%}–"
                         f"{result.interval[1]:.0%})"))
    ax.plot(t["rank_median"], y, "o", color="#08306b", markersize=5,
            label=text("中位排名 median rank"))
    ax.plot(t["expert_rank"], y, "x", color="#d73027", markersize=6,
            label=text("现行权重排名 rank under the file's weights"))
    ax.set_yticks(y)
    ax.set_yticklabels([str(p) for p in t["project_id"]], fontsize=7)
    ax.legend(fontsize=7, loc="upper right")
    what = []
    if getattr(result, "noise", 0):
        what.append(f"value noise ±{result.noise:.0%}")
    if getattr(result, "exclude", 0):
        what.append(f"exclusion {result.exclude:.0%}")
    extra = f" ({', '.join(what)})" if what else ""
    return _finish(fig, ax, f"SMAA 排名区间 rank intervals{extra}",
                   "名次 rank (1 = 最好 best)", "项目 project", source)
