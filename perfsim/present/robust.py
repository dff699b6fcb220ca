"""Robustness results on a console and as figures: the leave-one-out table and the SMAA rank
intervals (:mod:`perfsim.analyse.robust`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scipy import stats

from perfsim import numbers
from perfsim.present import plots

#: Chinese headings of the leave-one-out table (before the English names).
_HEADINGS = {"code": "指标编码 code", "group": "一级指标 group", "name_zh": "指标名称 name",
             "points": "分值 points", "rescaled": "分值去向 rescaled",
             "mean_abs_shift": "平均名次变动 mean |rank shift|",
             "max_shift": "最大名次变动 max |shift|",
             "grade_changed": "等级改变比例 grade changed", "spearman": "Spearman"}


def format_leave_one_out(result: Any, top: int | None = None) -> str:
    """The leave-one-out table (:func:`perfsim.analyse.robust.leave_one_out`) on a console,
    Chinese first, the indicators whose removal moves the ranks most first."""
    t = result.table.sort_values(["mean_abs_shift", "grade_changed"], ascending=False,
                                 kind="stable")
    if top is not None:
        t = t.head(top)
    n = len(result.shifts)
    head = (f"逐一剔除指标 leave one out: {len(result.table):,} indicators removed in turn "
            f"({n:,} projects; the freed points shared over "
            f"{'every leaf left' if result.rescale == 'system' else 'the rest of its group'})")
    shown = t.assign(points=t["points"].map(numbers.decimal),
                     mean_abs_shift=t["mean_abs_shift"].map(numbers.decimal),
                     grade_changed=t["grade_changed"].map(numbers.percent),
                     spearman=t["spearman"].map(numbers.decimal))
    return head + "\n" + shown.rename(columns=_HEADINGS).to_string(index=False)


def write_rank_intervals(result: Any, stem: Path, *, source: str,
                         top: int | None = 30) -> list[Path]:
    """The rank-interval plot (:func:`perfsim.present.plots.rank_intervals`) as ``stem.png``
    and ``stem.svg``; returns the two paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plots.rank_intervals(result, top=top, source=source)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    fig.savefig(paths[0], dpi=120, metadata={"Software": None})
    fig.savefig(paths[1], metadata={"Date": None})
    plt.close(fig)
    return paths


def format_bod_variant(result: Any, top: int = 10) -> str:
    """A benefit-of-the-doubt variant (:func:`perfsim.analyse.robust.bod_variant`) on a
    console: how its ranking compares with the plain BoD's and the file's, and the ``top``
    projects."""
    t = result.table
    names = {"own_shares": "自身得分占比约束 own-share restrictions",
             "undesirable": "非期望指标 undesirable indicators (directional)",
             "order_m": "稳健 order-m robust"}
    rho_bod = float(stats.spearmanr(t["score"], t["bod_score"]).statistic)
    rho_file = float(stats.spearmanr(t["score"], t["expert_score"]).statistic)
    settings = ", ".join(f"{k} {v}" for k, v in result.settings.items() if v is not None)
    head = (f"最有利权重 benefit of the doubt, {names[result.method]}"
            + (f" ({settings})" if settings else "")
            + f": {int((t['score'] >= 1 - 1e-9).sum()):,} of {len(t):,} projects score 1 or "
              f"more; Spearman with the plain BoD {numbers.decimal(rho_bod)}, with the file's "
              f"weights {numbers.decimal(rho_file)}")
    shown = t.sort_values(["rank", "expert_rank"], kind="stable").head(top)
    shown = shown.assign(**{c: shown[c].map(numbers.decimal)
                            for c in ("score", "bod_score", "expert_score")})
    return head + "\n" + numbers.zh_headings(shown).to_string(index=False)
