"""``perfsim estimate``: what observed data say (statsmodels)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from perfsim.analyse.estimate import MODELS as ESTIMATE_MODELS
from perfsim.analyse.estimate import estimate_file
from perfsim.io import (
    to_jsonable,
)
from perfsim.present.report import (
    estimate_frame,
)


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim estimate``."""
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
