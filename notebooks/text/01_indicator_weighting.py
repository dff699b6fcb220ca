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
# # 01 指标设计与赋权方案比较 — Indicator design and weighting schemes compared
#
# > 客观赋权（熵权法、CRITIC、PCA）与专家分值对项目的排序有何不同？权重变化时谁的资金会变动？
# > — Do objective weights (entropy, CRITIC, PCA) rank projects differently from expert points,
# > and whose money moves when the weights change?
#
# **Question.** An indicator system (指标体系) splits 100 points among first-level indicators
# (产出 outputs, 效益 benefits, 满意度 satisfaction, 预算执行 budget execution) and their leaves.
# Finance sets the common indicators' points; researchers ask whether *objective* weights
# (熵权法 entropy, CRITIC, PCA) or expert points rank projects differently, and whose money moves
# when the weights change.
#
# **How.** One synthetic portfolio at Liupanshui 2021 scale (3,468 projects, 561 departments,
# 22.536 billion yuan) with raw measurements of the national project self-evaluation template
# is scored, graded (优 ≥ 90, 良 ≥ 80, 中 ≥ 60, 差) and linked (Liupanshui 2022 rule: 中 cut 15%,
# 差 cancelled) under six weighting schemes with `perfsim.schemes.compare_schemes`. Then a
# Monte Carlo asks how stable the ranking is when the expert points themselves are uncertain.
#
# Run it with `perfsim notebooks run 01` (add `-p seed 7` etc.); the parameters are below.

# %% tags=["parameters"]
scenario = "datasets/scenarios/weighting_comparison.yaml"  # scenario, relative to the project root
seed = 2021  # seed of the synthetic portfolio and of the Monte Carlo
replications = 100  # Monte Carlo replications for the weight-uncertainty study
weight_concentration = 200.0  # Dirichlet concentration of uncertain expert weights (higher: surer)
skewed_leaf = "OUT.COST.1"  # the leaf whose tail is treated before entropy weighting
winsorise_upper = 0.95  # its values above this quantile are set to it (winsorising)
bounds = {"leaves": {"default": [0.02, 0.20], "SAT": [0.05, 0.15]},
          "groups": {"OUT": [0.30, 0.60], "BEN": [0.20, 0.40]}}  # weight shares allowed (BoD, SMAA)
smaa_draws = 10000  # weight draws for the rank acceptability (SMAA-2)
value_noise = 0.05  # relative uncertainty of each attainment value in the rank intervals (±5%)
exclusion = 0.1  # probability that a draw of the rank intervals drops one leaf
top_projects = 10  # projects shown in the rank-acceptability heat map
departments_shown = 3  # departments given a one-page report (those losing most)
output_dir = ""  # set by `perfsim notebooks run`; empty: show results, save nothing

# %%
import perfsim
from perfsim import notebooks as nb
from perfsim.analyse import departments, robust
from perfsim.model import weights
from perfsim.present import plots, report
from perfsim.run import compare as schemes
from perfsim.run import variants as studies

plots.use_cjk_font()
sc = perfsim.load(nb.input_path(scenario, output_dir), seed=seed)
nb.needs_measurements(sc)
SOURCE = f"perfsim; scenario {sc.name}, seed {seed}; synthetic portfolio, {sc.portfolio}"
print(sc.description)

# %% [markdown]
# ## 1. The expert points written in the indicator file (专家赋分)
#
# The national template gives outputs 50, benefits 30, satisfaction 10 and budget execution 10
# points. These are the `expert` scheme, the reference for everything below.

# %%
groups = schemes.weights_frame(sc.system, "groups")
nb.save_table(groups, "expert_groups", output_dir)
fig = plots.bar_chart(groups.assign(label=groups["name_zh"] + " " + groups["code"]),
                      "label", "points",
                      title="一级指标分值 Points of the first-level indicators (expert)",
                      xlabel="一级指标 first-level indicator",
                      ylabel="分值 points (of 100)", source=f"{SOURCE}; {sc.system.source}")
nb.save_figure(fig, "expert_points", output_dir)
nb.show(groups)

# %% [markdown]
# ## 2. Six weighting schemes on the same portfolio (赋权方案比较)
#
# `expert` (the file's points), `equal`, the objective methods `entropy`, `critic` and `pca`,
# and `expert+entropy` (half and half), each applied to the first-level groups and to the
# leaves within each group. For every scheme: the grade counts, Spearman's ρ of the scores with
# the expert ranking, how many projects change grade, and the money moved between departments.

# %%
comparison = schemes.compare_schemes(sc)
results = comparison.summary
nb.save_table(results, "results", output_dir)
nb.save_table(comparison.weights, "weights", output_dir)
nb.save_table(comparison.departments, "departments", output_dir)
nb.show(results.drop(columns=["description"]))

# %%
ax = plots.plot_scheme_comparison(comparison, kind="grades")
nb.save_figure(ax.figure, "grades_by_scheme", output_dir)

# %%
ax = plots.plot_scheme_comparison(comparison, kind="correlations")
nb.save_figure(ax.figure, "rank_correlations", output_dir)

# %%
ax = plots.plot_scheme_comparison(comparison, kind="money")
nb.save_figure(ax.figure, "money_moved", output_dir)

# %% [markdown]
# How projects move between grades when the entropy weights replace the expert points (rows:
# grade under the expert points; columns: grade under entropy weights):

# %%
nb.show(comparison.transition_matrix("entropy"))

# %% [markdown]
# ## 3. How stable is the ranking when the expert points are uncertain? (权重不确定性)
#
# Experts rarely agree to the point. Here each replication draws the leaf weights from a
# Dirichlet distribution centred on the file's points (`weight_concentration` sets how tightly),
# and the self-evaluation process is simulated around each project's true performance. The rank
# stability is Spearman's ρ between the graded scores and the true scores; misgrading is the
# share of projects whose grade differs from the grade their true score deserves.

# %%
uncertainty = studies.mc_variants(
    sc, {"fixed expert points 固定权重": {},
         "uncertain expert points 权重不确定": {
             "simulation.uncertainty.weights": "dirichlet",
             "simulation.uncertainty.concentration": weight_concentration}},
    metrics=("rank_stability", "misgrading", "wrong_cuts"), replications=replications)
nb.save_table(uncertainty, "weight_uncertainty", output_dir)
fig = plots.bar_chart(uncertainty[uncertainty["metric"] == "misgrading"], "variant", "mean",
                      title="误评率 Misgrading with fixed and uncertain expert weights",
                      xlabel="权重 weights", ylabel="误评率 share of projects misgraded (0-1)",
                      source=f"{SOURCE}; {replications} replications, mean over replications")
nb.save_figure(fig, "misgrading_weight_uncertainty", output_dir)
nb.show(uncertainty)

# %% [markdown]
# ## 4. Treat the data before weighting (数据预处理)
#
# Objective weights follow the spread of the data, so one long tail can decide them. COINr's
# practice is to winsorise or log-transform skewed indicators first. Below, the leaf-tier
# entropy weights without treatment, with `skewed_leaf` winsorised at `winsorise_upper`, and
# with every leaf treated by COINr's rule (winsorise while |skewness| > 2 and kurtosis > 3.5,
# else a log transform); the record of what was done to each leaf follows.

# %%
ENTROPY = {"method": "entropy"}
WINSORISED = {**ENTROPY, "treatment": {"indicators": {
    skewed_leaf: {"method": "winsorise", "lower": 0, "upper": winsorise_upper}}}}
AUTO = {**ENTROPY, "treatment": {"method": "auto"}}
treated = studies.policy_table({
    name: schemes.weights_frame(weights.apply_weighting(sc.system, {"leaves": spec},
                                                        sc.portfolio), "leaves")
    for name, spec in (("untreated 未处理", ENTROPY), (f"{skewed_leaf} winsorised 缩尾",
                                                        WINSORISED),
                       ("COINr rule 自动处理", AUTO))
}, name="treatment")
nb.save_table(treated, "treatment_weights", output_dir)
fig = plots.bar_chart(treated, "code", "points", hue="treatment",
                      title="数据预处理与熵权 Entropy weights before and after treatment",
                      xlabel="三级指标 leaf", ylabel="分值 points (of 100)", source=SOURCE,
                      figsize=(10, 4.5))
nb.save_figure(fig, "treatment_weights", output_dir)
nb.show(treated.pivot_table(index="code", columns="treatment", values="points", sort=False))

# %% [markdown]
# ## 5. Which indicators measure the same thing? (冗余诊断)
#
# Correlations within and between the first-level groups (pairs above 0.9 flagged redundant,
# below −0.4 contrary), Cronbach's alpha and the first principal component of each group, and
# each leaf's *effective* weight — its squared correlation with the total score, as a share —
# against its nominal points (`perfsim diagnose` prints the same).

# %%
diagnosis = perfsim.diagnose(sc)
nb.save_table(diagnosis.groups, "diagnosis_groups", output_dir)
nb.save_table(diagnosis.indicators, "diagnosis_indicators", output_dir)
nb.show(diagnosis.groups)

# %%
nb.show(diagnosis.indicators)

# %% [markdown]
# ## 6. Weights without arbitrariness: benefit of the doubt and SMAA (稳健性)
#
# *Benefit of the doubt* gives every project its most favourable weights within `bounds`
# (each leaf's and group's share of the total weight): a project scoring 1 is best under some
# admissible weights. *SMAA-2* draws `smaa_draws` admissible weights and counts how often each
# project takes each rank (its rank acceptability): a ranking is robust where a project holds
# its rank under most weights. The heat map shows the best `top_projects` projects of the
# file's own ranking.

# %%
bod = robust.benefit_of_the_doubt(sc, bounds=bounds)
nb.save_table(bod.table, "bod_scores", output_dir)
nb.show(bod.table.sort_values("bod_rank").head(top_projects))

# %%
acceptability = robust.smaa(sc, draws=smaa_draws, bounds=bounds, top=top_projects)
nb.save_table(acceptability.table, "smaa", output_dir)
fig = plots.rank_acceptability(acceptability, top=top_projects, source=f"{SOURCE}; "
                               f"{smaa_draws:,} weight draws within the bounds")
nb.save_figure(fig, "rank_acceptability", output_dir)
nb.show(acceptability.departments.sort_values("expected_rank").head(top_projects))

# %% [markdown]
# ### Rank intervals when the values are uncertain too (排名区间)
#
# The draws above vary the weights only. Below, each draw also multiplies every attainment
# value by 1 + u, u uniform within ±`value_noise` (measurement error), and with probability
# `exclusion` drops one leaf (its weight shared among the others, as the system shares the
# points of a leaf it removes). Each project's bar runs from the 5th to the 95th percentile of
# its rank over the draws, the dot is its median rank and the cross its rank under the file's
# points. The table adds SMAA-2's holistic acceptability (rank acceptabilities weighted by
# centroid meta-weights) and confidence factor (how often the project's own central weights
# keep it first when only the values vary; Lahdelma & Salminen 2001).

# %%
uncertain = robust.smaa(sc, draws=smaa_draws, bounds=bounds, top=top_projects,
                        noise=value_noise, exclude=exclusion)
nb.save_table(uncertain.table, "smaa_uncertain", output_dir)
fig = plots.rank_intervals(uncertain, top=3 * top_projects,
                           source=f"{SOURCE}; {smaa_draws:,} draws within the bounds, values "
                                  f"±{value_noise:.0%}, one leaf dropped in {exclusion:.0%}")
nb.save_figure(fig, "rank_intervals", output_dir)
nb.show(uncertain.table.sort_values("rank_median").head(top_projects))

# %% [markdown]
# ### Leave one indicator out (逐一剔除指标)
#
# Each leaf is removed in turn, its points spread over the leaves left in proportion (as
# `indicators.remove` does), and the portfolio is scored and graded again. For each leaf: the
# mean and the largest shift of a project's rank, and the share of projects whose grade
# changes. A leaf whose removal moves few ranks adds little the others do not already say.

# %%
loo = robust.leave_one_out(sc)
nb.save_table(loo.table, "leave_one_out", output_dir)
fig = plots.bar_chart(loo.table, "code", "mean_abs_shift",
                      title="逐一剔除指标 Leave one out: mean rank shift per leaf removed",
                      xlabel="剔除的三级指标 leaf removed",
                      ylabel="平均名次变动 mean |rank shift| (ranks)",
                      source=f"{SOURCE}; the leaf's points spread over the rest in proportion",
                      figsize=(10, 4.5))
nb.save_figure(fig, "leave_one_out", output_dir)
nb.show(loo.table.sort_values("mean_abs_shift", ascending=False))

# %% [markdown]
# ## 7. One page per department (部门报告)
#
# For the `departments_shown` departments losing most under the file's weights: their
# projects by grade, the money they gain or lose, and their strongest and weakest indicators
# against the portfolio (`perfsim report departments` writes the same for any department).

# %%
year = sc.run_year()
profiles = departments.department_profiles(
    sc, year, departments.most_affected(year, departments_shown))
nb.save_table(profiles.summary, "department_profiles", output_dir)
pages = nb.output_path("departments", output_dir)
if pages is not None:
    report.write_department_reports(profiles, year, pages, source=SOURCE)
nb.show(profiles.summary)

# %% [markdown]
# **Reading the results.** Objective weights reward indicators on which projects *differ*, not
# the ones policy cares about: where projects all score alike (e.g. satisfaction), entropy gives
# almost no weight. A scheme with ρ close to 1 against the expert ranking can still move a few
# hundred projects across the 90/80/60 lines — and the money follows the grades. Treating a
# skewed indicator can move its objective weight a long way in either direction, so record
# the treatment with the weights. Highly correlated leaves add little information and double
# the weight of what they share; a group's alpha and first component say how much it measures
# one thing. Benefit of the doubt and SMAA ask whether a ranking holds under any reasonable
# weights: where the top ranks are contested, grades near a line deserve caution; wide rank
# intervals under a few percent of measurement error say the same of the values. Leaving one
# leaf out shows which leaves carry the ranking and which merely repeat the others. Try
# `-p seed ...` for another synthetic portfolio, or point `scenario` at your own file.
