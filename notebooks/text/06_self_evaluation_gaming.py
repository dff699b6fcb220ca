# ---
# jupyter:
#   jupytext:
#     formats: ipynb,text//py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 自评、抽查与博弈 — Self-evaluation, spot checks and gaming
#
# > 资金与自评得分挂钩时，虚报是否有利可图？多少抽查复核才能消除这种收益？
# > — If money follows self-evaluated scores, does inflating them pay, and how many spot checks
# > remove that reward?
#
# **Question.** Spending units score themselves (自评) and self-scores are high (Fujian claimed
# 90 and 92). If money follows self-evaluated scores, does inflating them pay — and how many
# spot checks (抽查/复核) remove that reward? Where should the checks go, how hard must the
# penalty be, and can the inflation be read off the scores themselves?
#
# **How.** Three models of the same Liupanshui 2022 scenario, all through perfsim's one year
# kernel:
#
# - a **Monte Carlo** of the evaluation process in which every unit inflates its
#   self-evaluation by `inflation_mean` (a share of each leaf's points). *Inflation payoff* is
#   the money gained per inflated point: the next-year budget with the inflated self-scores
#   minus the budget the same projects would get with honest ones, per point of inflation;
# - **strategic units**, each choosing how many points to add (up to `max_inflation`) by
#   weighing the money a better grade brings against the chance of a check and its penalty;
# - the **estimators** a bureau can run on what it observes: bunching of self-scores at the
#   grade lines, and a mixed model of self-score minus re-check by department.

# %% tags=["parameters"]
scenario = "datasets/scenarios/liupanshui_2022.yaml"  # scenario, relative to the project root
seed = 2022  # seed of the synthetic portfolio and of the Monte Carlo
replications = 200  # Monte Carlo replications per design
inflation_mean = 0.05  # simulation.self_evaluation.inflation_mean (share of leaf points)
check_shares = [0.0, 0.1, 0.2, 0.4, 0.7]  # simulation.spot_check.share values compared
penalty = 5.0  # points deducted when a check finds the self-score over the gap too high
gap = 2.0  # simulation.spot_check.gap: points of self-score over the re-check tolerated
budget_staff_days = 2000.0  # staff-days available for re-checks (the design search)
design_shares = 6  # check shares searched, from 0 to what the budget affords
design_replications = 64  # Monte Carlo replications per design searched
penalties = [0.0, 5.0, 10.0, 20.0]  # penalties compared (points)
max_inflation = 3.0  # the most points a strategic unit adds to its honest score
strategic_penalty = 20.0  # the penalty strategic units face when their inflation is found
strategic_check_share = 0.1  # the check share strategic units face in the bunching study
unchecked_bonus = 2.0  # Fujian: points for not being checked
estimation_check_share = 0.5  # share re-checked in the year whose data are estimated
inflating_departments = ["D475", "D523", "D277"]  # inflating more (none in the scenario: its 3 largest)
department_inflation = 0.10  # their inflation (share of leaf points)
response_reach = 20.0  # simulation.self_evaluation.max_inflation: the most points a responding unit adds
output_dir = ""  # set by `perfsim notebooks run`; empty: show results, save nothing

# %%
import perfsim
from perfsim import notebooks as nb
from perfsim.analyse import bunching, estimate
from perfsim.present import plots
from perfsim.run import checks, strategy
from perfsim.run import variants as studies

plots.use_cjk_font()
sc = perfsim.load(nb.input_path(scenario, output_dir), seed=seed)
SOURCE = (f"perfsim; scenario {sc.name}, seed {seed}; synthetic portfolio of "
          f"{sc.portfolio.n_projects:,} projects")
INFLATED = {"simulation.self_evaluation.inflation_mean": inflation_mean,
            "simulation.self_evaluation.inflation_sd": 0.02, "simulation.spot_check.gap": gap}
SHARE = "simulation.spot_check.share"
STRATEGIC = sc.set({"simulation.spot_check.gap": 0.0,
                    "simulation.spot_check.inflation_penalty": strategic_penalty})
GRID = strategy.inflation_grid(max_inflation)

# %% [markdown]
# ## 1. 无抽查时虚报是否有利 — Does inflating pay when nobody checks?

# %%
honest = studies.mc_variants(sc, {
    "honest 如实自评": {},
    "inflated, no checks 虚报无抽查": INFLATED,
}, metrics=("misgrading", "wrong_cuts", "kept_by_poor", "savings"), replications=replications)
nb.save_table(honest, "honest_vs_inflated", output_dir)
nb.show(honest.pivot_table(index="variant", columns="metric", values="mean"))

# %% [markdown]
# ## 2. 抽查多少、查谁 — How many checks, and where?
#
# A checked project's score is replaced by the re-check (with a little noise of its own). Four
# policies at each check share: checks drawn at random; aimed at the highest self-scores;
# aimed at the self-scores just over a grade line (`near_cutoffs`: within
# `simulation.spot_check.band` points above 90, 80 or 60, closest first); and the latter with a
# `penalty` in points when the self-score is found more than `gap` points too high.

# %%
NEAR = {"simulation.spot_check.selection": "near_cutoffs"}
grid = studies.settings_grid(sc.set(INFLATED), {SHARE: check_shares}, policies={
    "random 随机抽查": {},
    "top self-scores 高分重点抽查": {"simulation.spot_check.selection": "highest_score"},
    "near the lines 临界线附近抽查": NEAR,
    "near the lines + penalty 临界抽查+惩罚": {
        **NEAR, "simulation.spot_check.inflation_penalty": penalty},
}, metrics=("inflation_payoff", "misgrading", "wrong_cuts"), replications=replications)
nb.save_table(grid, "results", output_dir)
fig = plots.line_chart(grid[grid["metric"] == "inflation_payoff"], SHARE, "mean",
                       hue="policy", scale=1e4,
                       title="虚报的收益 Money gained per inflated point",
                       xlabel="抽查比例 share of projects spot-checked (0-1)",
                       ylabel="每虚报1分的收益 payoff (万元 per point, 10,000 yuan)",
                       source=f"{SOURCE}; inflation {inflation_mean}; {replications} "
                              "replications, mean")
nb.save_figure(fig, "inflation_payoff", output_dir)
nb.show(grid.pivot_table(index=["policy", SHARE], columns="metric", values="mean"))

# %% [markdown]
# ## 3. 最经济的抽查方案 — The cheapest design that makes honesty pay
#
# Every combination of check share (up to what `budget_staff_days` affords at two staff-days
# per check), selection and `penalties`, each a Monte Carlo on the same random draws. The
# Pareto front keeps the designs no other beats at once on inflation payoff (counted from zero
# up), wrong cuts and cost (`perfsim optimise-checks` does the same from the command line).

# %%
designs = checks.optimise_checks(sc.set(INFLATED), budget_staff_days, shares=design_shares,
                                 penalties=penalties, replications=design_replications)
nb.save_table(designs.table, "check_designs", output_dir)
fig = plots.check_designs(designs.table, source=f"{SOURCE}; inflation {inflation_mean}; "
                                               f"{design_replications} replications per design")
nb.save_figure(fig, "check_designs", output_dir)
nb.show(designs.front[[SHARE, "simulation.spot_check.selection",
                       "simulation.spot_check.inflation_penalty", "checks",
                       "evaluation_cost_recheck", "inflation_payoff", "wrong_cuts"]])

# %% [markdown]
# ## 4. 何时如实自评才合算 — When does honesty pay?
#
# Strategic units: each adds up to `max_inflation` points to its honest score when the
# expected money of a better grade, unchecked, outweighs the expected loss when a check finds
# the inflation (here any inflation found costs `strategic_penalty` points). A unit's gain is
# linear in the check share, so each unit has a break-even check share from which it reports
# honestly. The table gives, for each penalty, the check share from which every unit that can
# be deterred is honest, and the share of units only checking everyone deters (a 差 project
# has nothing left to lose; without a penalty nobody has).

# %%
by_penalty = strategy.break_even_by_penalty(STRATEGIC, penalties, grid=GRID)
nb.save_table(by_penalty, "break_even_by_penalty", output_dir)
nb.show(by_penalty, shares=["break_even_share", "share_tempted", "share_undeterred"])

# %%
curve = studies.policy_table({
    "no bonus 无奖励": strategy.strategic_inflation(STRATEGIC, check_shares, grid=GRID),
    "Fujian +2 if unchecked 未抽查加分": strategy.strategic_inflation(
        STRATEGIC.set({"simulation.spot_check.unchecked_bonus": unchecked_bonus}),
        check_shares, grid=GRID),
})
nb.save_table(curve, "strategic_inflation", output_dir)
fig = plots.line_chart(curve, "check_share", "mean_inflation", hue="policy",
                       title="策略性虚报 Inflation chosen by strategic units",
                       xlabel="抽查比例 share of projects spot-checked (0-1)",
                       ylabel="平均虚报分数 mean inflation (points)",
                       source=f"{SOURCE}; up to {max_inflation} points, penalty "
                              f"{strategic_penalty} points")
nb.save_figure(fig, "strategic_inflation", output_dir)
nb.show(curve, shares=["share_inflating"])

# %% [markdown]
# **The Fujian incentive (未抽查加分).** Fujian's table gives 2 points "because no spot check or
# re-evaluation was done". The second line shows what that does: the points come on top of
# whatever a unit claims whenever it is not checked, so fewer points of its own are needed to
# cross a line, and the reward for escaping the audit grows with the share left unchecked.

# %% [markdown]
# ## 5. 从得分分布识别虚报 — Reading inflation off the scores: bunching
#
# Strategic units lift projects just below a line onto it, so self-scores pile up just above
# 80 (under this rule, 优 and 良 are paid alike: nothing is gained at 90). The bunching
# estimator fits a smooth density to the score histogram away from the lines and measures the
# excess mass just above each line (and the missing mass just below), with bootstrap
# intervals; the honest scores are the control.

# %%
claimed = strategy.claimed_scores(STRATEGIC, strategic_check_share, grid=GRID)
piles = nb.attempt(bunching.piles, {"claimed 策略性自评": claimed["claimed_score"],
                                    "honest 如实自评": claimed["honest_score"]},
                   low=50, high=99, seed=seed)
nb.save_table(piles, "bunching", output_dir)
fig = plots.histogram(claimed["claimed_score"], bins=[50 + k / 2 for k in range(101)],
                      lines=sc.grading.cutoffs,
                      title="自评得分分布 Claimed self-scores and the grade lines",
                      xlabel="自评得分 self-score (points)", ylabel="项目数 projects",
                      source=f"{SOURCE}; strategic units, {strategic_check_share:.0%} checks")
nb.save_figure(fig, "claimed_scores", output_dir)
nb.show(piles, columns=["policy", "cutoff", "excess", "excess_low", "excess_high", "missing",
                        "b_points"])

# %% [markdown]
# ## 6. 按部门估计虚报 — Which departments inflate: a mixed model of the re-checks
#
# In a year when `estimation_check_share` of projects are re-checked, every unit inflates by
# `inflation_mean` and the departments in `inflating_departments` by `department_inflation`
# (those of them the scenario has; with none, its three departments with the most projects).
# The observed gap — self-score minus re-check, for the checked projects — is fitted with a
# random intercept per department (statsmodels MixedLM, `perfsim estimate inflation`): the
# intercept is the mean inflation in points, the department variance how much departments
# differ, and each department's predicted inflation ranks them. The departments set to
# inflate more should lead the ranking.

# %%
year = sc.set({**INFLATED, SHARE: estimation_check_share,
               "simulation.self_evaluation.by_department": {
                   d: department_inflation for d in nb.departments_in(
                       sc, inflating_departments)}}).simulate(replications=1, years=1).sample
observed = year[year["checked"]]
fit = nb.attempt(estimate.inflation_table, observed)
nb.save_table(fit, "inflation_model", output_dir)
nb.show(fit)

# %%
ranked = nb.attempt(estimate.inflation_ranking, observed, top=10)
nb.save_table(ranked, "departments_by_inflation", output_dir)
nb.show(ranked)

# %% [markdown]
# ## 7. 单位会应对时的抽查方案 — The designs when units respond
#
# Section 3 judged every design against the same fixed inflation: units inflate by
# `inflation_mean` whatever the checks. Here the units respond
# (`simulation.self_evaluation.strategy: best_response`, `perfsim optimise-checks
# --response best`): under each design every unit weighs, each year, the money at its grade
# line against the chance of a check it can infer from the design (share, selection) and the
# penalty, and claims the line — up to `response_reach` points above its honest self-score —
# only when that pays. Each design is judged at the inflation it leaves, on the same draws
# and outcomes as section 3; `inflating_share` is the share of units that still inflate.

# %%
RESPONDING = sc.set({**INFLATED,
                     "simulation.self_evaluation.max_inflation": response_reach})
responding = checks.responding_designs(RESPONDING, budget_staff_days, shares=design_shares,
                                       penalties=penalties,
                                       replications=design_replications)
fronts = checks.compare_fronts(designs, responding)
nb.save_table(fronts, "fronts_fixed_and_responding", output_dir)
if responding is not None:   # a grading by ranks or quotas has no line to respond to
    nb.save_table(responding.table, "check_designs_responding", output_dir)
    fig = plots.check_designs(responding.table, source=f"{SOURCE}; units respond, reach "
                                                       f"{response_reach} points; "
                                                       f"{design_replications} replications "
                                                       "per design")
    nb.save_figure(fig, "check_designs_responding", output_dir)
nb.show(fronts, shares=["inflating_share"])

# %% [markdown]
# **Where the two fronts disagree.** Against a fixed inflation, every unit inflates whatever
# the design, so the front buys the payoff down step by step with share and penalty, and
# penalties of 5 to 20 points sit on it. When units respond, only those whose claim crosses a
# line that moves money inflate (a few percent of units, at 80 here, against nearly all under
# the fixed inflation), so the payoff per inflated point of those who still do is far higher;
# and the designs that deter them are not the same: checks near the lines at the smallest
# share the budget allows already stop every claim onto a line, because a claim exactly on a
# line is the first such a rule checks and a unit that expects the check gains nothing by it,
# while random checks at the same cost deter almost no one when the re-check only restores
# the honest score. So the responding front holds near-line checks without a penalty, and
# no-checks or largest-budget designs whose low wrong cuts come from units lifting themselves
# out of 中; the fixed front holds the penalties. Two limits: the responding units reckon the
# others honest, and they weigh only the least claim onto each line — a unit that claimed a
# little above the near-line band would escape those checks, which this model does not let
# it try.

# %% [markdown]
# **Reading the results.** Without checks, inflating pays: inflated projects climb out of 中
# and keep their money, and fewer truly poor projects are cancelled. The money is made at the
# lines — here at 80, where 中 loses its cut — so checks aimed at the highest self-scores,
# which are rated 优 anyway, barely touch it, while checks just over the lines take the payoff
# away fastest for the same number of checks. Checks alone only restore the honest grade; it
# is the penalty that makes a found inflator worse off than an honest one, and a penalty that
# turns a found 中 into 差 deters at a check share equal to what the lie saves relative to what
# it risks. Penalties have a cost: honest projects whose self-score exceeds a noisy re-check by
# more than the gap are punished too, so the front trades payoff against wrong cuts. A 差
# project has nothing left to lose and only full checks deter it. The Fujian bonus for not
# being checked rewards exactly what the checks are meant to find. Finally, the pile of
# self-scores just above a line is visible in the scores themselves, and re-check data tell
# departments apart: a bureau can find where to look before it checks.
