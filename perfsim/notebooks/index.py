"""``reports/index.html``: a static page listing every notebook run and sweep in ``reports/``
with its status, parameters and relative links, regenerated after each run and sweep.

Chinese first, English alongside: runs are grouped by notebook, each group headed by the
notebook's title, the question it answers and its audience (from the run's manifest,
:func:`perfsim.notebooks.parameters.notebook_card`); a hand-out (answers hidden) is marked."""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perfsim.io import REPORTS, check_own_file, prepare_reports_dir, to_jsonable, write_own_file
from perfsim.notebooks.parameters import AUDIENCE_LABELS
from perfsim.version import __version__

INDEX = "index.html"
SIGNATURE = "<title>perfsim reports</title>"  # how perfsim knows an index.html is its own


def _load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def scan_reports(reports: str | Path = REPORTS) -> tuple[list[dict], list[dict]]:
    """Runs (folders with ``manifest.json``) and sweeps (``sweep.json``), newest first."""
    reports = Path(reports)
    runs, sweeps = [], []
    if reports.is_dir():
        for d in reports.iterdir():
            if not d.is_dir() or d.name.startswith("."):
                continue
            m = _load(d / "manifest.json")
            if m is not None:
                runs.append({**m, "_dir": d.name})
            s = _load(d / "sweep.json")
            if s is not None:
                sweeps.append({**s, "_dir": d.name})
    runs.sort(key=lambda r: str(r.get("started", "")), reverse=True)
    sweeps.sort(key=lambda r: str(r.get("started", "")), reverse=True)
    return runs, sweeps


_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin-bottom:2em}th,td{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top;font-size:14px}th{background:#f3f3f3}
.ok{color:#176b2c;font-weight:bold}.failed{color:#b00020;font-weight:bold}
.card{margin:0 0 .5em 0;color:#444}.tag{background:#eef;border-radius:3px;padding:0 4px}
code{font-size:12px;white-space:pre-wrap}
"""


def _link(href: str, text: str) -> str:
    return f'<a href="{html.escape(href, quote=True)}">{html.escape(text)}</a>'


def _params(values: Mapping[str, Any] | None) -> str:
    if not values:
        return "<em>默认 defaults</em>"
    return "<code>" + html.escape(", ".join(
        f"{k}={json.dumps(to_jsonable(v), ensure_ascii=False)}" for k, v in values.items()
    )) + "</code>"


def _status(status: str) -> str:
    s = "ok" if status == "ok" else "failed"
    label = {"ok": "成功 ok", "failed": "失败 failed"}.get(str(status), str(status))
    return f'<span class="{s}">{html.escape(label)}</span>'


def _run_links(prefix: str, m: Mapping[str, Any]) -> str:
    links = []
    if m.get("html"):
        links.append(_link(f"{prefix}/{m['html']}", "报告 report"))
    if m.get("executed_notebook"):
        links.append(_link(f"{prefix}/{m['executed_notebook']}", "笔记本 notebook"))
    links.append(_link(f"{prefix}/manifest.json", "清单 manifest"))
    for o in m.get("outputs", []):
        p = str(o.get("path", ""))
        if p.startswith(("tables/", "figures/")) or p.endswith(".xlsx"):
            links.append(_link(f"{prefix}/{p}", p.split("/")[-1]))
    return " · ".join(links)


def _card(m: Mapping[str, Any]) -> str:
    """One line under a notebook's heading: its question and its audience."""
    parts = []
    if m.get("question"):
        parts.append(f"问题 Question: {html.escape(str(m['question']), quote=False)}")
    if m.get("audience"):
        label = AUDIENCE_LABELS.get(str(m["audience"]), str(m["audience"]))
        parts.append(f"读者 Audience: {html.escape(label)}")
    return f'<p class="card">{" · ".join(parts)}</p>\n' if parts else ""


def local_time(stamp: Any, zone: dt.tzinfo | None = None) -> str:
    """A manifest's UTC time stamp (ISO 8601) as the reader's local time with its zone:
    ``2026-12-07 20:15:03 CST`` (``zone``: another zone, for tests); text that is no time
    stamp stays as it is."""
    try:
        t = dt.datetime.fromisoformat(str(stamp))
    except ValueError:
        return "" if stamp is None else str(stamp)
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    t = t.astimezone(zone)
    name = t.tzname() or ""
    offset = t.strftime("%z")
    label = name if name and not name.startswith(("+", "-")) else f"UTC{offset[:3]}:{offset[3:]}"
    return f"{t:%Y-%m-%d %H:%M:%S} {label}"


def render_index(reports: str | Path = REPORTS) -> str:
    """The static HTML index of ``reports`` (relative links only; no server needed)."""
    runs, sweeps = scan_reports(reports)
    groups: dict[str, list[dict]] = {}
    for m in runs:
        groups.setdefault(str(m.get("notebook", "")), []).append(m)
    head = ("<tr><th>运行 run</th><th>状态 status</th><th>开始 started</th>"
            "<th>用时 seconds</th><th>参数 parameters</th><th>文件 files</th></tr>")
    sections = []
    for stem in sorted(groups):
        rows = []
        for m in groups[stem]:
            d = m["_dir"]
            err = (f"<br><code>{html.escape(str(m.get('error')))}</code>"
                   if m.get("error") else "")
            handout = ' <span class="tag">讲义 hand-out</span>' if m.get("answers") is False \
                else ""
            rows.append(
                "<tr>"
                f"<td>{_link(f'{d}/' + str(m.get('html') or 'manifest.json'), d)}{handout}</td>"
                f"<td>{_status(str(m.get('status', '?')))}{err}</td>"
                f"<td>{html.escape(local_time(m.get('started')))}</td>"
                f"<td>{html.escape(str(m.get('duration_s', '')))}</td>"
                f"<td>{_params(m.get('overrides'))}</td>"
                f"<td>{_run_links(d, m)}</td></tr>")
        sections.append(f"<h3>{html.escape(str(groups[stem][0].get('title') or stem))}</h3>\n"
                        f"{_card(groups[stem][0])}<table>{head}{''.join(rows)}</table>\n")
    srows = []
    for s in sweeps:
        d = s["_dir"]
        items = []
        for r in s.get("runs", []):
            prefix = f"{d}/{r['path']}"
            m = _load(Path(reports) / prefix / "manifest.json") or {}
            target = f"{prefix}/{m['html']}" if m.get("html") else f"{prefix}/manifest.json"
            items.append(f"<li>{_link(target, str(r['run_id']))} {_status(r['status'])} "
                         f"{_params(r.get('parameters'))}"
                         + (f" <code>{html.escape(str(r['error']))}</code>"
                            if r.get("error") else "") + "</li>")
        extra = [_link(f"{d}/sweep.csv", "sweep.csv"), _link(f"{d}/sweep.json", "sweep.json")]
        if s.get("comparison_plot"):
            extra.append(_link(f"{d}/{s['comparison_plot']}", "comparison plot"))
        srows.append(
            "<tr>"
            f"<td>{html.escape(d)}</td><td>{html.escape(str(s.get('notebook', '')))}</td>"
            f"<td>{_status(str(s.get('status', '?')))} ({s.get('ok', 0)} ok, "
            f"{s.get('failed', 0)} failed)</td>"
            f"<td>{html.escape(local_time(s.get('started')))}</td>"
            f"<td>{_params(s.get('fixed'))}<br>grid: {_params(s.get('grid'))}</td>"
            f"<td>{' · '.join(extra)}<ul>{''.join(items)}</ul></td></tr>")
    shead = ("<tr><th>扫描 sweep</th><th>笔记本 notebook</th><th>状态 status</th>"
             "<th>开始 started</th><th>参数 parameters</th>"
             "<th>文件与运行 files and runs</th></tr>")
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        "<title>perfsim reports</title>"
        f"<style>{_CSS}</style></head><body>\n"
        "<h1>绩效模拟报告 perfsim reports</h1>\n"
        f"<p>由 perfsim {html.escape(__version__)} 生成，每次运行后自动更新，请勿手工编辑。"
        f"— Generated by perfsim {html.escape(__version__)}; regenerated after each run and "
        "sweep. Do not edit by hand.</p>\n"
        f"<h2>笔记本运行 Notebook runs ({len(runs)})</h2>\n{''.join(sections)}"
        + (f"<h2>参数扫描 Sweeps ({len(sweeps)})</h2>\n<table>{shead}{''.join(srows)}</table>\n"
           if sweeps else "") +
        "</body></html>\n")


def check_index(reports: str | Path = REPORTS, option: str = "--out") -> None:
    """Refuse (before any work) a ``reports`` folder whose ``index.html`` perfsim did not
    write: it is never replaced."""
    check_own_file(Path(reports) / INDEX, SIGNATURE, option)


def write_index(reports: str | Path = REPORTS, option: str = "--out") -> Path:
    """Regenerate ``reports/index.html`` (under a lock, written whole and renamed into place).
    ``reports`` must be a perfsim reports folder (:func:`perfsim.io.prepare_reports_dir`) and
    an existing ``index.html`` perfsim's own."""
    reports = Path(reports)
    prepare_reports_dir(reports, option=option)
    return write_own_file(reports / INDEX, lambda: render_index(reports), SIGNATURE, option)
