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
# # 05 不确定性与全局敏感性分析 — Uncertainty and global sensitivity
#
# > 设计参数不确定时，结果的区间有多宽？哪个参数决定了资金变动的大部分方差？
# > — How wide is the range of outcomes when the design parameters are uncertain, and which
# > parameter drives most of the variance?
#
# **Question.** Every number in a performance-management design is uncertain: the cut ratio is
# set "according to the situation" (10%–20%), the cutoffs could be a point or two either way,
# self-evaluations are inflated by an unknown amount, and nobody knows how noisy the scores
# are. How wide is the resulting range of outcomes — and *which* design parameter drives most
# of the variance in who loses money?
#
# **How.** (1) A Monte Carlo over the evaluation process with and without design uncertainty
# (the ratio drawn in [10%, 20%], cutoffs jittered) gives 5–95% intervals. (2) A global
# sensitivity analysis (Sobol indices, SALib) apportions the variance of savings, wrongful
# cuts and misgrading among five parameters varied together; Morris screening checks the
# ranking at a fraction of the cost.

# %% tags=["parameters"]
scenario = "datasets/scenarios/liupanshui_2022.yaml"  # scenario, relative to the project root
seed = 2022  # seed of the synthetic portfolio, the Monte Carlo and the samples
replications = 200  # Monte Carlo replications of the uncertainty study
cutoff_jitter = 2.0  # points: each cutoff drawn uniformly within this distance
sobol_n = 256  # Sobol base samples (a power of 2; costs n x (parameters + 2) evaluations)
morris_trajectories = 20  # Morris trajectories
sensitivity_replications = 2  # replications averaged in each sensitivity evaluation
sensitivity_params = [
    {"name": "linkage.ratio", "bounds": [0.10, 0.20]},
    {"name": "grading.cutoffs.good", "bounds": [77.0, 83.0]},
    {"name": "simulation.self_evaluation.noise", "bounds": [0.0, 0.10]},
    {"name": "simulation.self_evaluation.inflation_mean", "bounds": [0.0, 0.08]},
    {"name": "simulation.spot_check.share", "bounds": [0.0, 0.5]},
]  # parameters and their ranges (see perfsim.calibrate.parameters)
output_dir = ""  # set by `perfsim notebooks run`; empty: show results, save nothing

# %%
import perfsim
from perfsim import notebooks as nb
from perfsim.present import plots
from perfsim.run import sensitivity
from perfsim.run import variants as studies

plots.use_cjk_font()
sc = perfsim.load(nb.input_path(scenario, output_dir), seed=seed)
SOURCE = (f"perfsim; scenario {sc.name}, seed {seed}; synthetic portfolio of "
          f"{sc.portfolio.n_projects:,} projects")
METRICS = ("savings", "wrong_cuts", "misgrading")

# %% [markdown]
# ## 1. How wide is the range of outcomes? (结果的不确定区间)
#
# *Process noise only*: self-evaluation noise around true performance, the design fixed
# (ratio 15%, cutoffs 90/80/60). *With design uncertainty*: in addition, each replication draws
# the 中 cut ratio uniformly in [10%, 20%] and moves every cutoff by up to `cutoff_jitter`
# points.

# %%
uncertainty = studies.mc_variants(sc, {
    "process noise only 仅过程噪声": {},
    "with design uncertainty 含设计不确定性": {
        "simulation.uncertainty.ratio": [0.10, 0.20],
        "simulation.uncertainty.cutoff_jitter": cutoff_jitter},
}, metrics=METRICS, replications=replications)
nb.save_table(uncertainty, "uncertainty", output_dir)
fig = plots.bar_chart(uncertainty[uncertainty["metric"] == "savings"], "variant", "mean",
                      low="p05", high="p95", scale=1e4,
                      title="节约资金的不确定区间 Savings: mean and 5-95% interval",
                      xlabel="不确定性来源 sources of uncertainty",
                      ylabel="节约资金 savings (万元, 10,000 yuan)",
                      source=f"{SOURCE}; {replications} replications")
nb.save_figure(fig, "savings_interval", output_dir)
nb.show(uncertainty)

# %% [markdown]
# ## 2. Which parameter drives the variance? Sobol indices (Sobol 全局敏感性)
#
# First-order S1: the share of an outcome's variance explained by a parameter alone;
# total-order ST: including its interactions with the others. The samples share their random
# draws (common random numbers), so differences come from the parameters alone.

# %%
sobol = sensitivity.sobol(sc, sensitivity_params, n=sobol_n, metrics=METRICS,
                          replications=sensitivity_replications)
results = sobol.table
nb.save_table(results, "results", output_dir)
print(sensitivity.format_sensitivity(sobol))

# %%
for metric in METRICS:
    fig = plots.plot_sensitivity(sobol, metric)
    nb.save_figure(fig, f"sobol_{metric}", output_dir)

# %% [markdown]
# ## 3. A cheaper screen: Morris elementary effects (Morris 筛选)
#
# μ* is the mean absolute change of the outcome when a parameter moves across its whole range,
# in the outcome's units. A ranking that agrees with the Sobol ST ranking is reassuring.

# %%
morris = sensitivity.morris(sc, sensitivity_params, n=morris_trajectories, metrics=METRICS,
                            replications=sensitivity_replications)
nb.save_table(morris.table, "morris", output_dir)
fig = plots.plot_sensitivity(morris, "wrong_cuts")
nb.save_figure(fig, "morris_wrong_cuts", output_dir)
nb.show(morris.table)

# %% [markdown]
# **Reading the results.** Savings are driven by the cut ratio (a design choice finance
# controls) and by where the 良/中 line sits; wrongful cuts and misgrading are driven by how
# noisy and inflated the self-evaluations are — parameters finance does not set but can
# counter with spot checks (notebook 06).
