"""``perfsim sensitivity``: global sensitivity of outcomes to design parameters (SALib)."""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path

from perfsim.cli.common import (
    _cli_error,
    _nonneg_int,
    _pos_int,
)
from perfsim.errors import InputError
from perfsim.io import (
    atomic_directory,
    check_output_dir,
    claim_output,
    input_files,
    to_jsonable,
)
from perfsim.model.scenario import load_scenario
from perfsim.present.plots import plot_sensitivity
from perfsim.run.sensitivity import (
    DEFAULT_METRICS,
    format_sensitivity,
    load_params,
    morris,
    sobol,
)


def add(sub: argparse._SubParsersAction) -> None:
    """``perfsim sensitivity``."""
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
    sens.add_argument("--no-noise", dest="no_noise", action="store_true",
                      help="every random source off (leaf dispersion, self-evaluation, "
                           "re-check and execution noise, inflation spread) except the "
                           "parameters sampled: a sample at the file's values is then the "
                           "one-year run (perfsim run) exactly. The default for a scenario "
                           "without a `simulation:` block; with one, its noise is on")
    sens.add_argument("--workers", type=_pos_int, default=None,
                      help="processes that evaluate the samples (default: every core when "
                           "the work is large, else 1); the numbers are the same whatever "
                           "the workers")
    sens.add_argument("--seed", type=_nonneg_int, default=None, help="override the scenario seed")
    sens.add_argument("--plot", type=Path, default=None, metavar="DIR",
                      help="write one bar chart per metric (PNG) into DIR")
    sens.add_argument("--json", action="store_true", help="print JSON")
    sens.set_defaults(func=_cmd_sensitivity)


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
            result = run(scenario, specs, n, metrics=metrics, replications=args.replications,
                         noise=False if args.no_noise else None, workers=args.workers)
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
