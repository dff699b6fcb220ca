"""The documentation's performance table is made from the committed JSON of
``perfsim bench --json`` by the function ``perfsim bench --table`` prints with, never typed;
every key it reads is in that JSON; ``perfsim bench --out`` writes it; ``perfsim bench
--recheck`` compares a JSON's ratios with a re-measure (no timing is asserted here: the
comparison is checked on given numbers)."""

from __future__ import annotations

import copy
import html as htmllib
import importlib.util
import json
import re
import shutil
import subprocess
import sys

import pytest
from conftest import one_error_line
from docs_pages import DOCS, ROOT, page

from perfsim import bench
from perfsim.bench import agrees, bench_table, compare_ratios, format_recheck
from perfsim.cli import main
from perfsim.errors import InputError

COMMITTED = DOCS / "reference" / "bench.json"


def _docs_ext():
    spec = importlib.util.spec_from_file_location("perfsim_docs_under_test",
                                                  DOCS / "_ext" / "perfsim_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _committed() -> dict:
    return json.loads(COMMITTED.read_text(encoding="utf-8"))


# --- the committed JSON and the page ------------------------------------------------------------

def test_the_committed_json_carries_every_part_the_table_shows():
    b = _committed()
    # issue 27's keys, written out here rather than read from perfsim
    for key in ("date", "machine", "one_year", "full_process", "full_process_measurement",
                "engines", "sensitivity", "import", "full_process_imported", "app"):
        assert key in b, key
    assert b["written_by"] == "perfsim bench --json"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", b["date"])
    # every key the table reads is there: a complete table is made without a miss
    table = bench_table(b, complete=True)
    assert table.startswith(f"Measured {b['date']} on {b['machine']}")


@pytest.mark.parametrize("path", ["app.update_cpu_s", "sensitivity",
                                  "full_process_measurement.perfsim_over_rng_bound_cpu_range",
                                  "full_process_imported.imported_over_flat_main_cpu",
                                  "machine"])
def test_a_key_the_table_reads_missing_from_the_json_fails_loudly(path):
    b = _committed()
    *parents, last = path.split(".")
    part = b
    for p in parents:
        part = part[p]
    del part[last]
    with pytest.raises(InputError) as err:
        bench_table(b, complete=True)
    assert err.value.field == path
    assert "缺少此项" in str(err.value) and "missing from the JSON" in str(err.value)


def test_without_complete_a_part_left_out_is_not_shown_but_a_part_cut_short_is_an_error():
    b = _committed()
    del b["sensitivity"]
    assert "Sobol" not in bench_table(b)
    del b["one_year"]["bound_s"]
    with pytest.raises(InputError) as err:
        bench_table(b)
    assert err.value.field == "one_year.bound_s"


def test_the_build_writes_the_table_of_the_committed_json_and_the_page_includes_it(tmp_path):
    ext = _docs_ext()
    src = tmp_path / "docs"
    (src / "reference").mkdir(parents=True)
    shutil.copyfile(COMMITTED, src / ext.BENCH_JSON)
    ext.generate(src, ROOT)
    written = (src / ext.GENERATED / "performance_table.md").read_text(encoding="utf-8")
    # the same function perfsim bench --table prints with, on the JSON as json reads it
    assert written == bench_table(json.loads(COMMITTED.read_text(encoding="utf-8")))
    assert src / ext.BENCH_JSON == src / "reference" / "bench.json"
    # the page includes that file, by a path relative to the page
    text = page("reference/performance.md")
    includes = re.findall(r"^```\{include\} (\S+)$", text, flags=re.M)
    targets = [(DOCS / "reference" / inc).resolve() for inc in includes]
    assert (DOCS / ext.GENERATED / "performance_table.md").resolve() in targets


def test_the_build_fails_on_a_json_without_a_key_the_table_reads(tmp_path):
    pytest.importorskip("sphinx")
    ext = _docs_ext()
    src = tmp_path / "docs"
    (src / "reference").mkdir(parents=True)
    b = _committed()
    del b["app"]
    (src / ext.BENCH_JSON).write_text(json.dumps(b), encoding="utf-8")
    with pytest.raises(InputError) as err:
        ext.performance_table(src / ext.BENCH_JSON)
    assert err.value.field == "app" and err.value.source.endswith("bench.json")

    class App:  # what the extension reads of Sphinx's application
        srcdir = str(src)
        statuscode = 0

    app = App()
    ext._on_builder_inited(app)
    assert app.statuscode == 1
    assert not (src / ext.GENERATED / "performance_table.md").exists()


def test_the_page_holds_no_typed_figure():
    text = page("reference/performance.md")
    # a time, a memory or a ratio written as a number: they come from the JSON only
    figures = re.findall(r"\d[\d,.]*\s?(?:s|ms|µs|ns|MiB|GiB)\b|\d\.\d+\s?×|\d×", text)
    assert figures == []
    assert "performance_table.md" in text
    # the Chinese lead first
    first = next(ln for ln in text.splitlines() if ln.strip() and not ln.startswith(("(", "#")))
    assert re.match(r"[\u4e00-\u9fff]", first)


# --- perfsim bench --out ------------------------------------------------------------------------

def _fake_app(monkeypatch):
    """``perfsim bench --app`` measuring nothing: the figures given, the calls counted."""
    calls = []

    def time_app(app_calls, repeats):
        calls.append(repeats)
        return {"update_s": 0.25, "update_cpu_s": 0.5, "update_s_range": [0.2, 0.3],
                "repeats": repeats}

    monkeypatch.setattr("perfsim.cli.bench.time_app", time_app)
    monkeypatch.setattr("perfsim.cli.bench.bench_calls", lambda: {})
    return calls


def test_out_writes_the_json_whole_and_replaces_only_its_own(tmp_path, monkeypatch, capsys):
    calls = _fake_app(monkeypatch)
    out = tmp_path / "bench.json"
    assert main(["bench", "--app", "--quick", "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}\n"
    data = json.loads(out.read_text(encoding="utf-8"))
    assert list(data)[:3] == ["written_by", "date", "machine"]
    assert data["update_s"] == 0.25 and data["repeats"] == 5 and calls == [5]
    # perfsim bench's own file is replaced; nothing is left beside it
    assert main(["bench", "--app", "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["repeats"] == 21
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json"]
    # a file perfsim bench did not write is refused before anything is measured
    other = tmp_path / "other.json"
    other.write_text('{"date": "mine"}\n', encoding="utf-8")
    capsys.readouterr()
    assert main(["bench", "--app", "--out", str(other)]) == 2
    line = one_error_line(capsys)
    assert "other.json" in line and "not written by perfsim" in line
    assert other.read_text(encoding="utf-8") == '{"date": "mine"}\n' and calls == [5, 21]
    # as is a folder that does not exist
    assert main(["bench", "--app", "--out", str(tmp_path / "no" / "bench.json")]) == 2
    assert "文件夹不存在" in one_error_line(capsys) and calls == [5, 21]


def test_json_printed_is_the_json_written(tmp_path, monkeypatch, capsys):
    _fake_app(monkeypatch)
    assert main(["bench", "--app", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["written_by"] == "perfsim bench --json" and printed["update_cpu_s"] == 0.5


@pytest.mark.parametrize("argv, field", [
    (["--table", "a.json", "--out", "b.json"], "--out"),
    (["--recheck", "a.json", "--out", "b.json"], "--out"),
    (["--table", "a.json", "--recheck", "a.json"], "--recheck"),
])
def test_out_table_and_recheck_do_not_mix(argv, field, capsys):
    assert main(["bench", *argv]) == 2
    line = one_error_line(capsys)
    assert f"'{field}'" in line


# --- perfsim bench --recheck --------------------------------------------------------------------

def test_agreement_within_ten_percent_by_hand():
    assert agrees(1.00, 1.09)          # 9% above
    assert not agrees(1.00, 1.12)      # 12% above
    assert agrees(1.00, 1.10)          # the bound itself
    assert agrees(1.00, 0.91) and not agrees(1.00, 0.89)
    assert agrees(2.00, 2.19) and not agrees(2.00, 2.21)   # 10% of 2 is 0.2
    assert agrees(4.00, 3.62) and not agrees(4.00, 3.58)
    assert agrees(1.0, 1.04, tolerance=0.05) and not agrees(1.0, 1.06, tolerance=0.05)


def test_compare_ratios_sets_each_recorded_ratio_against_the_new_one():
    old = {"one_year": {"perfsim_over_bound": 1.0, "perfsim_over_bound_cpu": 2.0,
                        "pandas_over_perfsim": 4.0, "perfsim_s": 9.0},
           "app": {"one_year_over_bound": 3.0}, "date": "then"}
    new = {"one_year": {"perfsim_over_bound": 1.09, "perfsim_over_bound_cpu": 2.5,
                        "perfsim_s": 1.0}, "date": "now"}
    rows = compare_ratios(old, new)
    # only ratios both hold (not times, not the app's, which was not measured again)
    assert [r["ratio"] for r in rows] == ["one_year.perfsim_over_bound",
                                          "one_year.perfsim_over_bound_cpu"]
    assert [r["agrees"] for r in rows] == [True, False]
    assert rows[0]["change"] == pytest.approx(0.09) and rows[1]["change"] == pytest.approx(0.25)
    text = format_recheck(rows)
    assert [r["clock"] for r in rows] == ["wall", "cpu"]
    assert text.splitlines()[-1] == ("1 of 2 ratios differ by more than 10% (wall time: 0 of 1, "
                                     "CPU time: 1 of 1)")
    lines = text.splitlines()
    assert "agrees" in lines[1] and "+9.0%" in lines[1]
    assert "DIFFERS" in lines[2] and "+25.0%" in lines[2]
    assert format_recheck(rows[:1]).splitlines()[-1] == "all 1 ratios agree within 10%"


def _recorded(**one_year) -> dict:
    part = {"projects": 40, "indicators": 4, "replications": 30, "chunk": 10, "repeats": 3,
            "perfsim_over_bound": 1.0, "perfsim_over_bound_cpu": 1.0,
            "pandas_over_perfsim": 3.0, "pandas_over_perfsim_cpu": 3.0}
    part.update(one_year)
    return {"date": "2026-12-01 10:00 UTC", "machine": "the recording machine",
            "one_year": part}


@pytest.mark.parametrize("measured, status", [
    ({"perfsim_over_bound": 1.09, "perfsim_over_bound_cpu": 0.95,
      "pandas_over_perfsim": 3.2, "pandas_over_perfsim_cpu": 2.8}, 0),
    ({"perfsim_over_bound": 1.12, "perfsim_over_bound_cpu": 1.0,
      "pandas_over_perfsim": 3.0, "pandas_over_perfsim_cpu": 3.0}, 1),
])
def test_recheck_measures_again_at_the_recorded_sizes_and_exits_by_agreement(
        tmp_path, monkeypatch, capsys, measured, status):
    seen = []

    def time_one_year(**kwargs):  # the bench's function, its answer given
        seen.append(kwargs)
        return dict(measured)

    monkeypatch.setattr(bench, "time_one_year", time_one_year)
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(_recorded()), encoding="utf-8")
    assert main(["bench", "--recheck", str(path)]) == status
    assert seen == [{"projects": 40, "indicators": 4, "replications": 30, "chunk": 10,
                     "repeats": 3}]
    out = capsys.readouterr().out
    assert "2026-12-01 10:00 UTC on the recording machine" in out
    rows = [ln for ln in out.splitlines() if ln.startswith("one_year.")]
    assert len(rows) == 4
    assert sum("DIFFERS" in ln for ln in rows) == (0 if status == 0 else 1)
    # --repeats replaces the rounds the JSON records
    seen.clear()
    main(["bench", "--recheck", str(path), "--repeats", "7"])
    assert seen[0]["repeats"] == 7


def test_recheck_measures_for_real_and_reports_consistently(tmp_path, capsys):
    """The bench's own functions at a tiny size: whatever the figures, the exit status is 0
    exactly when every ratio printed agrees within 10% of the recorded one."""
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(_recorded()), encoding="utf-8")
    status = main(["bench", "--recheck", str(path), "--json"])
    report = json.loads(capsys.readouterr().out)
    rows = report["ratios"]
    assert [r["ratio"] for r in rows] == [f"one_year.{k}" for k in bench.RATIOS["one_year"]]
    assert [r["old"] for r in rows] == [1.0, 1.0, 3.0, 3.0]
    for r in rows:
        assert r["new"] == report["measured"]["one_year"][r["ratio"].split(".")[1]]
        assert r["agrees"] == (abs(r["new"] - r["old"]) <= 0.1 * r["old"] + 1e-9)
    assert status == (0 if all(r["agrees"] for r in rows) else 1)
    measured = report["measured"]["one_year"]
    assert (measured["projects"], measured["replications"], measured["repeats"]) == (40, 30, 3)


@pytest.mark.parametrize("change, field, words", [
    (lambda b: b["one_year"].pop("chunk"), "one_year.chunk", "缺少此项"),
    (lambda b: b["one_year"].update(repeats="3"), "one_year.repeats", "whole number >= 1"),
    (lambda b: b["one_year"].update(perfsim_over_bound=0), "one_year.perfsim_over_bound",
     "must be a number > 0"),
    (lambda b: b.update(full_process={"perfsim_over_rng_bound": 2.0, "projects": 10,
                                      "replications": 4, "years": 2, "repeats": 1,
                                      "space": "attainment", "engine": "spark"}),
     "full_process.engine", "must be one of"),
    (lambda b: b.pop("one_year"), None, "其中没有可重新测量的比值"),
])
def test_recheck_of_a_bad_json_is_one_line_before_anything_is_timed(
        tmp_path, monkeypatch, capsys, change, field, words):
    monkeypatch.setattr(bench, "time_one_year", lambda **kw: pytest.fail("timed"))
    b = copy.deepcopy(_recorded())
    change(b)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(b), encoding="utf-8")
    assert main(["bench", "--recheck", str(path)]) == 2
    line = one_error_line(capsys)
    assert "broken.json" in line and words in line
    if field:
        assert f"'{field}'" in line


def test_table_of_a_json_cut_short_names_file_and_key(tmp_path, capsys):
    b = _committed()
    del b["full_process"]["rng_bound_s"]
    path = tmp_path / "short.json"
    path.write_text(json.dumps(b), encoding="utf-8")
    assert main(["bench", "--table", str(path)]) == 2
    line = one_error_line(capsys)
    assert "short.json" in line and "'full_process.rng_bound_s'" in line and "缺少此项" in line


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning", "ignore::DeprecationWarning")
def test_the_built_performance_page_shows_the_committed_table(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    pytest.importorskip("pydata_sphinx_theme")
    out = tmp_path / "site"
    # in a process of its own: Sphinx registers its nodes once per process, and a second
    # build in the process that built the site for the other tests warns of it
    done = subprocess.run([sys.executable, "-m", "perfsim.cli", "docs", "build", "--strict",
                           "--out", str(out)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    shown = htmllib.unescape(re.sub(r"<[^>]+>", " ", (out / "reference" / "performance.html")
                                    .read_text(encoding="utf-8")))
    b = _committed()
    assert f"Measured {b['date']} on {b['machine']}" in " ".join(shown.split())
    # every row of the table, cell by cell, as the JSON makes it (spaces aside: inline code
    # is a tag of its own)
    bare = "".join(shown.split())
    rows = bench_table(b).splitlines()[4:]
    parts = ("full_process", "full_process_measurement", "engines", "sensitivity", "import",
             "full_process_imported", "peak_memory", "app")
    assert len(rows) == 3 + len(parts)   # one year (perfsim, pandas, pandas row by row)
    assert all(part in b for part in parts)
    for row in rows:
        for cell in (c.replace("`", "") for c in row.strip("|").split("|")):
            assert "".join(cell.split()) in bare, cell
