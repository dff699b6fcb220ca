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
# # 03 结果应用规则与多年资金分配 — Budget-linkage rules and multi-year fund allocation
#
# > 不同的结果应用规则在一年内转移多少资金？规则连年执行后，项目组合会怎样？
# > — Which linkage rule moves how much money in one year, and what happens to the portfolio
# > when it is applied year after year?
#
# **Question.** Grades "feed next year's budget" (结果应用), but every bureau writes the rule
# differently: Liupanshui keeps 优/良, cuts 中 by 10–20% and cancels 差; others reward 优,
# apply a score curve, put a floor under cuts, or hand the savings to the best projects instead
# of the treasury. Which rule moves how much money in one year — and what happens to the
# portfolio when the rule is applied year after year?
#
# **How.** One year of the Liupanshui 2022 scenario under six rules, then a multi-year Monte
# Carlo (performance persists from year to year, repeated 差 escalates to cancellation) under
# three of them.

# %% tags=["parameters"]
scenario = "datasets/scenarios/liupanshui_2022.yaml"  # scenario, relative to the project root
seed = 2022  # seed of the synthetic portfolio and of the Monte Carlo
ratio = 0.15  # Liupanshui cut for projects rated 中, in [0.10, 0.20]
reward = 1.1  # multiplier for 优 in the grade-table rule
years = 5  # years simulated in the multi-year study
replications = 100  # Monte Carlo replications of the multi-year study
escalation_years = 2  # consecutive 差 grades before a project is cancelled (0: off)
output_dir = ""  # set by `perfsim notebooks run`; empty: show results, save nothing

# %%
import perfsim
from perfsim import notebooks as nb
from perfsim.present import plots
from perfsim.run import variants as studies

plots.use_cjk_font()
sc = perfsim.load(nb.input_path(scenario, output_dir), seed=seed)
SOURCE = (f"perfsim; scenario {sc.name}, seed {seed}; synthetic portfolio of "
          f"{sc.portfolio.n_projects:,} projects")
rules = {
    f"Liupanshui 中 -{ratio:.0%}": {"linkage": {"rule": "liupanshui", "ratio": ratio}},
    "Liupanshui 中 -10%": {"linkage": {"rule": "liupanshui", "ratio": 0.10}},
    "Liupanshui 中 -20%": {"linkage": {"rule": "liupanshui", "ratio": 0.20}},
    f"redistribute to 优 (-{ratio:.0%})": {"linkage": {
        "rule": "liupanshui", "ratio": ratio, "pool": "redistribute", "recipients": ["excellent"]}},
    f"grade table 优 ×{reward}": {"linkage": {"rule": "grade_table", "multipliers": {
        "excellent": reward, "good": 1.0, "fair": 1 - ratio, "poor": 0.0}}},
    "score curve 0.8-1.1, floor 0.8": {"linkage": {
        "rule": "score_curve", "points": [[0, 0], [60, 0.8], [80, 1.0], [100, 1.1]],
        "floor": 0.8}},
}
nb.show(nb.changes_table(rules))  # each rule by the YAML paths it sets

# %% [markdown]
# ## 1. One year under six rules (单年比较)
#
# Money by grade: what each grade keeps, loses to cuts and cancellations, and gains from
# rewards. *Savings* is the money returned to the treasury (budget − next year's budget); a rule
# that redistributes its savings saves nothing and gives them to the 优 projects.

# %%
one_year = studies.year_variants(sc, rules)
nb.save_table(one_year.by_grade, "one_year_by_grade", output_dir)
nb.save_table(one_year.totals, "one_year_totals", output_dir)
fig = plots.bar_chart(one_year.totals, "variant", "savings", scale=1e8, horizontal=True,
                      title="各规则节约的资金 Savings returned to the treasury, one year",
                      xlabel="规则 linkage rule",
                      ylabel="节约资金 savings (亿元, 100 million yuan)",
                      source=SOURCE)
nb.save_figure(fig, "savings_by_rule", output_dir)
change = one_year.by_grade.assign(change=one_year.by_grade["next_budget"]
                                  - one_year.by_grade["budget"],
                                  grade=one_year.by_grade["grade_zh"] + " "
                                  + one_year.by_grade["grade"])
fig = plots.bar_chart(change, "variant", "change", hue="grade", scale=1e4,
                      title="各等级预算变动 Change in next year's budget by grade",
                      xlabel="规则 linkage rule",
                      ylabel="预算变动 change (万元, 10,000 yuan)", source=SOURCE,
                      figsize=(10, 5))
nb.save_figure(fig, "change_by_grade", output_dir)
nb.show(one_year.totals)

# %% [markdown]
# ## 2. Year after year (多年资金分配)
#
# Each replication follows the portfolio for `years` years: latent performance persists
# (AR(1)), self-evaluations are noisy, and a project rated 差 `escalation_years` years running is
# cancelled. Shown: next year's total budget of the evaluated portfolio, the number of projects
# still funded, and the Gini coefficient of the allocations (0 = equal, 1 = all to one project).

# %%
multi = studies.mc_variants(
    sc.set({"simulation.dynamics.escalation_years": escalation_years}),
    {name: rules[name] for name in list(rules)[:1] + list(rules)[3:5]},
    metrics=("next_total", "projects", "gini", "savings", "wrong_cuts"),
    replications=replications, years=years)
nb.save_table(multi, "results", output_dir)
fig = plots.line_chart(multi[multi["metric"] == "next_total"], "year", "mean", hue="variant",
                       low="p05", high="p95", scale=1e8,
                       title="多年预算总额 Next year's total budget over the years",
                       xlabel="年度 year", ylabel="下年预算 total (亿元, 100 million yuan)",
                       source=f"{SOURCE}; {replications} replications, 5-95% band")
nb.save_figure(fig, "total_by_year", output_dir)
fig = plots.line_chart(multi[multi["metric"] == "projects"], "year", "mean", hue="variant",
                       title="仍获资助的项目 Projects still funded",
                       xlabel="年度 year", ylabel="项目数 projects (count)",
                       source=f"{SOURCE}; {replications} replications")
nb.save_figure(fig, "active_by_year", output_dir)
nb.show(multi.pivot_table(index=["variant", "year"], columns="metric", values="mean"))

# %% [markdown]
# **Reading the results.** The cut ratio for 中 is the main lever on savings in year one;
# redistribution turns savings into rewards and concentrates money (a higher Gini). Over the
# years, cancellations compound: every cancelled project leaves the portfolio for good.
