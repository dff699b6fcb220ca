"""``perfsim bench``: the figures it reports are what it measured (never how fast: no timing
is asserted), the performance table is made from its JSON, and bad input is one line."""

import json

import numpy as np
from conftest import one_error_line

from perfsim import bench
from perfsim.bench import bench_table, ratios, rng_bound, spread, time_one_year
from perfsim.cli import main


def test_ratios_pair_the_repeats_and_report_median_and_range():
    a = {"wall": [2.0, 4.0, 9.0], "cpu": [3.0, 3.0, 3.0]}
    b = {"wall": [1.0, 1.0, 3.0], "cpu": [1.0, 2.0, 3.0]}
    r = ratios(a, b, "x")
    # repeat by repeat: 2, 4, 3 (wall) and 3, 1.5, 1 (CPU)
    assert r["x"] == 3.0 and r["x_range"] == [2.0, 4.0]
    assert r["x_cpu"] == 1.5 and r["x_cpu_range"] == [1.0, 3.0]
    assert spread([5.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 5.0}


def test_rng_bound_draws_on_two_threads_and_counts_both_clocks():
    t = rng_bound(100_000, 50_000, chunk=4096)
    assert set(t) == {"wall", "cpu"} and t["wall"] > 0 and t["cpu"] > 0


def test_one_year_reports_wall_and_cpu_ratios_within_their_ranges():
    o = time_one_year(projects=50, indicators=4, replications=40, chunk=16, repeats=3)
    assert o["repeats"] == 3
    for name in ("perfsim_over_bound", "pandas_over_perfsim"):
        for tail in ("", "_cpu"):
            lo, hi = o[f"{name}{tail}_range"]
            assert lo <= o[f"{name}{tail}"] <= hi
    # the median ratio is a ratio of the times the same repeat measured, not of medians
    assert o["perfsim_s"] > 0 and o["bound_cpu_s"] >= 0


def test_table_is_made_from_the_json(tmp_path, capsys):
    full = {"projects": 3468, "indicators": 20, "replications": 1000, "years": 5,
            "space": "measurement", "perfsim_s": 12.5, "perfsim_cpu_s": 20.25,
            "perfsim_main_cpu_s": 11.125, "ns_per_cell": 720.0, "peak_rss_mib": 812.0,
            "rng_bound_s": 6.5, "rng_bound_cpu_s": 11.0, "perfsim_over_rng_bound": 1.92,
            "perfsim_over_rng_bound_range": [1.81, 2.04], "perfsim_over_rng_bound_cpu": 1.84,
            "perfsim_over_rng_bound_cpu_range": [1.79, 1.95]}
    b = {"date": "2026-12-07 13:00 UTC", "machine": "a test machine, 2 cores",
         "full_process_measurement": full,
         "sensitivity": {"parameters": 6, "n": 1024, "evaluations": 8192, "projects": 3468,
                         "seconds": 4.5, "cpu_seconds": 8.75, "peak_rss_mib": 640.0,
                         "salib_share": 0.0123}}
    table = bench_table(b)
    assert "2026-12-07 13:00 UTC" in table and "a test machine, 2 cores" in table
    row = next(ln for ln in table.splitlines() if "measurement space" in ln)
    assert "12.50 s wall, 20.25 s CPU, of which the main thread 11.12 s" in row
    assert "0.72 µs a cell" in row and "≤ 2.0 (CPU)" in row
    assert "1.92 [1.81–2.04] wall, 1.84 [1.79–1.95] CPU" in row
    sobol = next(ln for ln in table.splitlines() if "Sobol" in ln)
    assert "4.5 s wall, 8.8 s CPU" in sobol and "1.2%" in sobol and "8,192" in sobol
    # the command prints the same table
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(b), encoding="utf-8")
    assert main(["bench", "--table", str(path)]) == 0
    assert capsys.readouterr().out == table


def test_table_of_a_missing_or_broken_file_is_one_line(tmp_path, capsys):
    assert main(["bench", "--table", str(tmp_path / "none.json")]) == 2
    line = one_error_line(capsys)
    assert "none.json" in line and "找不到文件" in line
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2", encoding="utf-8")
    assert main(["bench", "--table", str(bad)]) == 2
    line = one_error_line(capsys)
    assert "bad.json" in line and "不是 perfsim bench --json 输出的 JSON" in line
    assert "not the JSON of perfsim bench --json" in line


def test_repeats_must_be_a_whole_number(capsys):
    assert main(["bench", "--app", "--repeats", "0"]) == 2
    assert "--repeats" in one_error_line(capsys)


def test_spread_of_one_value():
    assert spread(np.array([0.5])) == {"median": 0.5, "min": 0.5, "max": 0.5}


def test_the_sobol_timing_is_the_median_of_repeats_each_in_a_process_of_its_own(monkeypatch):
    """Each repeat is one fresh-process run (given here); the record keeps the median and the
    least and greatest of each clock, the largest peaks and SALib's median share."""
    given = iter([
        {"seconds": 5.6, "cpu_seconds": 10.8, "peak_rss_mib": 300.0,
         "workers_peak_rss_mib": 500.0, "salib_share": 0.004, "n": 1024},
        {"seconds": 4.4, "cpu_seconds": 8.7, "peak_rss_mib": 320.0,
         "workers_peak_rss_mib": 480.0, "salib_share": 0.006, "n": 1024},
        {"seconds": 4.7, "cpu_seconds": 9.1, "peak_rss_mib": 310.0,
         "workers_peak_rss_mib": 490.0, "salib_share": 0.005, "n": 1024}])
    calls = []

    def fresh(fn, *args):
        calls.append((fn, args))
        return next(given)

    monkeypatch.setattr(bench, "_fresh", fresh)
    got = bench.time_sensitivities(1024, repeats=3)
    assert [c[0] for c in calls] == [bench.time_sensitivity] * 3
    assert got["repeats"] == 3 and got["n"] == 1024
    assert got["seconds"] == 4.7 and got["seconds_range"] == [4.4, 5.6]
    assert got["cpu_seconds"] == 9.1 and got["cpu_seconds_range"] == [8.7, 10.8]
    assert got["peak_rss_mib"] == 320.0 and got["workers_peak_rss_mib"] == 500.0
    assert got["salib_share"] == 0.005
    line = bench.format_sensitivity_bench({**got, "parameters": 6, "evaluations": 8192,
                                           "projects": 3468, "leaves": 16, "metrics": ["a"],
                                           "cpu_count": 2})
    assert "median of 3" in line and "4.7 s [4.4–5.6] wall" in line


def test_the_two_sides_of_a_comparison_take_turns(monkeypatch):
    assert [bench.turns(k, ("a", "b")) for k in range(4)] == [("a", "b"), ("b", "a"),
                                                             ("a", "b"), ("b", "a")]
    order = []

    def fresh(fn, *args):
        order.append("perfsim")
        return {"seconds": 2.0, "cpu_seconds": 3.0, "main_cpu_seconds": 2.0, "normals": 70,
                "uniforms": 7, "peak_rss_mib": 1.0, "misgrading_year1": 0.1}

    def bound(normals, uniforms):
        order.append(("bound", normals, uniforms))
        return {"wall": 1.0, "cpu": 1.5}

    monkeypatch.setattr(bench, "_fresh", fresh)
    monkeypatch.setattr(bench, "rng_bound", bound)
    got = bench.time_full_processes(10, 4, 1, spaces=("attainment",), repeats=3)["attainment"]
    # perfsim first, then its bound first (as many numbers as perfsim drew), then perfsim
    b = ("bound", 70, 7)
    assert order == ["perfsim", b, b, "perfsim", "perfsim", b]
    assert got["perfsim_over_rng_bound"] == 2.0 and got["perfsim_over_rng_bound_cpu"] == 2.0
