"""``perfsim report departments``: one page per department."""

from __future__ import annotations

import argparse
from pathlib import Path

from perfsim.analyse.departments import department_profiles, most_affected
from perfsim.cli.common import (
    _pos_int,
    _scenario_options,
    set_parameters,
)
from perfsim.errors import InputError
from perfsim.io import (
    check_output_dir,
    input_files,
    safe_name,
)
from perfsim.model.scenario import load_scenario
from perfsim.present.report import (
    write_department_reports,
)
from perfsim.run.year import run_year


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim report``."""
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
