"""The what-if page (ipywidgets): upload a portfolio, move a rule, see who gets the money.

``panel()`` returns the page as one widget box; display it in JupyterLab, or serve it with
``perfsim app`` (Voilà). Every number on it comes from :mod:`perfsim.app.compute`: this
module only lays out the widgets, turns their values (percent on the sliders) into the
YAML-path values ``compute.update`` takes, and shows the result or the one-line error.
"""

from __future__ import annotations

import base64
import contextlib
import html
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ipywidgets as w

from perfsim import numbers
from perfsim.app import compute
from perfsim.errors import InputError
from perfsim.run.study import Scenario

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_WIDE = {"description_width": "22em"}
_LAYOUT = w.Layout(width="50em")

#: The busy line shows only when the work lasts more than a second (a CSS delay, no timer).
STYLE = (
    "<style>.perfsim-whatif table td, .perfsim-whatif table th {padding: 2px 10px; "
    "text-align: right;} .perfsim-whatif table td:first-child, .perfsim-whatif table "
    "th:first-child {text-align: left;} .perfsim-findings td {text-align: left;} "
    ".perfsim-busy {opacity: 0; animation: perfsim-busy-show 0s linear 1s forwards; "
    "color: #0b5394; font-weight: bold;} @keyframes perfsim-busy-show {to {opacity: 1;}}"
    "</style>")
#: The page's watch: the browser asks the kernel every few seconds (a click on a hidden button,
#: answered by a hidden counter); with no answer while no work is running, the page says that
#: the connection is lost and greys out what it shows.
PING_SECONDS = 3
LOST_SECONDS = 12
LOST = ("连接已断开：页面不再更新，请刷新页面并重新上传。Connection lost: the page no longer "
        "updates; reload it and upload again.")
BUSY = ("<div class='perfsim-busy'>⏳ 正在计算，请稍候 working, please wait …</div>")
INTRO = STYLE + (
    "<h2>预算绩效结果应用 模拟 what-if: budget linkage</h2>"
    "<p>上传项目表（.xlsx 或 .csv：自评表按所选指标体系填写，或已有得分的项目表："
    "project_id, department, budget, score），或财政部格式的绩效自评表（一个、多个工作簿或 .zip："
    "复核发现，并按各表自己的指标重算后模拟，同 perfsim run），"
    "移动滑块，即时查看节约资金、等级分布和各部门的增减。<br>"
    "Upload a portfolio (.xlsx or .csv: a self-evaluation table of the chosen indicator "
    "system, or ready scores with project_id, department, budget, score), or MoF-layout "
    "self-evaluation workbooks (one, many or a .zip: the review's findings, and the what-if "
    "on each table's own leaves recomputed by the rule, as perfsim run runs an imported "
    "folder), move the sliders, and see the savings, the grades and who "
    "loses money at once.</p>")


def _slider(description: str, value: float, low: float, high: float, step: float,
            css: str) -> w.FloatSlider:
    s = w.FloatSlider(value=value, min=low, max=high, step=step, description=description,
                      continuous_update=False, readout_format=".1f", style=_WIDE,
                      layout=_LAYOUT)
    s.add_class(css)
    return s


class WhatIf:
    """The page's widgets and their wiring; ``box`` is what :func:`panel` returns."""

    def __init__(self, scenario_or_path: Scenario | str | os.PathLike[str] | None = None
                 ) -> None:
        self.scenario: Scenario | None = None
        self.view: compute.View | None = None
        self._quiet = False
        self._upload: list[tuple[str, bytes]] | None = None
        self.limits = compute.Limits.from_env()
        self.imported: compute.Imported | None = None
        self.upload = w.FileUpload(accept=".xlsx,.xlsm,.xls,.csv,.zip", multiple=True,
                                   description="上传项目表 upload",
                                   layout=w.Layout(width="14em"))
        self.upload.add_class("perfsim-upload")
        self.system = w.Dropdown(
            options=[("已有得分 scores ready", compute.SCORES_READY),
                     *compute.indicator_systems().items()],
            value=compute.SCORES_READY, description="指标体系 indicator system",
            style=_WIDE, layout=_LAYOUT)
        self.example = w.Button(description="载入示例 load the example",
                                tooltip="Liupanshui 2021, synthetic: 3,468 projects",
                                layout=w.Layout(width="16em"))
        self.status = w.HTML()
        self.status.add_class("perfsim-status")
        self.error = w.HTML()
        self.error.add_class("perfsim-error")
        self.busy = w.HTML()
        self.busy.add_class("perfsim-busy-box")
        self.ping = w.Button(layout=w.Layout(display="none"))
        self.ping.add_class("perfsim-ping")
        self.pong = w.HTML("0", layout=w.Layout(display="none"))
        self.pong.add_class("perfsim-pong")
        self.ping.on_click(self._pinged)
        self.review = w.HTML()
        self.review.add_class("perfsim-review")
        self.prepare_review = w.Button(description="生成复核工作簿 prepare review.xlsx",
                                       layout=w.Layout(width="20em"))
        self.review_download = w.HTML()
        self.review_download.add_class("perfsim-review-download")
        self.review_box = w.VBox([self.review,
                                  w.HBox([self.prepare_review, self.review_download])])
        self.ratio = _slider("中等级压减比例 ratio for 中 (%)", 15.0, 10.0, 20.0, 0.5,
                             "perfsim-ratio")
        self.ratio_box = w.BoundedFloatText(value=15.0, min=10.0, max=20.0, step=0.5,
                                            layout=w.Layout(width="7em"))
        self.ratio_box.add_class("perfsim-ratio-box")
        w.link((self.ratio_box, "value"), (self.ratio, "value"))
        self.cutoffs = [
            _slider("优 最低分 lowest score for 优 excellent", 90.0, 0.0, 100.0, 0.5,
                    "perfsim-cutoff-0"),
            _slider("良 最低分 lowest score for 良 good", 80.0, 0.0, 100.0, 0.5,
                    "perfsim-cutoff-1"),
            _slider("中 最低分 lowest score for 中 fair", 60.0, 0.0, 100.0, 0.5,
                    "perfsim-cutoff-2"),
        ]
        self.quota = _slider("优 比例上限 quota for 优 (%, 100 = none)", 100.0, 0.0, 100.0,
                             1.0, "perfsim-quota")
        self.pool = w.Dropdown(options=[(label, key) for key, label in compute.POOLS.items()],
                               value="treasury", description="节约资金去向 pool",
                               style=_WIDE, layout=_LAYOUT)
        self.share = _slider("抽查比例 spot-check share (%)", 0.0, 0.0, 100.0, 5.0,
                             "perfsim-share")
        self.savings = w.HTML()
        self.savings.add_class("perfsim-savings-box")
        self.moved = w.HTML()
        self.grades = w.HTML()
        self.ledger = w.HTML()
        self.spot = w.HTML()
        self.prepare = w.Button(description="生成工作簿 prepare allocation.xlsx",
                                layout=w.Layout(width="20em"))
        self.download = w.HTML()
        self.download.add_class("perfsim-download")
        self.controls = w.VBox([
            w.HBox([self.ratio, self.ratio_box]), *self.cutoffs, self.quota, self.pool,
            self.share])
        self.results = w.VBox([self.savings, self.moved, self.grades, self.ledger, self.spot,
                               w.HBox([self.prepare, self.download])])
        self.box = w.VBox([
            w.HTML(INTRO), w.HBox([self.upload, self.example]), self.system, self.busy,
            self.status, self.error, self.review_box, self.controls, self.results, self.ping,
            self.pong])
        self.box.add_class("perfsim-whatif")
        self.upload.observe(self._uploaded, names="value")
        self.system.observe(self._system_changed, names="value")
        self.example.on_click(lambda _: self._open(compute.example, "example"))
        self.prepare.on_click(self._prepare)
        self.prepare_review.on_click(self._prepare_review)
        for widget in (self.ratio, *self.cutoffs, self.quota, self.pool, self.share):
            widget.observe(self._changed, names="value")
        self.review_box.layout.display = "none"
        self._show(None)
        if scenario_or_path is not None:
            self._open(lambda: compute.open_scenario(scenario_or_path),
                       compute.safe_name(str(getattr(scenario_or_path, "name",
                                                     scenario_or_path))))

    # --- values ---------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        """The sliders as the YAML-path values :func:`perfsim.app.compute.update` takes."""
        sc = self.scenario
        out: dict[str, Any] = {}
        if sc is None:
            return out
        if not self.ratio.disabled:
            out["linkage.ratio"] = self.ratio.value / 100.0
        for path, slider in zip(compute.cutoff_paths(sc), self.cutoffs, strict=False):
            out[path] = slider.value
        out[compute.quota_path(sc)] = self.quota.value / 100.0
        out["linkage.pool"] = self.pool.value
        out["simulation.spot_check.share"] = self.share.value / 100.0
        return out

    def _set_controls(self, sc: Scenario) -> None:
        """Sliders at the scenario's own values (ranges from its grading and total)."""
        d = compute.defaults(sc)
        self._quiet = True
        try:
            self.ratio.disabled = self.ratio_box.disabled = "linkage.ratio" not in d
            if "linkage.ratio" in d:
                self.ratio.value = d["linkage.ratio"] * 100.0
            paths = compute.cutoff_paths(sc)
            labels = sc.grading.labels
            for k, slider in enumerate(self.cutoffs):
                slider.max = sc.total
                slider.disabled = k >= len(paths)
                if k < len(paths):
                    slider.value = d[paths[k]]
                    slider.description = (f"{labels.zh[k]} 最低分 lowest score for "
                                          f"{labels.zh[k]} {labels.codes[k]}")
            self.quota.value = d[compute.quota_path(sc)] * 100.0
            self.quota.description = (f"{labels.zh[0]} 比例上限 quota for {labels.zh[0]} "
                                      "(%, 100 = none)")
            self.pool.value = d["linkage.pool"]
            self.share.value = d["simulation.spot_check.share"] * 100.0
        finally:
            self._quiet = False

    # --- events ---------------------------------------------------------------------------

    def _pinged(self, _: Any) -> None:
        self.pong.value = str(int(self.pong.value) + 1)

    @contextlib.contextmanager
    def _working(self) -> Iterator[None]:
        """The busy line while the work runs (shown by the page after one second)."""
        self.busy.value = BUSY
        try:
            yield
        finally:
            self.busy.value = ""

    def _uploaded(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files or self._quiet:
            return
        self._upload = [(str(f["name"]), bytes(f["content"])) for f in files]
        self._quiet = True
        try:  # cleared, so that the next upload (even of the same file) is seen
            self.upload.value = ()
        finally:
            self._quiet = False
        self._open_upload()

    def _system_changed(self, change: dict[str, Any]) -> None:
        if self._upload is not None:
            self._open_upload()

    def _open_upload(self) -> None:
        files = self._upload
        system = None if self.system.value == compute.SCORES_READY else self.system.value
        names = [compute.safe_name(n) for n, _ in files]
        shown = names[0] if len(names) == 1 else f"{names[0]} … ({len(names)} files)"
        self._open(lambda: compute.open_upload(files, system, limits=self.limits), shown)

    def _open(self, opener: Callable[[], Any], name: str) -> None:
        """Open what ``opener`` gives (a scenario, or an upload opened); ``name`` is what the
        status line names, also when opening fails."""
        self.status.value = f"<p>正在读取 reading: <b>{_esc(name)}</b></p>"
        with self._working():
            try:
                opened = opener()
            except Exception as err:  # one line on the page, never a traceback
                self.scenario = self.imported = None
                self.review.value = self.review_download.value = ""
                self.review_box.layout.display = "none"
                self.status.value = (f"<p>未能载入 not loaded: <b>{_esc(name)}</b></p>")
                self._show(None, _line(err))
                return
            if isinstance(opened, compute.Opened):
                sc, self.imported, shown = opened.scenario, opened.imported, opened.name
            else:
                sc, self.imported = opened, None
                shown = sc.portfolio.source if sc.source is None else sc.source
            self.scenario = sc
            self._set_controls(sc)
            pf = sc.portfolio
            self.status.value = (
                f"<p>已载入 loaded: <b>{_esc(shown)}"
                f"</b> — {pf.n_projects:,} 项目 projects, "
                f"{pf.table['department'].nunique():,} 部门 departments, "
                f"{numbers.yuan(pf.budget.sum(), '亿元')} 亿元</p>")
            self.review_download.value = ""
            self.review.value = ("" if self.imported is None
                                 else compute.findings_html(self.imported))
            self.review_box.layout.display = None if self.imported is not None else "none"
            self._recompute()
            if self.view is not None:  # as the command line says: how read, cells filled
                self.status.value += compute.notices_html(self.view)

    def _changed(self, change: dict[str, Any]) -> None:
        if not self._quiet and self.scenario is not None:
            with self._working():
                self._recompute()

    def _recompute(self) -> None:
        try:
            view = compute.update(self.scenario, self.values())
        except Exception as err:  # one line on the page, never a traceback
            self._show(None, _line(err))
            return
        self._show(view)

    def _show(self, view: compute.View | None, error: str = "") -> None:
        self.view = view
        self.error.value = (f"<p style='color:#b00020'>{_esc(error)}</p>" if error else "")
        self.download.value = ""
        self.results.layout.display = None if view is not None else "none"
        self.controls.layout.display = None if self.scenario is not None else "none"
        if view is None:
            return
        self.savings.value = view.html["savings"]
        self.moved.value = view.html["moved"]
        self.grades.value = view.html["grades"]
        self.ledger.value = view.html["ledger"]
        self.spot.value = view.html["spot_check"]

    def _prepare(self, _: Any) -> None:
        if self.view is None:
            return
        with self._working():
            data = base64.b64encode(compute.workbook(self.view.result)).decode("ascii")
        name = f"allocation_{Path(str(self.view.scenario.name)).name}.xlsx"
        self.download.value = (f"<a download='{_esc(name)}' href='data:{XLSX_MIME};base64,"
                               f"{data}'>下载 download {_esc(name)}</a>")

    def _prepare_review(self, _: Any) -> None:
        if self.imported is None:
            return
        with self._working():
            data = base64.b64encode(compute.review_workbook(self.imported)).decode("ascii")
        self.review_download.value = (
            f"<a download='review.xlsx' href='data:{XLSX_MIME};base64,{data}'>下载 download "
            "review.xlsx</a>")


def _line(err: Exception) -> str:
    """The line the command line prints for ``err``: bad input, or (a bug) an internal error;
    never the server's temporary folder."""
    if isinstance(err, InputError):
        line = compute.error_line(err)
    else:
        line = f"perfsim: internal error: {err.__class__.__name__}: {err}"
    return re.sub(re.escape(tempfile.gettempdir()) + r"[^\s:'\"]*", "…", line)


def _esc(text: Any) -> str:
    return html.escape(str(text))


def page_script(limits: compute.Limits | None = None) -> str:
    """The page's JavaScript (``perfsim app`` displays it above the panel): files larger than
    the upload limit never leave the browser (the page gets a stand-in naming the file and its
    size, :data:`perfsim.app.compute.TOO_LARGE`, and refuses it in one line), and a lost
    connection is said in a red line over the page."""
    limits = limits or compute.Limits.from_env()
    return (_SCRIPT.replace("@LIMIT@", str(limits.max_upload_bytes))
            .replace("@MARK@", compute.TOO_LARGE.decode("ascii"))
            .replace("@LOST@", json.dumps(LOST)).replace("@PING@", str(PING_SECONDS * 1000))
            .replace("@WAIT@", str(LOST_SECONDS * 1000)))


_SCRIPT = """
(function () {
  if (window.perfsimWatch) { return; }
  window.perfsimWatch = true;
  const LIMIT = @LIMIT@, MARK = "@MARK@";
  function guard(ev) {
    const input = ev.target, files = Array.from(input.files || []);
    const total = files.reduce((s, f) => s + f.size, 0);
    if (total <= LIMIT) { return; }
    const dt = new DataTransfer();
    for (const f of files) { dt.items.add(new File([MARK + f.size], f.name)); }
    input.files = dt.files;
  }
  const click = HTMLInputElement.prototype.click;
  HTMLInputElement.prototype.click = function () {
    if (this.type === "file" && !this.perfsimGuard) {
      this.perfsimGuard = true;
      this.addEventListener("change", guard, true);
    }
    return click.apply(this, arguments);
  };
  let seen = null, since = Date.now();
  function lost(on) {
    let bar = document.querySelector(".perfsim-connection-lost");
    if (on && !bar) {
      bar = document.createElement("div");
      bar.className = "perfsim-connection-lost";
      bar.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:1000;padding:8px;" +
        "background:#b00020;color:white;font-weight:bold";
      bar.textContent = @LOST@;
      document.body.appendChild(bar);
    }
    if (!on && bar) { bar.remove(); }
    document.querySelectorAll(".perfsim-whatif").forEach(
      (el) => { el.style.opacity = on ? "0.4" : ""; });
  }
  setInterval(function () {
    const pong = document.querySelector(".perfsim-pong");
    const ping = document.querySelector(".perfsim-ping");
    if (!pong || !ping) { since = Date.now(); return; }
    const busy = document.querySelector(".perfsim-busy");
    if (pong.textContent !== seen || busy) {
      seen = pong.textContent;
      since = Date.now();
      lost(false);
    } else if (Date.now() - since > @WAIT@) {
      lost(true);
    }
    ping.click();
  }, @PING@);
})();
"""


def panel(scenario_or_path: Scenario | str | os.PathLike[str] | None = None) -> w.VBox:
    """The what-if page as one widget box: a scenario, a scenario file (``.yaml``) or a
    portfolio of ready scores (``.xlsx``/``.csv``) to start from, or None (upload one, or
    load the bundled example). Display it in JupyterLab or serve it with ``perfsim app``."""
    return WhatIf(scenario_or_path).box
