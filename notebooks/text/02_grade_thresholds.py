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
# # 02 等级划分：扎堆、配额与误评 — Grade thresholds: bunching, quotas, misgrading under noise
#
# > 项目离分档线有多近？优秀比例限制改变什么？评分有误差时，多少项目被评错等级并因此损失资金？
# > — Where do projects sit relative to the grade lines, what do quotas change, and how many
# > projects are misgraded — and lose money — when scores are noisy?
#
# **Question.** Grades come from fixed cutoffs (national default 优 ≥ 90, 良 ≥ 80, 中 ≥ 60,
# 差 below), sometimes with a quota ("at most 20% 优") or a forced distribution. The documents
# complain that almost nobody fails, 优秀 is rationed and everyone bunches in the middle
# grades; and evaluation scores are noisy. Where do the projects sit relative to the lines,
# what do quotas change, and how many projects get the wrong grade — and lose money for it —
# as the noise grows?
#
# **How.** The Liupanshui 2022 scenario (3,468 projects; 中 cut 15%, 差 cancelled) is graded
# under three grading rules for one year; then a Monte Carlo of self-evaluation noise counts
# misgraded projects and wrongful cuts.

# %% tags=["parameters"]
scenario = "datasets/scenarios/liupanshui_2022.yaml"  # scenario, relative to the project root
seed = 2022  # seed of the synthetic portfolio and of the Monte Carlo
replications = 200  # Monte Carlo replications per noise level
noise_levels = [0.0, 0.02, 0.05, 0.1]  # simulation.self_evaluation.noise values (sd)
quota_excellent = 0.2  # quota: the largest share of projects rated 优
bunching_width = 2.0  # points either side of a cutoff counted as just below or just above
output_dir = ""  # set by `perfsim notebooks run`; empty: show results, save nothing

# %%
import perfsim
from perfsim import notebooks as nb
from perfsim.present import plots
from perfsim.run import variants as studies
from perfsim.run.year import run_year

plots.use_cjk_font()
sc = perfsim.load(nb.input_path(scenario, output_dir), seed=seed)
SOURCE = (f"perfsim; scenario {sc.name}, seed {seed}; synthetic portfolio of "
          f"{sc.portfolio.n_projects:,} projects")
cutoffs = nb.cutoffs(sc)
year = run_year(sc)
nb.show(year.by_grade)

# %% [markdown]
# ## 1. Where the scores sit: bunching at the lines (扎堆)
#
# The dashed lines are the cutoffs. `bunching` counts projects within `bunching_width` points
# below and above each line; a ratio well above 1 means scores pile up just over the line, the
# mark of lenient scoring or of self-evaluations written to the grade. Read the ratio against
# the histogram: where the distribution is flat a smooth one gives about 1, but on a steep
# tail (the 60 line here, with few projects) the slope alone moves it far from 1. The
# synthetic scores have no bunching by construction — set `scenario` to a file with real
# scores.

# %%
fig = plots.histogram(year.allocations["score"], bins=80, lines=cutoffs,
                      title="得分分布与等级线 Scores and the grade cutoffs",
                      xlabel="得分 score (points)", ylabel="项目数 projects (count)",
                      source=SOURCE)
nb.save_figure(fig, "score_distribution", output_dir)
bunch = studies.line_counts(year.allocations["score"], cutoffs, width=bunching_width)
nb.save_table(bunch, "bunching", output_dir)
nb.show(bunch, units={"ratio": "times"})  # above ÷ below: a ratio of counts, not a share

# %% [markdown]
# ## 2. Cutoffs, quotas and forced distributions (配额与强制分布)
#
# The same scores graded three ways: the national cutoffs; the cutoffs with at most
# `quota_excellent` of projects rated 优 (those beyond the quota move down one grade, ties going
# to the project listed first); and a pure forced distribution by rank (20% 优, 30% 良, 40% 中,
# the rest 差). The money follows the grades through the Liupanshui rule.

# %%
gradings = studies.year_variants(sc, {
    "national cutoffs 国家标准": {},
    f"quota 优 ≤ {quota_excellent:.0%}": {"grading": {
        "cutoffs": cutoffs, "quotas": {"excellent": quota_excellent}}},
    "forced distribution 强制分布": {"grading": {
        "cutoffs": None, "quotas": {"excellent": 0.2, "good": 0.3, "fair": 0.4}}},
})
nb.save_table(gradings.by_grade, "grades_by_rule", output_dir)
nb.save_table(gradings.totals, "totals_by_rule", output_dir)
fig = plots.bar_chart(gradings.by_grade.assign(grade=gradings.by_grade["grade_zh"] + " "
                                               + gradings.by_grade["grade"]),
                      "variant", "share", hue="grade", stacked=True,
                      title="不同评级规则下的等级分布 Grades under three grading rules",
                      xlabel="评级规则 grading rule", ylabel="项目占比 share of projects (0-1)",
                      source=SOURCE)
nb.save_figure(fig, "grades_by_rule", output_dir)
nb.show(gradings.totals)

# %% [markdown]
# ## 3. Misgrading under noise (噪声下的误评)
#
# Each replication draws every project's self-evaluation around its true performance with the
# given noise (standard deviation as a share of each leaf's points). *Misgrading* is the share
# of projects whose grade differs from the grade their true score deserves; *wrong cuts* are the
# yuan cut or cancelled from projects that truly deserve 优 or 良; *kept by poor* the yuan
# left with projects that truly deserve 差. Means and 5–95% intervals over replications.

# %%
NOISE = "simulation.self_evaluation.noise"
noise = studies.settings_grid(sc, {NOISE: noise_levels}, replications=replications,
                              metrics=("misgrading", "wrong_cuts", "kept_by_poor"))
nb.save_table(noise, "results", output_dir)
fig = plots.line_chart(noise[noise["metric"] == "misgrading"], NOISE, "mean",
                       low="p05", high="p95",
                       title="评分噪声与误评率 Misgrading as evaluation noise grows",
                       xlabel="自评噪声 self-evaluation noise (sd, share of points)",
                       ylabel="误评率 share of projects misgraded (0-1)",
                       source=f"{SOURCE}; {replications} replications, 5-95% band")
nb.save_figure(fig, "misgrading_by_noise", output_dir)
fig = plots.line_chart(noise[noise["metric"] == "wrong_cuts"], NOISE, "mean",
                       low="p05", high="p95", scale=1e4,
                       title="误减资金 Money wrongly cut from projects that deserve 优/良",
                       xlabel="自评噪声 self-evaluation noise (sd, share of points)",
                       ylabel="误减金额 wrong cuts (万元, 10,000 yuan)",
                       source=f"{SOURCE}; {replications} replications, 5-95% band")
nb.save_figure(fig, "wrong_cuts_by_noise", output_dir)
nb.show(noise)

# %% [markdown]
# **Reading the results.** A quota moves projects from 优 to 良 but — under the Liupanshui
# rule, which treats 优 and 良 alike — moves no money; a forced distribution that puts 10% of
# projects in 差 cancels their budgets whatever their scores. Noise misgrades mostly the projects
# near a line, and because the 80-point line separates kept money from cut money, a few points
# of noise are enough to cut good projects by mistake.
