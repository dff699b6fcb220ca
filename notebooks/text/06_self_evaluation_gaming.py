# ---
# jupyter:
#   jupytext:
#     formats: ipynb,text//py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
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
# spot checks (抽查/复核) remove that reward? Does it matter whether the checks are drawn at
# random or aimed at the highest self-scores, and does Wenzhou's rule — deduct points when
# the self-score and the re-check differ by more than 10 — help?
#
# **How.** A Monte Carlo of the evaluation process on the Liupanshui 2022 scenario in which
# every unit inflates its self-evaluation by `inflation_mean` (a share of each leaf's points).
# *Inflation payoff* is the money gained per inflated point: the next-year budget with the
# inflated self-scores minus the budget the same projects would have got with honest ones,
# divided by the points of inflation (yuan per point). A payoff of zero means inflating does
# not pay.

# %% tags=["parameters"]
scenario = "datasets/scenarios/liupanshui_2022.yaml"  # scenario, relative to the project root
seed = 2022  # seed of the synthetic portfolio and of the Monte Carlo
replications = 200  # Monte Carlo replications per design
inflation_mean = 0.05  # simulation.self_evaluation.inflation_mean (share of leaf points)
check_shares = [0.0, 0.1, 0.2, 0.4, 0.7]  # simulation.spot_check.share values compared
penalty = 5.0  # points deducted when a check finds the self-score over 10 points too high
output_dir = ""  # set by `perfsim notebooks run`; empty: show results, save nothing

# %%
import perfsim
from perfsim import notebooks as nb
from perfsim.present import plots
from perfsim.run import variants as studies

plots.use_cjk_font()
sc = perfsim.load(nb.input_path(scenario, output_dir), seed=seed)
SOURCE = (f"perfsim; scenario {sc.name}, seed {seed}; synthetic portfolio of "
          f"{sc.portfolio.n_projects:,} projects; inflation {inflation_mean}")
INFLATED = {"simulation.self_evaluation.inflation_mean": inflation_mean,
            "simulation.self_evaluation.inflation_sd": 0.02}
SHARE = "simulation.spot_check.share"

# %% [markdown]
# ## 1. Does inflating pay when nobody checks? (无抽查时虚报是否有利)

# %%
honest = studies.mc_variants(sc, {
    "honest 如实自评": {},
    "inflated, no checks 虚报无抽查": INFLATED,
}, metrics=("misgrading", "wrong_cuts", "kept_by_poor", "savings"), replications=replications)
nb.save_table(honest, "honest_vs_inflated", output_dir)
nb.show(honest.pivot_table(index="variant", columns="metric", values="mean"))

# %% [markdown]
# ## 2. How many spot checks remove the reward? (抽查比例与抽查方式)
#
# A checked project's score is replaced by the re-check (with a little noise of its own). Four
# policies: checks drawn at random; the same plus Wenzhou's gap rule (−1 point per 5 points of
# gap beyond 10); checks aimed at the highest self-scores (risk-based); and aimed checks with a
# `penalty` in points when the self-score is found more than 10 points too high.

# %%
AIMED = {"simulation.spot_check.selection": "highest_score"}
grid = studies.settings_grid(sc.set(INFLATED), {SHARE: check_shares}, policies={
    "random 随机抽查": {},
    "random + gap rule 随机+差距扣分": {"simulation.spot_check.gap_rule": True},
    "aimed at high self-scores 重点抽查": AIMED,
    "aimed + penalty 重点抽查+惩罚": {**AIMED, "simulation.spot_check.inflation_penalty": penalty},
}, metrics=("inflation_payoff", "misgrading", "wrong_cuts"), replications=replications)
nb.save_table(grid, "results", output_dir)
fig = plots.line_chart(grid[grid["metric"] == "inflation_payoff"], SHARE, "mean",
                       hue="policy", scale=1e4,
                       title="虚报的收益 Money gained per inflated point",
                       xlabel="抽查比例 share of projects spot-checked (0-1)",
                       ylabel="每虚报1分的收益 payoff (万元 per point, 10,000 yuan)",
                       source=f"{SOURCE}; {replications} replications, mean")
nb.save_figure(fig, "inflation_payoff", output_dir)
fig = plots.line_chart(grid[grid["metric"] == "misgrading"], SHARE, "mean",
                       hue="policy",
                       title="误评率 Misgrading by spot-check share",
                       xlabel="抽查比例 share of projects spot-checked (0-1)",
                       ylabel="误评率 share of projects misgraded (0-1)",
                       source=f"{SOURCE}; {replications} replications, mean")
nb.save_figure(fig, "misgrading_by_checks", output_dir)
nb.show(grid.pivot_table(index=["policy", SHARE], columns="metric", values="mean"))

# %% [markdown]
# **Reading the results.** Without checks, inflating pays: inflated projects climb out of 中
# and keep their money, and fewer truly poor projects are cancelled. Random checks reduce the
# payoff roughly in proportion to the share checked, a little faster with the gap rule. Checks
# aimed at the highest self-scores do surprisingly little in the default run: the projects with
# the highest self-scores are rated 优 anyway, while the money gained by inflating is made near
# the 良/中 line — a risk-based check should target the projects just above a cutoff, not the
# top. Note the perverse incentive in the Fujian table (+2 points because no spot check was
# done): it rewards exactly what the checks are meant to find.
