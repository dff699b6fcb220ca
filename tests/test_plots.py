"""Figures (perfsim.present.plots): labels, source line, the CJK font fallback."""

from __future__ import annotations

import types
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from perfsim.errors import InputError  # noqa: E402
from perfsim.kernel.grading import Grading  # noqa: E402
from perfsim.kernel.linkage import linkage_from_dict  # noqa: E402
from perfsim.model.indicators import system_from_dict  # noqa: E402
from perfsim.model.portfolio import portfolio_from_frame  # noqa: E402
from perfsim.model.scenario import Scenario  # noqa: E402
from perfsim.present import plots  # noqa: E402
from perfsim.run.compare import compare_schemes  # noqa: E402


@pytest.fixture(scope="module")
def comparison():
    """Two single-leaf groups (70/30 points), four projects; see test_schemes' hand example:
    expert grades 中 良 优 差, equal grades 中 中 优 中."""
    system = system_from_dict({"code": "hand", "name": "hand", "total": 100, "indicators": [
        {"code": "G1", "name": "g1", "points": 70, "target": 100,
         "rule": {"kind": "proportional"}},
        {"code": "G2", "name": "g2", "points": 30, "target": 100,
         "rule": {"kind": "proportional"}}]})
    pf = portfolio_from_frame(pd.DataFrame({
        "project_id": ["P1", "P2", "P3", "P4"], "department": ["D1", "D1", "D2", "D2"],
        "budget": [1e6, 2e6, 3e6, 4e6], "G1": [100, 100, 90, 40], "G2": [30, 50, 100, 100]}),
        system)
    scenario = Scenario(name="hand", portfolio=pf, grading=Grading(),
                        linkage=linkage_from_dict({"rule": "liupanshui"}), system=system)
    return compare_schemes(scenario, {"expert": {}, "equal": {"groups": "equal"},
                                      "entropy": {"groups": "entropy"}})


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("kind", ["grades", "money", "correlations"])
def test_every_kind_has_title_axis_labels_and_a_source_line(comparison, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the no-CJK-font warning, if this machine has none
        ax = plots.plot_scheme_comparison(comparison, kind=kind)
    assert ax.get_title()
    assert ax.get_xlabel().startswith("weighting scheme")
    assert ax.get_ylabel()
    if kind != "correlations":
        assert "yuan" in ax.get_ylabel() or "projects" in ax.get_ylabel()
    sources = [t.get_text() for t in ax.figure.texts]
    assert any(t.startswith("Source: perfsim compare_schemes, scenario hand, 4 projects")
               for t in sources)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["expert", "equal", "entropy"]
    ax.figure.canvas.draw()  # renders without error


def test_grade_bars_are_the_projects_per_grade(comparison):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig, ax = plt.subplots()
        out = plots.plot_scheme_comparison(comparison, ax=ax)
    assert out is ax
    heights = np.array([p.get_height() for p in ax.patches]).reshape(4, 3)  # grades × schemes
    # expert: one 优, one 良, one 中, one 差; equal: one 优, three 中
    np.testing.assert_array_equal(heights[:, 0], [1, 1, 1, 1])
    np.testing.assert_array_equal(heights[:, 1], [1, 0, 3, 0])
    assert heights.sum(axis=0).tolist() == [4, 4, 4]
    labels = [t.get_text() for t in ax.texts]
    assert labels[0] == "ρ=1.000" and labels[1] == "ρ=0.800"  # Spearman against expert


def test_money_bars_are_the_yuan_moved_in_100_million(comparison):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ax = plots.plot_scheme_comparison(comparison, kind="money")
    lost, gained = ax.patches[:3], ax.patches[3:6]
    # equal against expert: D1 loses 0.3 million, D2 gains 3.4 million (1 亿 = 1e8 yuan)
    assert lost[1].get_height() == pytest.approx(-0.003)
    assert gained[1].get_height() == pytest.approx(0.034)


def test_unknown_kind_is_refused(comparison):
    with pytest.raises(InputError, match="kind"):
        plots.plot_scheme_comparison(comparison, kind="pie")


def test_use_cjk_font_falls_back_with_one_warning(monkeypatch):
    from matplotlib import font_manager

    monkeypatch.setattr(font_manager.fontManager, "ttflist", [])
    monkeypatch.setattr(plots, "_register_packaged_font", lambda: None, raising=False)
    monkeypatch.setattr(plots, "_state", {"checked": False, "font": None, "warned": False})
    with pytest.warns(UserWarning, match="no CJK font"):
        assert plots.use_cjk_font() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second call stays quiet
        assert plots.use_cjk_font() is None


def test_use_cjk_font_picks_the_first_installed(monkeypatch):
    from matplotlib import font_manager

    fake = [types.SimpleNamespace(name=name, fname=f"/fonts/{k}.ttf")
            for k, name in enumerate(["DejaVu Sans", "SimHei", "WenQuanYi Zen Hei"])]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", fake)
    monkeypatch.setattr(plots, "_register_packaged_font", lambda: None, raising=False)
    monkeypatch.setattr(plots, "_state", {"checked": False, "font": None, "warned": False})
    with matplotlib.rc_context():
        assert plots.use_cjk_font() == "WenQuanYi Zen Hei"  # earlier in CJK_FONTS than SimHei
        assert matplotlib.rcParams["font.sans-serif"][0] == "WenQuanYi Zen Hei"
        assert matplotlib.rcParams["axes.unicode_minus"] is False


def test_large_ticks_are_written_in_full_never_with_an_offset():
    data = pd.DataFrame({"line": [0, 500_000, 1_000_000, 2_000_000],
                         "kept": [6.8e6, 7.1e6, 9.7e6, 13.2e6]})
    fig = plots.line_chart(data, "line", "kept", title="t", xlabel="size line (yuan)",
                           ylabel="kept (yuan)", source="s")
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
    assert "1,000,000" in labels
    assert not any("e" in t.lower() for t in labels)
    assert ax.xaxis.get_offset_text().get_text() == ""
    assert ax.yaxis.get_offset_text().get_text() == ""
    plt.close(fig)
    assert [plots.tick_label(v) for v in (0.25, 12, 2500.0, -1e7, 5e-5)] == [
        "0.25", "12", "2,500", "-10,000,000", "0.00005"]
