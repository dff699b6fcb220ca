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

# %% [markdown] tags=["audience-training"]
# # 07 培训：改一条规则，看一看效果 — Training walkthrough: change one rule, see the effect
#
# *For performance managers (绩效管理人员).* This notebook walks through one budget year of the
# Liupanshui 2022 case and asks you to change one rule at a time. Each exercise has a question,
# a cell that runs the change, and an answer. Trainers: `perfsim notebooks run 07 -p
# show_answers false --no-code` gives a hand-out (answers and code hidden in the HTML);
# the default run is the key.
#
# The cycle in one line: performance targets (绩效目标) → dual monitoring (双监控) →
# self-evaluation (自评) → spot checks (抽查复核) → grades (优 良 中 差) → next year's budget
# (结果应用). Tables show money in 万元 or 亿元, as their headings say; 1 亿元 = 100 million
# yuan, 1 万元 = 10,000 yuan.
#
# *In JupyterLab* you may change the parameters below and re-run (Run → Run All Cells); the
# notebook uses no widgets so it also runs headless (`perfsim notebooks run 07`).

# %% tags=["parameters"]
scenario = "datasets/scenarios/liupanshui_2022.yaml"  # scenario, relative to the project root
seed = 2022  # seed of the synthetic portfolio
ratio = 0.15  # today's cut for projects rated 中
new_ratio = 0.20  # exercise 1: the proposed cut
quota = 0.2  # exercise 2: the largest share of projects rated 优
noise = 0.05  # exercise 4: self-evaluation noise (share of each leaf's points)
replications = 64  # exercise 4: Monte Carlo replications
show_answers = True  # show the answers (false: a hand-out version)
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
TODAY = {"linkage": {"rule": "liupanshui", "ratio": ratio}}

# %% [markdown]
# ## Step 1. Today's rule (现行规则)
#
# 3,468 projects were scored; the grades follow the national cutoffs (优 ≥ 90, 良 ≥ 80,
# 中 ≥ 60, 差 below 60). 优 and 良 keep their budgets, 中 is cut by `ratio`, 差 is cancelled.
# Look at the table: how many projects are in each grade, and how much money does each grade
# lose?

# %%
today = studies.year_variants(sc, {"today 现行": TODAY})
nb.save_table(today.by_grade, "today", output_dir)
nb.show(today.by_grade)

# %% [markdown]
# ## Exercise 1. Cut 中 by `new_ratio` instead (练习一：提高压减比例)
#
# **Question.** Before running the next cell, guess: how much more money is saved? Does any
# project change grade?

# %%
ex1 = studies.year_variants(sc, {
    f"cut 中 {ratio:.0%}": TODAY,
    f"cut 中 {new_ratio:.0%}": {"linkage": {"rule": "liupanshui", "ratio": new_ratio}},
})
fig = plots.bar_chart(ex1.totals, "variant", "savings", scale=1e6,
                      title="练习一 Exercise 1: savings at two cut ratios",
                      xlabel="规则 rule", ylabel="节约资金 savings (百万元, million yuan)",
                      source=SOURCE)
nb.save_figure(fig, "exercise1_savings", output_dir)
nb.answer(show_answers, fig, nb.show(ex1.totals[["variant", "cut", "cancelled", "savings"]]),
          text="""
**Answer 1.** No project changes grade: the ratio only decides how much a 中 project loses.
The extra saving is (new ratio − old ratio) × the budget held by 中 projects (the 中 row of
the grade table in Step 1), so each point of ratio moves one hundredth of that sum. The
cancellations of 差 projects do not change.
""")

# %% [markdown]
# ## Exercise 2. At most `quota` of projects may be rated 优 (练习二：优秀比例限制)
#
# **Question.** How many projects move from 优 to 良? Does any money move under today's rule?

# %%
ex2 = studies.year_variants(sc, {
    "no quota 无限制": TODAY,
    f"优 ≤ {quota:.0%}": {**TODAY, "grading": {"cutoffs": [90, 80, 60],
                                               "quotas": {"excellent": quota}}},
})
nb.answer(show_answers, nb.show(ex2.by_grade[["variant", "grade_zh", "grade", "projects",
                                              "budget", "next_budget"]]), text="""
**Answer 2.** The projects ranked below the quota drop from 优 to 良 (the best-scored keep
优). Under today's rule 优 and 良 are both "funding guaranteed", so **no money moves**: a
quota on 优 matters only when the linkage rule treats 优 and 良 differently — a reward for 优,
as in exercise 3.
""")

# %% [markdown]
# ## Exercise 3. Give the savings to 优 projects (练习三：节约资金奖励优秀项目)
#
# **Question.** Instead of returning the savings to the treasury, the bureau redistributes them
# to the projects rated 优 in proportion to their budgets. How much do the 优 projects gain in
# total, and what happens to the total budget?

# %%
ex3 = studies.year_variants(sc, {
    "to the treasury 上缴财政": TODAY,
    "to 优 projects 奖励优秀": {"linkage": {"rule": "liupanshui", "ratio": ratio,
                                          "pool": "redistribute", "recipients": ["excellent"]}},
})
nb.answer(show_answers, nb.show(ex3.totals[["variant", "cut", "cancelled", "rewarded",
                                            "savings", "next_budget"]]), text="""
**Answer 3.** Everything taken from 中 and 差 is handed to 优: the rewards equal the cuts plus
the cancellations, the savings fall to zero and the total budget stays the same to the yuan.
Now the quota of exercise 2 *does* move money — away from the projects pushed down to 良.
""")

# %% [markdown]
# ## Exercise 4. Scores are noisy (练习四：评分误差)
#
# **Question.** Suppose each self-evaluation is off by about `noise` × 100 points (one standard
# deviation). What share of projects gets the wrong grade, and how much money is cut from
# projects that truly deserve 优 or 良?

# %%
ex4 = studies.mc_variants(sc, {"today 现行": {**TODAY, "simulation.self_evaluation.noise": noise}},
                          metrics=("misgrading", "wrong_cuts"), replications=replications)
nb.answer(show_answers, nb.show(ex4), text="""
**Answer 4.** A few points of noise misgrade a large share of projects — those close to a
line — and good projects are cut by mistake (the `wrong_cuts` row). The fix is not
a different ratio but better scores: spot checks (notebook 06) and clear targets.
""")

# %%
results = studies.year_variants(sc, {
    "today 现行": TODAY,
    "exercise 1 练习一": {"linkage": {"rule": "liupanshui", "ratio": new_ratio}},
    "exercise 2 练习二": {**TODAY, "grading": {"cutoffs": [90, 80, 60],
                                               "quotas": {"excellent": quota}}},
    "exercise 3 练习三": {"linkage": {"rule": "liupanshui", "ratio": ratio,
                                     "pool": "redistribute", "recipients": ["excellent"]}},
}).totals
nb.save_table(results, "results", output_dir)
nb.show(results)

# %% [markdown]
# ## Summary (小结)
#
# - The cut ratio is a precise lever on savings; it changes nobody's grade.
# - Quotas change grades; they move money only if the rule rewards the top grade.
# - Where the savings go (treasury or rewards) decides whether the total budget shrinks.
# - Noisy scores put money in the wrong place whatever the rule: invest in checking.
