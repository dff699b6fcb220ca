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

# %% [markdown] tags=["audience-training"]
# # 07 培训：改一条规则，看一看效果 — Training walkthrough: change one rule, see the effect
#
# > 改一条规则（压减比例、优秀比例、奖励去向、评分误差），资金分配怎样变化？
# > — Change one rule (the cut ratio, a quota on 优, where savings go, noisy scores): how does
# > the money move?
#
# *供绩效管理人员培训使用。* 本笔记本以六盘水2022年案例的一个预算年度为例，每次只改一条规则，
# 看资金分配怎样变化。每个练习先提出问题，请先猜一猜，再看答案。
#
# 全流程：绩效目标 → 双监控 → 自评 → 抽查复核 → 评定等级（优 良 中 差）→ 下年预算（结果应用）。
# 表格金额以万元或亿元表示（见表头）：1亿元 = 1万万元 = 100,000,000元。
#
# *For performance managers. One budget year of the Liupanshui 2022 case; change one rule at a
# time and see where the money goes. Each exercise asks a question: guess first, then read the
# answer. Money is in 万元 (10,000 yuan) or 亿元 (100 million yuan), as the headings say.*
#
# 在 JupyterLab 中可修改下方参数后重新运行 (Run → Run All Cells), 或使用结尾的模拟面板
# (or change the parameters below and run all cells again, or use the what-if panel at the end).

# %% [markdown] tags=["trainer"]
# 培训讲师 Trainers: `perfsim notebooks run 07 -p show_answers false` 生成不含答案的讲义
# (a hand-out: answers removed from the report, from the notebook saved beside it and from its
# tables); the default run is the key (答案版).

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
key_dir = nb.answers_dir(show_answers, output_dir)  # answers are saved in the key only

# %% [markdown]
# ## 第一步 现行规则 — Step 1. Today's rule
#
# 3,468个项目按全国通用分档评级：优 ≥ 90，良 ≥ 80，中 ≥ 60，差 < 60。“优”“良”保持预算，
# “中”按 `ratio` 压减，“差”取消。看下表：每个等级有多少项目？各等级减少多少资金？
#
# *3,468 projects graded on the national cutoffs (优 ≥ 90, 良 ≥ 80, 中 ≥ 60, 差 below 60). 优
# and 良 keep their budgets, 中 is cut by `ratio`, 差 is cancelled. How many projects are in
# each grade, and how much money does each grade lose?*

# %%
today = studies.year_variants(sc, {"today 现行": TODAY})
nb.save_table(today.by_grade, "today", output_dir)
nb.show(today.by_grade)

# %% [markdown]
# ## 练习一 提高压减比例 — Exercise 1. Cut 中 by `new_ratio` instead
#
# **问题 Question.** 先猜一猜：能多节约多少资金？有没有项目的等级发生变化？
# *Guess first: how much more money is saved? Does any project change grade?*

# %%
ex1 = studies.year_variants(sc, {
    f"cut 中 {ratio:.0%}": TODAY,
    f"cut 中 {new_ratio:.0%}": {"linkage": {"rule": "liupanshui", "ratio": new_ratio}},
})

# %% tags=["answer"]
fig = plots.bar_chart(ex1.totals, "variant", "savings", scale=1e4,
                      title="练习一 Exercise 1: savings at two cut ratios",
                      xlabel="规则 rule", ylabel="节约资金 savings (万元, 10,000 yuan)",
                      source=SOURCE)
nb.save_figure(fig, "exercise1_savings", key_dir)
nb.answer(show_answers, fig, nb.show(ex1.totals[["variant", "cut", "cancelled", "savings"]]))

# %% [markdown] tags=["answer"]
# **答案一。** 没有项目改变等级：比例只决定“中”等级项目减少多少。多节约的金额 =（新比例 −
# 原比例）×“中”等级项目的预算总额（第一步表中“中”一行），比例每提高一个百分点，多节约该总额的
# 百分之一。“差”等级的取消额不变。
#
# *Answer 1. No project changes grade: the ratio only decides how much a 中 project loses.
# The extra saving is (new ratio − old ratio) × the budget held by 中 projects (the 中 row of
# the grade table in Step 1), so each point of ratio moves one hundredth of that sum. The
# cancellations of 差 projects do not change.*

# %% [markdown]
# ## 练习二 优秀比例限制 — Exercise 2. At most `quota` of projects may be rated 优
#
# **问题 Question.** 有多少项目从“优”降为“良”？按现行规则，有没有资金因此变动？
# *How many projects move from 优 to 良? Does any money move under today's rule?*

# %%
ex2 = studies.year_variants(sc, {
    "no quota 无限制": TODAY,
    f"优 ≤ {quota:.0%}": {**TODAY, "grading": {"cutoffs": [90, 80, 60],
                                               "quotas": {"excellent": quota}}},
})

# %% tags=["answer"]
nb.answer(show_answers, nb.show(ex2.by_grade[["variant", "grade_zh", "grade", "projects",
                                              "budget", "next_budget"]]))

# %% [markdown] tags=["answer"]
# **答案二。** 排在比例限制之外的项目从“优”降为“良”（得分最高的保留“优”）。按现行规则
# “优”“良”都保障资金，所以**没有资金变动**：只有当挂钩规则对“优”和“良”区别对待（例如奖励
# “优”，见练习三）时，优秀比例限制才影响资金。
#
# *Answer 2. The projects ranked below the quota drop from 优 to 良 (the best-scored keep 优).
# Under today's rule 优 and 良 are both "funding guaranteed", so no money moves: a quota on
# 优 matters only when the linkage rule treats 优 and 良 differently — a reward for 优, as in
# exercise 3.*

# %% [markdown]
# ## 练习三 节约资金奖励优秀项目 — Exercise 3. Give the savings to 优 projects
#
# **问题 Question.** 节约的资金不再上缴财政，而是按预算比例奖励给“优”等级项目。“优”等级项目
# 共得到多少？预算总额怎样变化？
# *Instead of returning the savings to the treasury, the bureau redistributes them to the
# projects rated 优 in proportion to their budgets. How much do the 优 projects gain in total,
# and what happens to the total budget?*

# %%
ex3 = studies.year_variants(sc, {
    "to the treasury 上缴财政": TODAY,
    "to 优 projects 奖励优秀": {"linkage": {"rule": "liupanshui", "ratio": ratio,
                                          "pool": "redistribute", "recipients": ["excellent"]}},
})

# %% tags=["answer"]
nb.answer(show_answers, nb.show(ex3.totals[["variant", "cut", "cancelled", "rewarded",
                                            "savings", "next_budget"]]))

# %% [markdown] tags=["answer"]
# **答案三。** 从“中”“差”减少的资金全部转给“优”：奖励额等于压减额加取消额，节约额降为零，
# 预算总额分文不变。这时练习二的优秀比例限制**就会**影响资金——被降为“良”的项目拿不到奖励。
#
# *Answer 3. Everything taken from 中 and 差 is handed to 优: the rewards equal the cuts plus
# the cancellations, the savings fall to zero and the total budget stays the same to the
# yuan. Now the quota of exercise 2 does move money — away from the projects pushed down to
# 良.*

# %% [markdown]
# ## 练习四 评分误差 — Exercise 4. Scores are noisy
#
# **问题 Question.** 假设每份自评约有 `noise` × 100 分的误差（一个标准差）。有多少比例的项目
# 被评错等级？本应得“优”“良”的项目被压减了多少资金？
# *Suppose each self-evaluation is off by about `noise` × 100 points (one standard deviation).
# What share of projects gets the wrong grade, and how much money is cut from projects that
# truly deserve 优 or 良?*

# %%
ex4 = studies.mc_variants(sc, {"today 现行": {**TODAY, "simulation.self_evaluation.noise": noise}},
                          metrics=("misgrading", "wrong_cuts"), replications=replications)

# %% tags=["answer"]
nb.answer(show_answers, nb.show(ex4))

# %% [markdown] tags=["answer"]
# **答案四。** 几分的误差就会让相当一部分项目——靠近分档线的项目——被评错等级，本应得好等级的
# 项目被误减（`wrong_cuts` 一行）。对策不是换一个比例，而是提高评分质量：抽查复核（笔记本06）
# 和清晰的绩效目标。
#
# *Answer 4. A few points of noise misgrade a large share of projects — those close to a line
# — and good projects are cut by mistake (the `wrong_cuts` row). The fix is not a different
# ratio but better scores: spot checks (notebook 06) and clear targets.*

# %% [markdown] tags=["answer"]
# ## 四个练习汇总 — The exercises side by side

# %% tags=["answer"]
results = studies.year_variants(sc, {
    "today 现行": TODAY,
    "exercise 1 练习一": {"linkage": {"rule": "liupanshui", "ratio": new_ratio}},
    "exercise 2 练习二": {**TODAY, "grading": {"cutoffs": [90, 80, 60],
                                               "quotas": {"excellent": quota}}},
    "exercise 3 练习三": {"linkage": {"rule": "liupanshui", "ratio": ratio,
                                     "pool": "redistribute", "recipients": ["excellent"]}},
}).totals
nb.save_table(results, "results", key_dir)
nb.answer(show_answers, nb.show(results))

# %% [markdown]
# ## 试一试 — Try it yourself
#
# 在 JupyterLab 中运行本笔记本时，下面的面板就是 `perfsim app` 的同一个模拟面板：移动压减比例、
# 分档线、优秀比例、奖励去向或抽查比例，节约资金、等级分布和各部门的增减随即更新；也可以上传
# 本单位的项目表。
#
# *In JupyterLab the panel below is the what-if page of `perfsim app`: move the cut ratio, the
# cutoffs, the quota on 优, where the savings go or the spot-check share, and the savings, the
# grades and each department's gain or loss update at once; you may also upload your own
# portfolio. (In the HTML report the panel is replaced by a note: widgets need a live
# kernel.)*

# %% tags=["interactive"]
from perfsim.app import whatif

whatif.panel(sc)

# %% [markdown] tags=["answer"]
# ## 小结 — Summary
#
# - 压减比例是调节节约额的精确杠杆，但不改变任何项目的等级。
#   *The cut ratio is a precise lever on savings; it changes nobody's grade.*
# - 优秀比例限制改变等级；只有规则奖励最高等级时才影响资金。
#   *Quotas change grades; they move money only if the rule rewards the top grade.*
# - 节约资金的去向（上缴财政还是奖励）决定预算总额是否减少。
#   *Where the savings go (treasury or rewards) decides whether the total budget shrinks.*
# - 评分有误差时，无论什么规则都会把钱放错地方：要在复核上投入。
#   *Noisy scores put money in the wrong place whatever the rule: invest in checking.*
