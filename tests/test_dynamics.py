"""The multi-year dynamics as the sources mean them, each a default with the old behaviour
one YAML option away: a continuing request passes the pre-evaluation once
(``simulation.dynamics.pre_evaluation``), condition flags and the blacklists they trigger
expire (``simulation.dynamics.flag_years``), a recovery takes the year's funds, not the
later base (``simulation.dynamics.recovery``), execution pace is not target attainment
(``simulation.monitoring.pace``) and a third party's deposit is judged on what the year's
check can see (``simulation.evaluators.deposit_basis``). Every figure is computed by hand in
the comments, noise off (the truth is the portfolio's score)."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import one_error_line

import perfsim
from perfsim.cli import main
from perfsim.errors import InputError
from perfsim.model.settings import settings_from_dict

GRADING = "grading: {labels: national, cutoffs: [90, 80, 60]}\n"
KEEP = "  rule: grade_table\n  multipliers: {excellent: 1, good: 1, fair: 1, poor: 1}\n"


def scenario(tmp_path, table: dict, linkage: str, simulation: str = ""):
    pd.DataFrame(table).to_csv(tmp_path / "pf.csv", index=False)
    path = tmp_path / "sc.yaml"
    path.write_text("name: dynamics\nseed: 3\nportfolio: {file: pf.csv}\n" + GRADING
                    + f"linkage:\n{KEEP}{linkage}"
                    + (f"simulation: {simulation}\n" if simulation else ""), encoding="utf-8")
    return path


def years(path, n: int) -> pd.DataFrame:
    return perfsim.load(path).simulate(replications=1, years=n, noise=False).replications


# --- a continuing project is gated once ----------------------------------------------------------

GATE = "  pre_evaluation: {noise: 0, reduce_below: 80, reduce: 0.25}\n"
REQUESTS = {"project_id": ["P1", "P2"], "department": ["甲", "乙"],
            "budget": [800_000.0, 1_000_000.0], "score": [70.0, 95.0]}


def test_a_continuing_request_reduced_at_entry_is_not_reduced_again(tmp_path):
    reps = years(scenario(tmp_path, REQUESTS, GATE), 3)
    # year 1: P1 (expected 70 < 80) reduced by 25%: 800,000 → 600,000; P2 (95) funded as asked;
    # years 2 and 3: P1 keeps 600,000 — its request was judged once
    assert reps["budget_total"].tolist() == [1_800_000.0, 1_600_000.0, 1_600_000.0]
    assert reps["next_total"].tolist() == [1_600_000.0, 1_600_000.0, 1_600_000.0]
    assert reps["pre_evaluation_reduced"].tolist() == [1, 0, 0]
    assert reps["pre_evaluation_saved"].tolist() == [200_000.0, 0.0, 0.0]


def test_the_old_gate_every_year_compounds_the_reduction(tmp_path):
    path = scenario(tmp_path, REQUESTS, GATE, "{dynamics: {pre_evaluation: every_year}}")
    reps = years(path, 3)
    # 800,000 → 600,000 → 450,000 → 337,500: reduced by 25% every year
    assert reps["budget_total"].tolist() == [1_800_000.0, 1_600_000.0, 1_450_000.0]
    assert reps["next_total"].tolist() == [1_600_000.0, 1_450_000.0, 1_337_500.0]
    assert reps["pre_evaluation_reduced"].tolist() == [1, 1, 1]


def test_a_new_project_is_gated_as_it_enters_and_not_again_that_year(tmp_path):
    # one project (95, funded as asked) and one entrant a year (entry_rate 1 × 1 project),
    # which is a copy of it: the gate halves every request below 100
    halve = "  pre_evaluation: {noise: 0, reduce_below: 100, reduce: 0.5}\n"
    table = {"project_id": ["P1"], "department": ["甲"], "budget": [1000.0], "score": [95.0]}
    reps = years(scenario(tmp_path, table, halve, "{dynamics: {entry_rate: 1.0}}"), 2)
    # year 1: P1 halved for year 2 (500); year 2: the entrant asks 1,000, enters with 500,
    # and neither is halved again: both keep 500 for year 3
    assert reps["budget_total"].tolist() == [1000.0, 1000.0]
    assert reps["next_total"].tolist() == [500.0, 1000.0]
    assert reps["pre_evaluation_reduced"].tolist() == [1, 1]   # year 2: the entrant only
    old = scenario(tmp_path, table, halve,
                   "{dynamics: {entry_rate: 1.0, pre_evaluation: every_year}}")
    reps = years(old, 2)
    # the old way: both halved again at the end of year 2 (the entrant twice in one year)
    assert reps["next_total"].tolist() == [500.0, 500.0]
    assert reps["pre_evaluation_reduced"].tolist() == [1, 3]


# --- condition flags and blacklists expire -------------------------------------------------------

FLAGGED = {"project_id": ["P1", "P2", "P3"], "department": ["A", "A", "B"],
           "budget": [1000.0, 1000.0, 1000.0], "score": [95.0, 95.0, 95.0],
           "has_targets": ["no", "yes", "yes"]}
LISTED = ("  preconditions: [{flag: has_targets, consequence: cut, share: 0.5}]\n"
          "  blacklist: {after: [precondition], years: 2, cut: 0.2}\n")


def test_a_two_year_blacklist_after_a_missing_target_expires_after_two_years(tmp_path):
    reps = years(scenario(tmp_path, FLAGGED, LISTED), 4)
    # year 1: P1 has no targets: cut 50%, and unit A blacklisted for 2 years (cut 20%):
    #   P1 1000 × 0.5 × 0.8 = 400, P2 1000 × 0.8 = 800, P3 1000
    # year 2: the flag described year 1 (targets set since); A still listed: P1 320, P2 640
    # years 3, 4: A no longer listed, nothing cut: 320 + 640 + 1000 = 1960
    assert reps["budget_total"].tolist() == [3000.0, 2200.0, 1960.0, 1960.0]
    assert reps["units_blacklisted"].tolist() == [1.0, 1.0, 0.0, 0.0]


def test_flags_held_two_years_relist_the_unit_once_more(tmp_path):
    reps = years(scenario(tmp_path, FLAGGED, LISTED, "{dynamics: {flag_years: 2}}"), 4)
    # year 2: P1 still without targets: 400 × 0.5 × 0.8 = 160, P2 640 → listed again for 2
    # years; year 3: the flag has expired, A still listed: 128 + 512 + 1000 = 1640; year 4: free
    assert reps["budget_total"].tolist() == [3000.0, 2200.0, 1800.0, 1640.0]
    assert reps["units_blacklisted"].tolist() == [1.0, 1.0, 1.0, 0.0]


def test_flags_that_never_change_relist_the_unit_and_compound_the_cuts(tmp_path):
    reps = years(scenario(tmp_path, FLAGGED, LISTED, "{dynamics: {flag_years: 0}}"), 4)
    # every year P1 × 0.5 × 0.8 and P2 × 0.8: P1 400, 160, 64; P2 800, 640, 512
    assert reps["budget_total"].tolist() == [3000.0, 2200.0, 1800.0, 1576.0]
    assert reps["units_blacklisted"].tolist() == [1.0, 1.0, 1.0, 1.0]


def test_a_new_project_s_flags_hold_from_its_own_entry(tmp_path):
    # one project without targets (cut 50%) and one entrant a year, a copy of it
    table = {"project_id": ["P1"], "department": ["A"], "budget": [1000.0], "score": [95.0],
             "has_targets": ["no"]}
    cut = "  preconditions: [{flag: has_targets, consequence: cut, share: 0.5}]\n"
    reps = years(scenario(tmp_path, table, cut, "{dynamics: {entry_rate: 1.0}}"), 3)
    # year 1: P1 1000 → 500; year 2: P1 keeps 500, the entrant (its first year) 1000 → 500;
    # year 3: P1 500 and E1 500 kept, E2 1000 → 500
    assert reps["budget_total"].tolist() == [1000.0, 1500.0, 2000.0]
    assert reps["next_total"].tolist() == [500.0, 1000.0, 1500.0]
    old = years(scenario(tmp_path, table, cut,
                         "{dynamics: {entry_rate: 1.0, flag_years: 0}}"), 3)
    # every project halved every year: 500; 250 + 500; 125 + 250 + 500
    assert old["next_total"].tolist() == [500.0, 750.0, 875.0]


# --- a recovery takes the year's funds, not the base ---------------------------------------------

# Zhucheng [E4]: funds of unrectified projects recovered; P1 (中, fed back) did not rectify in
# year 1 (the portfolio says so), and rectifies every later year (probability 1)
RECOVERY = {"project_id": ["P1", "P2"], "department": ["甲", "乙"],
            "budget": [1000.0, 1000.0], "score": [70.0, 95.0], "rectified": ["no", "yes"]}
RECTIFY = "  rectification: {grades: [fair, poor], probability: 1, recover: 0.3}\n"


def test_a_year_one_recovery_does_not_lower_year_three_s_base(tmp_path):
    reps = years(scenario(tmp_path, RECOVERY, RECTIFY), 3)
    # year 1: 30% of P1's 1,000 recovered (300): the year's funds are 700, the rule keeps
    # them (next_total 1,700); next year's base is still 1,000 × 1
    assert reps["recovered_unrectified"].tolist() == [300.0, 0.0, 0.0]
    assert reps["next_total"].tolist() == [1700.0, 2000.0, 2000.0]
    assert reps["budget_total"].tolist() == [2000.0, 2000.0, 2000.0]


def test_the_old_option_lowers_every_later_base(tmp_path):
    reps = years(scenario(tmp_path, RECOVERY, RECTIFY, "{dynamics: {recovery: base}}"), 3)
    assert reps["recovered_unrectified"].tolist() == [300.0, 0.0, 0.0]
    assert reps["budget_total"].tolist() == [2000.0, 1700.0, 1700.0]


def test_a_cut_after_a_recovery_applies_to_the_whole_base(tmp_path):
    # the unrectified 中 also takes multiplier 0.5: the rule halves what it acts on
    cut = RECTIFY.replace("recover: 0.3", "recover: 0.3, unrectified: {fair: 0.5}")
    reps = years(scenario(tmp_path, RECOVERY, cut), 2)
    # year 1: P1 700 left after the recovery, halved: 350 (next_total 1,350); next year's
    # base is the rule on the whole budget: 1,000 × 0.5 = 500
    assert reps["next_total"].tolist()[0] == 1350.0
    assert reps["budget_total"].tolist() == [2000.0, 1500.0]
    old = years(scenario(tmp_path, RECOVERY, cut, "{dynamics: {recovery: base}}"), 2)
    assert old["budget_total"].tolist() == [2000.0, 1350.0]


# --- execution pace is not target attainment ----------------------------------------------------

PACE = {"project_id": ["P1", "P2"], "department": ["甲", "乙"],
        "budget": [1000.0, 1000.0], "score": [80.0, 60.0]}
CHECK = "monitoring: {checkpoints: [[0.5, 0.45]], execution_sd: 0}"


def test_projects_on_schedule_lose_nothing_to_monitoring_whatever_their_performance(tmp_path):
    reps = years(scenario(tmp_path, PACE, "", "{" + CHECK + "}"), 2)
    # noise off, on schedule: half the year gone, half the funds spent: 0.5 ≥ 0.45
    assert reps["recovered"].tolist() == [0.0, 0.0]
    assert reps["budget_total"].tolist() == [2000.0, 2000.0]


def test_pace_tied_to_performance_recovers_from_the_weaker_projects(tmp_path):
    path = scenario(tmp_path, PACE, "", "{" + CHECK.replace("}", ", pace: performance}")
                    + ", dynamics: {recovery: base}}")
    reps = years(path, 2)
    # rate = 0.5 × performance: P1 0.40, P2 0.30, both below 0.45: idle funds recovered,
    # 1,000 × (0.5 − 0.4) = 100 and 1,000 × (0.5 − 0.3) = 200; with recovery: base the next
    # year's budgets are 900 and 800, whose idle funds are 90 and 160
    assert reps["recovered"].tolist() == pytest.approx([300.0, 250.0])
    assert reps["budget_total"].tolist() == pytest.approx([2000.0, 1700.0])


def test_targets_still_follow_performance_when_pace_does_not(tmp_path):
    watch = CHECK.replace("}", ", targets: 0.7, target_noise: 0}")
    reps = years(scenario(tmp_path, PACE, "", "{" + watch + "}"), 1)
    # P2's targets (0.6 < 0.7) are clearly unreachable; P1's (0.8) are not; nobody is slow
    assert reps["monitoring_target_failed"].tolist() == [1]
    assert reps["recovered"].tolist() == [0.0]


# --- the deposit judged on the year's own check -------------------------------------------------

CROSS = {"project_id": ["P1", "P2"], "department": ["甲", "乙"],
         "budget": [1000.0, 1000.0], "score": [90.0, 90.0], "years_left": [3, 1]}
ANNUAL = "  cross_year: {evaluation: annual, lag: 0.3}\n"


def third_party(bias: float, basis: str = "") -> str:
    return ("{spot_check: {share: 1, noise: 0}, evaluators: {third_party_min_budget: 1, "
            f"third_party_noise: 0, third_party_bias: {bias}, third_party_cost: 1000, "
            "deposit: 0.2, deposit_tolerance: 5"
            + (f", deposit_basis: {basis}" if basis else "") + "}}")


@pytest.mark.parametrize(("bias", "basis", "forfeited"), [
    # P1 (three years left) shows 70% of its 90 points before completion: 63; a faithful
    # check finds 63 — no error on the year's own check, 27 points off the completed project
    (0.0, "", [0, 0, 0]),
    (0.0, "completion", [1, 1, 0]),
    # 3 points too high: 66 against 63 and 93 against 90, within the 5 tolerated
    (0.03, "", [0, 0, 0]),
    (0.03, "completion", [1, 1, 0]),
    # 10 points too high: a real error, forfeited on both projects whatever the basis
    (0.1, "", [2, 2, 2]),
    (0.1, "completion", [2, 2, 2]),
])
def test_the_deposit_is_forfeited_for_real_errors_not_for_the_lag(tmp_path, bias, basis,
                                                                   forfeited):
    reps = years(scenario(tmp_path, CROSS, ANNUAL, third_party(bias, basis)), 3)
    assert reps["deposits_forfeited"].tolist() == forfeited


# --- the options are checked on every route -----------------------------------------------------

@pytest.mark.parametrize(("block", "path"), [
    ({"dynamics": {"pre_evaluation": "sometimes"}}, "simulation.dynamics.pre_evaluation"),
    ({"dynamics": {"flag_years": -1}}, "simulation.dynamics.flag_years"),
    ({"dynamics": {"flag_years": 1.5}}, "simulation.dynamics.flag_years"),
    ({"dynamics": {"recovery": "forever"}}, "simulation.dynamics.recovery"),
    ({"monitoring": {"pace": "fast"}}, "simulation.monitoring.pace"),
    ({"evaluators": {"deposit_basis": "truth"}}, "simulation.evaluators.deposit_basis"),
])
def test_a_bad_dynamics_option_is_one_line_naming_its_path(tmp_path, capsys, block, path):
    with pytest.raises(InputError, match=path.replace(".", r"\.")):
        settings_from_dict(block)
    head, key = next(iter(block.items()))
    (k, v), = key.items()
    f = scenario(tmp_path, REQUESTS, GATE, f"{{{head}: {{{k}: {v}}}}}")
    assert main(["run", str(f), "--years", "2", "--replications", "1"]) == 2
    line = one_error_line(capsys)
    assert "sc.yaml" in line and path in line and str(v) in line
    # the same value given on the command line is refused with the same words
    good = scenario(tmp_path, REQUESTS, GATE)
    assert main(["run", str(good), "--years", "2", "--replications", "1",
                 "--set", f"{path}={v}"]) == 2
    again = one_error_line(capsys)
    assert path in again and again.split(path, 1)[1] == line.split(path, 1)[1]


def test_the_options_are_set_by_their_path(tmp_path):
    sc = perfsim.load(scenario(tmp_path, REQUESTS, GATE))
    old = sc.set({"simulation.dynamics.pre_evaluation": "every_year"})
    reps = old.simulate(replications=1, years=3, noise=False).replications
    assert reps["budget_total"].tolist() == [1_800_000.0, 1_600_000.0, 1_450_000.0]
