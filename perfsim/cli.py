"""The ``perfsim`` command: parse, call the package, print. No logic lives here.

Errors in user input print one line, ``perfsim: error: ...``, and exit with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from perfsim.analyse.departments import department_profiles, most_affected
from perfsim.analyse.diagnose import diagnose, format_diagnosis
from perfsim.analyse.estimate import MODELS as ESTIMATE_MODELS
from perfsim.analyse.estimate import estimate_file
from perfsim.analyse.robust import benefit_of_the_doubt, smaa
from perfsim.app.compute import bench_calls, open_scenario
from perfsim.app.example import scores_workbook
from perfsim.app.server import serve
from perfsim.bench import (
    format_app_bench,
    format_bench,
    format_notebooks_bench,
    format_sensitivity_bench,
    run_bench,
    time_app,
    time_notebooks,
    time_sensitivity,
)
from perfsim.errors import InputError, PerfsimError
from perfsim.forms.read import read_paths
from perfsim.forms.review import tidy, write_csvs
from perfsim.forms.score import score_tables
from perfsim.forms.targets import load_levels
from perfsim.io import (
    atomic_directory,
    check_output_dir,
    claim_output,
    handle_interrupts,
    input_files,
    read_yaml,
    safe_name,
    to_jsonable,
)
from perfsim.model.indicators import load_indicator_system
from perfsim.model.params import apply_changes
from perfsim.model.portfolio import load_portfolio
from perfsim.model.scenario import Scenario, load_scenario
from perfsim.model.validate import describe_file
from perfsim.model.weighting_spec import parse_weighting
from perfsim.model.weights import apply_weighting, weights_frame
from perfsim.notebooks import index as nb_index
from perfsim.notebooks import parameters as nb_parameters
from perfsim.notebooks import runner as notebooks
from perfsim.notebooks import sweep as nb_sweep
from perfsim.present.plots import plot_sensitivity
from perfsim.present.report import (
    estimate_frame,
    format_check_designs,
    format_robust,
    print_monte_carlo,
    print_year,
    write_check_designs,
    write_csv,
    write_department_reports,
    write_monte_carlo,
    write_rank_acceptability,
    write_year,
)
from perfsim.present.review import PAGE, WORKBOOK, write_page, write_workbook
from perfsim.present.template import portfolio_template
from perfsim.run.calibrate import calibrate, format_calibration, parse_targets
from perfsim.run.checks import optimise_checks
from perfsim.run.sensitivity import (
    DEFAULT_METRICS,
    format_sensitivity,
    load_params,
    morris,
    sobol,
)
from perfsim.run.simulate import ENGINES, scenario_settings, simulate
from perfsim.run.year import department_results, run_year
from perfsim.version import __version__

EXIT_INPUT = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return int(exc.code or 0)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_INPUT
    try:
        with handle_interrupts():  # SIGINT and SIGTERM: KeyboardInterrupt, once
            return int(args.func(args) or 0)
    except PerfsimError as err:
        print(f"perfsim: error: {err}", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:
        return 0
    except OSError as err:
        print(f"perfsim: error: {err.filename or ''}: {err.strerror or err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("perfsim: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a bug: one line, the traceback only on request
        if os.environ.get("PERFSIM_DEBUG"):
            raise
        print(f"perfsim: internal error: {err.__class__.__name__}: {err} "
              "(set PERFSIM_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, like every other perfsim error."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_INPUT, f"perfsim: error: {self.prog}: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="perfsim",
        description="Simulate and calibrate budget performance management (预算绩效管理).")
    p.add_argument("--version", action="version", version=f"perfsim {__version__}")
    sub = p.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)

    run = sub.add_parser("run", help="score, grade and link a scenario; write allocations",
                         description="Score, grade and apply the budget-linkage rule to a "
                                     "scenario's portfolio. Writes allocations.csv, ledger.csv, "
                                     "grades.csv and summary.json into --out.")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--out", type=Path, default=None,
                     help="output directory (default: reports/runs/<scenario name>)")
    run.add_argument("--seed", type=_nonneg_int, default=None, help="override the scenario seed")
    run.add_argument("--xlsx", action="store_true",
                     help="also write allocation.xlsx for finance staff (projects, department "
                          "ledger, grade summary; yuan formatted #,##0.00)")
    run.add_argument("--advanced-share", type=float, default=None, metavar="SHARE",
                     help="also write departments.csv: department-overall scores (the "
                          "budget-weighted mean of project scores), their rank and the top "
                          "SHARE named advanced units (e.g. 0.2, Wenzhou's top 20%%); one-year "
                          "run only")
    run.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", dest="set",
                     help="set a parameter by its YAML path for this run, e.g. "
                          "linkage.ratio=0.2 or simulation.spot_check.share=0.3 (repeat; "
                          "values read as YAML)")
    mc = run.add_argument_group(
        "Monte Carlo", "When the scenario has a `simulation:` block, or --years or "
        "--replications is given, run the evaluation process over years and replications "
        "(settings from the scenario's `simulation:` block, overridden here); "
        "writes replications.csv, projects.csv and summary.json (means, 5-95% intervals).")
    mc.add_argument("--years", type=_pos_int, default=None, help="years to simulate")
    mc.add_argument("--replications", type=_pos_int, default=None, help="replications")
    mc.add_argument("--chunk", type=_pos_int, default=None,
                    help="replications per chunk (bounds memory; results do not depend on it)")
    mc.add_argument("--engine", choices=["auto", "numpy", "processes", "dask"], default="auto",
                    help="auto (default): a process pool for large runs on 4+ cores, dask "
                         "with --scheduler, else numpy; numpy: in-process; processes: a "
                         "process pool; dask: dask.distributed (a LocalCluster unless "
                         "--scheduler)")
    mc.add_argument("--workers", type=_pos_int, default=None, help="worker processes")
    mc.add_argument("--scheduler", default=None, metavar="ADDR",
                    help="address of a running Dask scheduler, e.g. tcp://127.0.0.1:8786")
    mc.add_argument("--no-noise", action="store_true",
                    help="every random source off (noise, dispersion, design uncertainty): "
                         "year 1 then equals the one-year run to the yuan")
    run.set_defaults(func=_cmd_run)

    bench = sub.add_parser("bench", help="measure speed (kept out of the test suite)",
                           description="Time one year of scoring + grading + linkage at "
                                       "Liupanshui scale against its tightest numpy bound and "
                                       "pandas (vectorised and row by row), the five-year Monte "
                                       "Carlo of the full evaluation process against its "
                                       "random-number bound, and each engine.")
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.add_argument("--quick", action="store_true", help="a tenth of the replications")
    bench.add_argument("--scaling", action="store_true",
                       help="also time projects {867, 3468, 13872} x replications {250, 1000, "
                            "4000} of the full process (minutes)")
    bench.add_argument("--engines", default="numpy,processes,dask",
                       help="engines for the full-process run, comma-separated "
                            "(numpy, processes, dask)")
    bench.add_argument("--notebooks", action="store_true",
                       help="time the notebook suite (default parameters) and a sweep of 8 "
                            "runs on 1 and 2 workers (--quick: 4 short runs, no suite)")
    bench.set_defaults(func=_cmd_bench)

    cal = sub.add_parser(
        "calibrate", help="solve for the design parameter that meets a target",
        description="Find the value of one design parameter (a linkage ratio, grade cutoffs, "
                    "indicator weights, a simulation setting) that yields a target outcome, "
                    "with scipy.optimize. Deterministic metrics come from one year of the "
                    "scenario's portfolio; Monte Carlo metrics (misgrading, wrong_cuts, ...) or "
                    "--replications give means over replications and their 5-95% band. An "
                    "unreachable target is reported with the closest attainable value and the "
                    "bound that binds.")
    cal.add_argument("scenario", type=Path, help="scenario YAML file")
    cal.add_argument("--solve", required=True, metavar="PARAM",
                     help="parameter path, e.g. linkage.ratio, grading.cutoffs, "
                          "grading.cutoffs.excellent, weights, simulation.spot_check.share")
    cal.add_argument("--target", required=True, action="append", metavar="METRIC=VALUE",
                     help="e.g. cut_total=128000000, share_excellent=0.2 (repeat for "
                          "several grade shares), observed_scores=FILE.csv for weights")
    cal.add_argument("--bounds", nargs=2, default=None, metavar=("LOW", "HIGH"),
                     help="search range (default: the parameter's valid range)")
    cal.add_argument("--replications", type=_pos_int, default=None,
                     help="Monte Carlo replications (selects Monte Carlo mode)")
    cal.add_argument("--year", type=_pos_int, default=1,
                     help="Monte Carlo: the simulated year whose outcome is the target")
    cal.add_argument("--seed", type=_nonneg_int, default=None, help="override the scenario seed")
    cal.add_argument("--json", action="store_true", help="print JSON")
    cal.set_defaults(func=_cmd_calibrate)

    sens = sub.add_parser(
        "sensitivity", help="global sensitivity of outcomes to design parameters (SALib)",
        description="Sobol first- and total-order indices with confidence intervals, or "
                    "Morris screening, of outcome metrics (savings, misgrading, wrong cuts, "
                    "rank stability, Gini) to design parameters sampled within bounds. The "
                    "params file is a YAML list of {name: PATH, bounds: [LOW, HIGH]}.")
    sens.add_argument("scenario", type=Path, help="scenario YAML file")
    sens.add_argument("--params", type=Path, required=True, metavar="FILE",
                      help="YAML list of {name: PATH, bounds: [LOW, HIGH]}")
    sens.add_argument("--method", choices=["sobol", "morris"], default="sobol",
                      help="sobol (default) or morris")
    sens.add_argument("--n", type=_pos_int, default=None,
                      help="Sobol: base samples, a power of 2 (default 256; n × (k + 2) "
                           "evaluations); Morris: trajectories (default 20)")
    sens.add_argument("--metrics", default=None,
                      help="comma-separated outcome metrics (default: savings, misgrading, "
                           "wrong_cuts, rank_stability, gini)")
    sens.add_argument("--replications", type=_pos_int, default=1,
                      help="common-random-number replications per sample (default 1)")
    sens.add_argument("--seed", type=_nonneg_int, default=None, help="override the scenario seed")
    sens.add_argument("--plot", type=Path, default=None, metavar="DIR",
                      help="write one bar chart per metric (PNG) into DIR")
    sens.add_argument("--json", action="store_true", help="print JSON")
    sens.set_defaults(func=_cmd_sensitivity)
    bench.add_argument("--app", action="store_true",
                       help="time only one change on the what-if page (perfsim app) against "
                            "the bare one-year run, at Liupanshui scale")
    bench.add_argument("--sensitivity", action="store_true",
                       help="time only a Sobol analysis (6 parameters, N = 1,024) of "
                            "3,468 projects with 20 measured leaves")

    rep = sub.add_parser(
        "report", help="reports for people: one page per department",
        description="report departments: for each department, its projects' grades, the "
                    "money it gains or loses next year and its strongest and weakest "
                    "indicators against the portfolio; writes departments.xlsx and "
                    "pages/<department>.png into --out.")
    rep.add_argument("kind", choices=["departments"], help="what to report")
    rep.add_argument("scenario", type=Path, help="scenario YAML file")
    rep.add_argument("--departments", default=None, metavar="D1,D2",
                     help="the departments to report (default: the --top losing most)")
    rep.add_argument("--top", type=_pos_int, default=20,
                     help="without --departments, the departments losing most (default 20)")
    _scenario_options(rep, "departments")
    rep.set_defaults(func=_cmd_report)

    oc = sub.add_parser(
        "optimise-checks", help="search spot-check designs for the cheapest that makes "
                                "honesty pay (Pareto front)",
        description="Search check designs (share × selection × penalty for inflation found) "
                    "within a budget of staff-days, each a Monte Carlo with the same random "
                    "draws, for the Pareto front of inflation payoff, wrong cuts and cost. "
                    "Writes designs.csv (every design, `pareto` marks the front) and "
                    "front.png into --out; prints the front.")
    oc.add_argument("scenario", type=Path, help="scenario YAML file (its units must inflate: "
                                                "simulation.self_evaluation.inflation_mean)")
    oc.add_argument("--budget", required=True, metavar="DAYS",
                    help="staff-days available for re-checks")
    oc.add_argument("--days-per-check", default=None, metavar="DAYS",
                    help="staff-days per re-check (default: the scenario's "
                         "simulation.cost.recheck_days, else 2)")
    oc.add_argument("--yuan-per-check", default=None, metavar="YUAN",
                    help="cost of a re-check in yuan (default: the scenario's "
                         "simulation.cost.recheck, else 3,000)")
    oc.add_argument("--shares", type=_pos_int, default=6,
                    help="check shares searched, evenly from 0 to what the budget affords "
                         "(default 6)")
    oc.add_argument("--penalties", default="0,5,10,20",
                    help="penalties for inflation found, points (default 0,5,10,20)")
    oc.add_argument("--replications", type=_pos_int, default=64,
                    help="replications per design (default 64)")
    _scenario_options(oc, "checks")
    oc.set_defaults(func=_cmd_optimise_checks)

    val = sub.add_parser("validate", help="check scenario, indicator-system or portfolio files",
                         description="Check files; prints one line per file and exits non-zero "
                                     "if any is invalid. The kind of file is recognised from "
                                     "its content.")
    val.add_argument("files", type=Path, nargs="+", metavar="FILE")
    val.add_argument("--system", type=Path, default=None,
                     help="indicator system to check portfolios with measurements against")
    val.set_defaults(func=_cmd_validate)

    est = sub.add_parser(
        "estimate", help="what observed data say: grades, inflation or budget changes",
        description="Fit a statsmodels model to a CSV and print the tidy table (term, estimate, "
                    "standard error, 95%% interval, p). grades: ordered logit of `grade` on "
                    "the --scores columns; inflation: mixed model of self_score - "
                    "recheck_score (or a `gap` column) with a random intercept per "
                    "department; budget-change: OLS of next_budget/budget - 1 on score and "
                    "grade (a perfsim run allocations.csv as it is).")
    est.add_argument("model", choices=list(ESTIMATE_MODELS))
    est.add_argument("data", type=Path, help="CSV file")
    est.add_argument("--scores", default="", help="grades: comma-separated score columns")
    est.add_argument("--json", action="store_true", help="print JSON")
    est.set_defaults(func=_cmd_estimate)

    tpl = sub.add_parser(
        "template", help="a portfolio workbook to fill in for an indicator system",
        description="Write an Excel workbook with one column per project field and leaf of "
                    "the indicator system (bilingual notes on every header, drop-down lists "
                    "for graded levels and yes/no flags, an example row scoring full marks); "
                    "perfsim reads it back as a portfolio once filled in.")
    tpl.add_argument("kind", choices=["portfolio", "scores"],
                     help="portfolio: a workbook to fill in for an indicator system; scores: "
                          "a --scenario's portfolio (generated or read) as ready scores "
                          "(project_id, department, budget, score)")
    tpl.add_argument("--scenario", type=Path, default=None,
                     help="scores: the scenario whose portfolio is written")
    tpl.add_argument("--system", type=Path, default=None,
                     help="indicator system (YAML or Excel; default: the national project "
                          "self-evaluation template)")
    tpl.add_argument("--out", type=Path, required=True, help="the new .xlsx file")
    tpl.set_defaults(func=_cmd_template)

    wts = sub.add_parser(
        "weights", help="weights of an indicator system under a weighting method",
        description="Print an indicator system's weights as points under a weighting method, "
                    "at one tier: --level groups (default) splits the total among the level-1 "
                    "groups, the leaves keeping the file's proportions within each group; "
                    "--level leaves splits each group's points among its leaves, the groups "
                    "keeping the file's points. Objective methods (entropy, critic, pca, "
                    "combined) need project measurements from --portfolio or --scenario.")
    wts.add_argument("--method", required=True,
                     help="expert, equal, ahp, entropy, critic, pca or combined")
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
                     help="AHP random index: saaty1980 (default) or alonso_lamata")
    wts.add_argument("--panel", default=None,
                     help="AHP panel: combine the experts' judgements (default) or priorities")
    wts.add_argument("--alpha", type=float, default=None,
                     help="combined: share of the subjective weights, in [0, 1] (default 0.5)")
    wts.add_argument("--objective", default=None,
                     help="combined: entropy (default), critic or pca")
    wts.add_argument("--subjective", default=None,
                     help="combined: expert (default), equal or ahp")
    wts.add_argument("--combine", default=None,
                     help="combined: additive (default) or multiplicative")
    wts.add_argument("--treatment", default=None,
                     help="objective methods: treat the data first: none, winsorise (5%%/95%% "
                          "quantiles), auto (winsorise while |skew| > 2 and kurtosis > 3.5, at "
                          "most 5 points, else log) or log")
    wts.add_argument("--format", choices=["table", "csv"], default="table",
                     help="table (default) or csv: code,weight with weights in points")
    wts.set_defaults(func=_cmd_weights)
    _add_diagnose_command(sub)
    _add_robust_command(sub)
    _add_notebook_commands(sub)
    add_import_parser(sub)
    _add_app_command(sub)
    return p


def _add_app_command(sub: argparse._SubParsersAction) -> None:
    """``perfsim app``: the what-if page served by Voilà (see perfsim.app)."""
    app = sub.add_parser(
        "app", help="the no-code what-if page in a browser (Voilà)",
        description="Serve the what-if page with Voilà on 127.0.0.1 and print its address: "
                    "upload a portfolio (.xlsx or .csv), move the 中 ratio, the cutoffs, the "
                    "优 quota, the pool and the spot-check share, and see the savings, grades, "
                    "who loses most, and download allocation.xlsx. Ctrl-C stops it.")
    app.add_argument("portfolio", type=Path, nargs="?", default=None, metavar="PORTFOLIO",
                     help="open with this portfolio of ready scores (.xlsx/.csv) or scenario "
                          "(.yaml); default: upload one on the page")
    app.add_argument("--port", type=_pos_int, default=None,
                     help="port on 127.0.0.1 (default: a free one)")
    app.add_argument("--no-browser", action="store_true", help="do not open a browser")
    app.set_defaults(func=_cmd_app)


def _cmd_app(args: argparse.Namespace) -> int:
    if args.portfolio is not None:  # a bad file: one line now, not a broken page later
        open_scenario(args.portfolio)
    return serve(args.portfolio, args.port, browser=not args.no_browser,
                 announce=lambda line: print(line, flush=True))


def _scenario_options(parser: argparse.ArgumentParser, suffix: str) -> None:
    """``--seed``, ``--out`` (default ``reports/runs/<scenario>-<suffix>``) and ``--set`` of a
    command that reads one scenario and writes one folder."""
    parser.add_argument("--seed", type=_nonneg_int, default=None,
                        help="override the scenario seed")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"output directory (default: reports/runs/<scenario>-{suffix})")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                        dest="set", help="set a parameter by its YAML path first, e.g. "
                                         "simulation.self_evaluation.inflation_mean=0.03 "
                                         "(repeat)")


def _add_diagnose_command(sub: argparse._SubParsersAction) -> None:
    dia = sub.add_parser(
        "diagnose", help="redundancy diagnostics of an indicator system on a portfolio",
        description="Correlations within and between level-1 groups (flagging redundant and "
                    "contrary pairs), Cronbach's alpha and PCA per group, and each leaf's "
                    "effective weight (its correlation with the total against its points). "
                    "Give SYSTEM PORTFOLIO, or one SCENARIO.")
    dia.add_argument("files", type=Path, nargs="+", metavar="FILE",
                     help="SYSTEM PORTFOLIO (indicator system and a portfolio with "
                          "measurements), or a SCENARIO")
    dia.add_argument("--data", choices=["attainment", "raw"], default="attainment",
                     help="attainment (default: share of each leaf's points earned) or raw "
                          "(measurements oriented higher = better)")
    dia.add_argument("--method", choices=["pearson", "spearman"], default="pearson")
    dia.add_argument("--redundant", type=float, default=0.9,
                     help="flag pairs with |r| above this (default 0.9)")
    dia.add_argument("--contrary", type=float, default=-0.4,
                     help="flag pairs with r below this (default -0.4)")
    dia.add_argument("--out", type=Path, default=None,
                     help="also write indicators.csv, groups.csv, pca.csv, correlations.csv "
                          "and group_correlations.csv here")
    dia.add_argument("--json", action="store_true", help="print JSON")
    dia.set_defaults(func=_cmd_diagnose)


def _system_and_portfolio(files: Sequence[Path], out: Path | None, *extra: Path | None
                         ) -> tuple[Any, Any, Scenario | None, list[Path]]:
    """``SYSTEM PORTFOLIO`` or one ``SCENARIO`` on the command line: the indicator system, the
    portfolio, the scenario (or None) and the input files (``--out`` checked against them)."""
    if len(files) > 2:
        raise InputError(field="FILE", value=len(files),
                         problem="give SYSTEM PORTFOLIO or one SCENARIO")
    inputs = input_files([*files, *(e for e in extra if e is not None)])
    if out is not None:
        check_output_dir(out, inputs=inputs)
    if len(files) == 1:
        scenario = load_scenario(files[0])
        if scenario.system is None:
            raise InputError(files[0], field="indicator_system",
                             problem="the scenario has no indicator system")
        return scenario.system, scenario.portfolio, scenario, inputs
    system = load_indicator_system(files[0])
    return system, load_portfolio(files[1], system), None, inputs


def _cmd_diagnose(args: argparse.Namespace) -> int:
    system, portfolio, _, inputs = _system_and_portfolio(args.files, args.out)
    try:
        result = diagnose(system, portfolio, data=args.data, method=args.method,
                          redundant=args.redundant, contrary=args.contrary)
    except InputError as err:
        raise err.at(field={"redundant": "--redundant", "contrary": "--contrary"}.get(
            err.field or "", err.field)) from None
    if args.out is not None:
        with atomic_directory(args.out, kind="diagnose", inputs=inputs) as tmp:
            for name, table in result.tables().items():
                write_csv(table, tmp / f"{name}.csv")
    if args.json:
        print(json.dumps(to_jsonable(result.as_dict()), indent=2, ensure_ascii=False))
    else:
        print(format_diagnosis(result))
        if args.out is not None:
            print(f"\n已写入 wrote {args.out}/ (indicators, groups, pca, correlations, "
                  "group_correlations .csv)")
    return 0


def _add_robust_command(sub: argparse._SubParsersAction) -> None:
    rob = sub.add_parser(
        "robust", help="rankings under other admissible weights: benefit of the doubt or SMAA",
        description="bod: each project's score under its most favourable admissible weights "
                    "(benefit of the doubt; 1 = best under some weights). smaa: SMAA-2 rank "
                    "acceptability under weights drawn uniformly from the admissible ones. "
                    "Admissible weights are shares of the total weight, within the optional "
                    "--bounds. Give SCENARIO, or SYSTEM PORTFOLIO (with measurements).")
    rob.add_argument("method", choices=["bod", "smaa"], help="bod or smaa")
    rob.add_argument("files", type=Path, nargs="+", metavar="FILE",
                     help="SCENARIO, or SYSTEM PORTFOLIO")
    rob.add_argument("--bounds", type=Path, default=None,
                     help="YAML file with a bounds: block (each leaf's and level-1 group's "
                          "share of the total weight)")
    rob.add_argument("--draws", type=int, default=10_000, help="smaa: weight draws "
                                                                "(default 10000)")
    rob.add_argument("--top", type=int, default=10,
                     help="projects listed (and, smaa, the ranks counted as the top; "
                          "default 10)")
    rob.add_argument("--seed", type=int, default=None,
                     help="smaa: seed of the draws (default: the scenario's, else 0)")
    rob.add_argument("--out", type=Path, default=None,
                     help="also write the tables as CSV here (smaa: and the heat map)")
    rob.add_argument("--json", action="store_true", help="print JSON")
    rob.set_defaults(func=_cmd_robust)


def _cmd_robust(args: argparse.Namespace) -> int:
    system, portfolio, scenario, inputs = _system_and_portfolio(args.files, args.out,
                                                                args.bounds)
    if isinstance(args.top, bool) or args.top < 1:
        raise InputError(field="--top", value=args.top, problem="must be a whole number >= 1")
    bounds = None
    if args.bounds is not None:
        doc = read_yaml(args.bounds)
        if not isinstance(doc, dict) or "bounds" not in doc:
            raise InputError(args.bounds, field="bounds",
                             problem="needs a bounds: block (leaves and/or groups)")
        bounds = doc["bounds"]
    src = str(args.bounds) if args.bounds is not None else None
    if args.method == "bod":
        result = benefit_of_the_doubt(system, portfolio, bounds, source=src)
        tables = {"bod": result.table, "bod_weights": result.weights}
    else:
        if args.draws < 1:
            raise InputError(field="--draws", value=args.draws,
                             problem="must be a whole number >= 1")
        seed = args.seed if args.seed is not None else (
            scenario.seed if scenario is not None else 0)
        result = smaa(system, portfolio, draws=args.draws, seed=seed, bounds=bounds,
                      top=args.top, source=src)
        tables = {"smaa": result.table, "smaa_departments": result.departments,
                  "smaa_central_weights": result.central_weights}
    if args.out is not None:
        with atomic_directory(args.out, kind=f"robust-{args.method}", inputs=inputs) as tmp:
            for name, table in tables.items():
                write_csv(table, tmp / f"{name}.csv")
            if args.method == "smaa":
                write_rank_acceptability(result, tmp / "rank_acceptability.png",
                                         top=args.top, source=_robust_source(args, result))
    if args.json:
        print(json.dumps(to_jsonable({k: t.to_dict(orient="records")
                                      for k, t in tables.items()}), indent=2,
                         ensure_ascii=False))
    else:
        print(format_robust(result, args.top))
        if args.out is not None:
            print(f"\n已写入 wrote {args.out}/ ({', '.join(tables)} .csv"
                  + (", rank_acceptability.png)" if args.method == "smaa" else ")"))
    return 0


def _robust_source(args: argparse.Namespace, result: Any) -> str:
    """The source line of a robustness figure: the command's inputs and draws."""
    names = " ".join(p.name for p in args.files)
    return (f"perfsim robust {args.method} {names}"
            + (f", bounds {args.bounds.name}" if args.bounds is not None else "")
            + f"; {result.draws:,} draws, seed {result.seed}")


def _add_notebook_commands(sub: argparse._SubParsersAction) -> None:
    """``perfsim notebooks run|list|index`` and ``perfsim sweep`` (see perfsim.notebooks)."""
    nb = sub.add_parser("notebooks", help="run the parameterised notebooks with papermill",
                        description="Run the numbered notebooks in notebooks/ with papermill "
                                    "into reports/<run-id>/ (executed notebook, HTML, figures, "
                                    "tables, manifest.json) and regenerate reports/index.html.")
    nbs = nb.add_subparsers(title="actions", metavar="ACTION", parser_class=_Parser)
    nrun = nbs.add_parser("run", help="run notebooks (default: all, in order)")
    nrun.add_argument("names", nargs="*", metavar="NAME",
                      help="notebook number or name, e.g. 04 or 04_reduction_ratio")
    nrun.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                      metavar=("KEY", "VALUE"), dest="parameters",
                      help="set a parameter (converted to the type of its default); repeat")
    nrun.add_argument("--params", type=Path, default=None, metavar="FILE",
                      help="YAML or JSON file of parameters (-p wins)")
    nrun.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                      help="reports directory (default: reports)")
    nrun.add_argument("--run-id", default=None,
                      help="run id (letters, digits, _ - .); with several notebooks a prefix")
    shown = nrun.add_mutually_exclusive_group()
    shown.add_argument("--no-code", action="store_true", help="hide code in the HTML report")
    shown.add_argument("--code", action="store_true",
                       help="show code in the HTML report (the notebooks of finance staff and "
                            "trainers hide it by default)")
    nrun.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                      help="limit on each cell's execution time")
    nrun.set_defaults(func=_cmd_notebooks_run)
    nlist = nbs.add_parser("list", help="list notebooks and their parameters")
    nlist.set_defaults(func=_cmd_notebooks_list)
    nidx = nbs.add_parser("index", help="regenerate reports/index.html")
    nidx.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR")
    nidx.set_defaults(func=_cmd_notebooks_index)
    nb.set_defaults(func=lambda args: (nb.print_help(), EXIT_INPUT)[1])

    sw = sub.add_parser("sweep", help="run a notebook over a grid of parameters in parallel",
                        description="Expand GRID.yaml (notebook: NAME, parameters: {...}, grid: "
                                    "{key: [values...]}) into notebook runs executed in "
                                    "parallel; writes reports/<sweep-id>/ with every run, "
                                    "sweep.csv (all results tables) and comparison.png. Exits "
                                    "non-zero naming the failed runs; the others complete.")
    sw.add_argument("grid", type=Path, metavar="GRID.yaml")
    sw.add_argument("--workers", type=_pos_int, default=None,
                    help="parallel runs (default: min(2, CPUs))")
    sw.add_argument("--engine", choices=["processes", "dask"], default="processes",
                    help="processes: a process pool (default); dask: a dask LocalCluster")
    sw.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR")
    sw.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                    help="limit on each cell's execution time")
    sw.set_defaults(func=_cmd_sweep)


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _pos_int(text: str) -> int:
    value = _nonneg_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _cmd_run(args: argparse.Namespace) -> int:
    inputs = input_files([args.scenario])  # the scenario and the files it names
    if args.out is not None:  # before any work: a file in the way, the current directory, ...
        check_output_dir(args.out, inputs=inputs)
    scenario = set_parameters(load_scenario(args.scenario, seed=args.seed), args.set)
    out = args.out or Path("reports") / "runs" / safe_name(scenario.name, scenario.source)
    monte_carlo = (args.years is not None or args.replications is not None or args.no_noise
                   or scenario.has_simulation)
    if not monte_carlo:
        if args.engine not in ("auto", "numpy") or args.scheduler or args.chunk or args.workers:
            raise InputError(field="--engine", value=args.engine,
                             problem="engine options need --years, --replications or a "
                                     "`simulation:` block in the scenario")
        with claim_output(out, inputs=inputs):  # held until the result is in place
            result = run_year(scenario)
            deps = (None if args.advanced_share is None else
                    department_results(result, args.advanced_share))
            write_year(result, out, xlsx=args.xlsx)
            if deps is not None:   # in perfsim's own, just written directory
                write_csv(deps, Path(out) / "departments.csv", "%.6f")
        print_year(result, out)
        if args.xlsx:
            print(f"已写入 wrote {Path(out)}/allocation.xlsx")
        return 0
    if args.advanced_share is not None:
        raise InputError(field="--advanced-share", value=args.advanced_share,
                         problem="departments.csv is written for a one-year run (without "
                                 "--years or --replications)")
    if args.xlsx:
        raise InputError(field="--xlsx", problem="the workbook is written for a one-year run "
                                                 "(without --years or --replications)")

    if args.scheduler and args.engine not in ("dask", "auto"):
        raise InputError(field="--scheduler", value=args.scheduler,
                         problem="needs --engine dask")
    settings = scenario_settings(scenario, years=args.years, replications=args.replications,
                                 chunk=args.chunk)
    with claim_output(out, inputs=inputs):
        mc = simulate(scenario, settings, engine=args.engine, workers=args.workers,
                      scheduler=args.scheduler, noise=not args.no_noise)
        write_monte_carlo(mc, out)
    print_monte_carlo(mc, out)
    return 0


def set_parameters(scenario: Scenario, items: Sequence[str]) -> Scenario:
    """The scenario with ``--set PATH=VALUE`` items applied by their YAML paths
    (:func:`perfsim.model.params.apply_changes`); a bad item is one :class:`InputError`
    naming it."""
    changes: dict[str, object] = {}
    for item in items:
        path, sep, text = item.partition("=")
        path = path.strip()
        if not sep or not path:
            raise InputError(field="--set", value=item,
                             problem="must be PATH=VALUE, e.g. linkage.ratio=0.2")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise InputError(field="--set", value=item, problem="the value is not valid YAML"
                             ) from None
        changes[path] = value
    if not changes:
        return scenario
    try:
        return apply_changes(scenario, changes)
    except InputError as err:
        where = "--set" + (f": {err.where}" if err.where else "")
        if err.has_value:
            raise InputError(err.source, where, err.field, err.value, err.problem) from None
        raise InputError(err.source, where, err.field, problem=err.problem) from None
    except (TypeError, ValueError) as err:
        raise InputError(field="--set", value=", ".join(items),
                         problem=f"bad value ({err})") from None


def _cmd_bench(args: argparse.Namespace) -> int:
    if getattr(args, "notebooks", False):
        timing = time_notebooks(quick=args.quick)
        print(json.dumps(timing, indent=2) if args.json else format_notebooks_bench(timing))
        return 0
    if getattr(args, "sensitivity", False):
        timing = time_sensitivity(n=128 if args.quick else 1024)
        print(json.dumps(timing, indent=2) if args.json else format_sensitivity_bench(timing))
        return 0
    if getattr(args, "app", False):
        timing = time_app(bench_calls(), repeats=5 if args.quick else 21)
        print(json.dumps(timing, indent=2) if args.json else format_app_bench(timing))
        return 0
    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    for e in engines:
        if e not in ENGINES:
            raise InputError(field="--engines", value=e,
                             problem=f"unknown engine (known: {', '.join(ENGINES)})")
    result = run_bench(quick=args.quick, engines=engines, scaling=args.scaling)
    result["app"] = time_app(bench_calls(), repeats=5 if args.quick else 21)
    print(json.dumps(result, indent=2) if args.json else format_bench(result))
    return 0


def _cli_error(err: InputError, **names: str) -> InputError:
    """Name the command-line option instead of the API argument."""
    names = {"parameter": "--solve", "metric": "--target", "target": "--target",
             "bounds": "--bounds", "year": "--year", "replications": "--replications",
             "n": "--n", **names}
    return err.at(field=names.get(err.field or "", err.field))


def _cmd_calibrate(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario, seed=args.seed)
    bounds = None
    if args.bounds is not None:
        try:
            bounds = [float(b) for b in args.bounds]
        except ValueError:
            raise InputError(field="--bounds", value=" ".join(args.bounds),
                             problem="must be two numbers, LOW HIGH") from None
    try:
        result = calibrate(scenario, args.solve, parse_targets(args.target), bounds=bounds,
                           replications=args.replications, year=args.year)
    except InputError as err:
        raise _cli_error(err) from None
    print(json.dumps(to_jsonable(result.as_dict()), indent=2, ensure_ascii=False)
          if args.json else format_calibration(result))
    return 0


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    inputs = input_files([args.scenario, args.params])
    if args.plot is not None:  # before any work
        check_output_dir(args.plot, inputs=inputs, option="--plot")
    scenario = load_scenario(args.scenario, seed=args.seed)
    specs = load_params(args.params, scenario)
    metrics = (tuple(m.strip() for m in args.metrics.split(",") if m.strip())
               if args.metrics else DEFAULT_METRICS)
    run = sobol if args.method == "sobol" else morris
    n = args.n or (256 if args.method == "sobol" else 20)
    claim = contextlib.nullcontext() if args.plot is None else claim_output(
        args.plot, inputs=inputs, option="--plot")
    with claim:
        try:
            result = run(scenario, specs, n, metrics=metrics, replications=args.replications)
        except InputError as err:
            raise _cli_error(err, metric="--metrics") from None
        if args.plot is not None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            with atomic_directory(args.plot, kind="plots", option="--plot") as tmp:
                for m in result.metrics:
                    fig = plot_sensitivity(result, m)
                    fig.savefig(tmp / f"{args.method}_{m}.png", dpi=150)
                    plt.close(fig)
    print(json.dumps(to_jsonable(result.as_dict()), indent=2, ensure_ascii=False)
          if args.json else format_sensitivity(result))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    scenario = set_parameters(load_scenario(args.scenario, seed=args.seed), args.set)
    out = args.out or Path("reports") / "runs" / (
        safe_name(scenario.name, scenario.source) + "-departments")
    check_output_dir(out, inputs=input_files([args.scenario]))
    year = run_year(scenario)
    chosen = ([d.strip() for d in args.departments.split(",") if d.strip()]
              if args.departments else most_affected(year, args.top))
    try:
        profiles = department_profiles(scenario, year, chosen)
    except InputError as err:
        raise err.at(field="--departments") from None
    write_department_reports(profiles, year, out, source=f"perfsim report departments "
                                                         f"{args.scenario.name}, seed "
                                                         f"{scenario.seed}")
    print(f"部门报告 department reports: {len(chosen)} 个部门 departments")
    print(f"已写入 wrote {out}/departments.xlsx, pages/*.png")
    return 0


def _cmd_optimise_checks(args: argparse.Namespace) -> int:
    try:
        penalties = [float(p) for p in args.penalties.split(",") if p.strip()]
    except ValueError:
        raise InputError(field="--penalties", value=args.penalties,
                         problem="must be comma-separated numbers of points") from None
    scenario = set_parameters(load_scenario(args.scenario, seed=args.seed), args.set)
    out = args.out or Path("reports") / "runs" / (
        safe_name(scenario.name, scenario.source) + "-checks")
    inputs = input_files([args.scenario])
    check_output_dir(out, inputs=inputs)
    try:
        result = optimise_checks(scenario, args.budget,
                                 staff_days_per_check=args.days_per_check,
                                 yuan_per_check=args.yuan_per_check, shares=args.shares,
                                 penalties=penalties, replications=args.replications)
    except InputError as err:
        names = {"budget": "--budget", "staff_days_per_check": "--days-per-check",
                 "yuan_per_check": "--yuan-per-check", "penalties": "--penalties"}
        raise err.at(field=names.get(err.field or "", err.field)) from None
    write_check_designs(result, out, source=f"perfsim optimise-checks {args.scenario.name}, "
                                            f"seed {scenario.seed}")
    print(format_check_designs(result))
    print(f"已写入 wrote {out}/designs.csv, front.png")
    return 0


def _cmd_estimate(args: argparse.Namespace) -> int:
    scores = [s.strip() for s in args.scores.split(",") if s.strip()]
    fit = estimate_file(args.model, args.data, scores=scores)
    if args.json:
        print(json.dumps(to_jsonable({"model": args.model, "data": str(args.data),
                                      "table": fit.table.to_dict(orient="records")}),
                         ensure_ascii=False, indent=2))
    else:
        print(f"{args.model}: {args.data}")
        print(estimate_frame(fit.table).to_string(index=False))
    return 0


def _cmd_template(args: argparse.Namespace) -> int:
    if args.kind == "scores":
        if args.scenario is None or args.system is not None:
            raise InputError(field="--scenario", problem="template scores needs --scenario "
                                                         "(and no --system)")
        print(f"wrote {scores_workbook(load_scenario(args.scenario), args.out)}")
        return 0
    if args.scenario is not None:
        raise InputError(field="--scenario", problem="only template scores takes --scenario")
    system = load_indicator_system(args.system or DEFAULT_SYSTEM)
    print(f"wrote {portfolio_template(system, args.out)}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    system = None
    if args.system is not None:
        system = load_indicator_system(args.system)
    failed = 0
    for path in args.files:
        try:
            print(f"ok: {describe_file(path, system)}")
        except InputError as err:
            failed += 1
            print(f"perfsim: error: {err}", file=sys.stderr)
    return EXIT_INPUT if failed else 0


DEFAULT_SYSTEM = (Path(__file__).resolve().parent.parent / "datasets" / "indicator_systems"
                  / "national_project_self_eval.yaml")


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
    spec = parse_weighting({args.level: tier}, base=Path.cwd())
    if spec.uses_data and portfolio is None:
        raise InputError(field="--method", value=args.method,
                         problem="needs project measurements: give --portfolio FILE or "
                                 "--scenario FILE")
    table = weights_frame(apply_weighting(system, spec, portfolio), args.level)
    if args.format == "csv":
        out = table[["code", "points"]].rename(columns={"points": "weight"})
        sys.stdout.write(out.to_csv(index=False, lineterminator="\n"))
        return 0
    other = "leaves keep the file's proportions" if args.level == "groups" else (
        "groups keep the file's points")
    method = getattr(spec, args.level).describe()
    print(f"{system.code}: {method} weights at the {args.level} tier ({other})")
    width = max(len("total"), *(len(c) for c in table["code"]))
    print(f"{'code':<{width}}  {'weight':>8}  {'share':>6}  name")
    for row in table.itertuples(index=False):
        print(f"{row.code:<{width}}  {row.points:8.2f}  {row.share:6.1%}  "
              f"{row.name_zh} / {row.name_en}")
    print(f"{'total':<{width}}  {table['points'].sum():8.2f}  {table['share'].sum():6.1%}  "
          f"(weight in points)")
    return 0


def _cmd_notebooks_run(args: argparse.Namespace) -> int:
    texts: dict[str, str] = {}
    for key, value in args.parameters:
        texts[key] = value
    given = nb_parameters.read_parameter_file(args.params) if args.params else None

    def show(r: notebooks.RunResult) -> None:
        note = f" — {r.error}" if r.error else ""
        print(f"{r.status:6} {r.notebook}: {r.path}{note}", flush=True)

    results = notebooks.run_notebooks(args.names, parameters=given, texts=texts,
                                      reports=args.out, run_id=args.run_id,
                                      no_code=args.no_code, code=True if args.code else None,
                                      timeout=args.timeout, progress=show,
                                      parameter_file=args.params)
    failed = [r for r in results if not r.ok]
    if failed:
        print(f"perfsim: {len(failed)} notebook(s) failed: "
              + ", ".join(f"{r.notebook} ({r.run_id})" for r in failed), file=sys.stderr)
    print(f"index: {(args.out / nb_index.INDEX).resolve()}")
    return 1 if failed else 0


def _cmd_notebooks_list(args: argparse.Namespace) -> int:
    print(nb_parameters.describe())
    return 0


def _cmd_notebooks_index(args: argparse.Namespace) -> int:
    print(f"index: {nb_index.write_index(args.out).resolve()}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    spec = nb_sweep.read_sweep(args.grid)
    n = len(spec.combinations())
    print(f"sweep {spec.name}: {n} runs of {spec.notebook.stem}", flush=True)

    def show(outcome: dict) -> None:
        note = f" — {outcome['error']}" if outcome.get("error") else ""
        print(f"{outcome['status']:6} run {outcome['run_id']} ({outcome['seconds']:.1f} s)"
              f"{note}", flush=True)

    result = nb_sweep.run_sweep(spec, workers=args.workers, engine=args.engine,
                                 reports=args.out, timeout=args.timeout, progress=show)
    print(f"wrote {result.path}/sweep.csv ({len(result.table)} rows)")
    print(f"index: {(args.out / nb_index.INDEX).resolve()}")
    if result.failed:
        print(f"perfsim: {len(result.failed)} of {n} runs failed: "
              + "; ".join(f"run {r['run_id']} {r['parameters']}: {r['error']}"
                          for r in result.failed), file=sys.stderr)
        return 1
    return 0


# --- perfsim import: self-evaluation workbooks (导入自评表) ---------------------------------------

def add_import_parser(sub: Any) -> None:
    """``perfsim import PATH... --out DIR [--strict] [--levels FILE]``."""
    imp = sub.add_parser(
        "import", help="import self-evaluation workbooks (导入自评表) and review them (复核)",
        description="Read MoF-layout self-evaluation workbooks (项目支出/部门整体支出绩效自评表: "
                    ".xlsx, .xls, folders read recursively, .zip), score every table as printed "
                    "and by the template rule, and write projects.csv, leaves.csv, findings.csv, "
                    "review.xlsx and review.html into --out.")
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                     help="workbooks, folders or .zip archives")
    imp.add_argument("--out", type=Path, required=True, help="output directory (new or perfsim's)")
    imp.add_argument("--strict", action="store_true",
                     help="stop at the first file that cannot be imported (exit 2) instead of "
                          "listing it and importing the rest")
    imp.add_argument("--levels", type=Path, default=None, metavar="FILE",
                     help="qualitative levels and their coefficients (YAML, the shape of "
                          "datasets/forms/levels.yaml, which is the default)")
    imp.set_defaults(func=_cmd_import)


def _cmd_import(args: argparse.Namespace) -> int:
    levels = load_levels(args.levels)
    inputs = [*args.paths, *([args.levels] if args.levels else [])]
    check_output_dir(args.out, inputs=inputs)
    imported = read_paths(args.paths, strict=args.strict)
    if not imported.tables:
        more = len(imported.failed) - 1
        raise InputError(problem=imported.failed[0][1]
                         + (f" (and {more} more files not imported)" if more > 0 else ""))
    scored = score_tables(imported.tables, levels)
    frames = tidy(scored, imported.failed)
    with atomic_directory(args.out, kind="import", inputs=inputs) as tmp:
        write_csvs(frames, tmp)
        write_workbook(frames, tmp / WORKBOOK)
        write_page(frames, tmp / PAGE)
    for _, message in imported.failed:
        print(f"perfsim: not imported: {message}", file=sys.stderr)
    print(f"wrote {args.out}: projects.csv, leaves.csv, findings.csv, {WORKBOOK}, {PAGE}")
    print(f"{imported.files} files, {len(frames['projects'])} tables, "
          f"{len(frames['leaves'])} leaves, {len(frames['findings'])} findings"
          + (f"; {len(imported.failed)} files not imported (listed in findings.csv)"
             if imported.failed else ""))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
