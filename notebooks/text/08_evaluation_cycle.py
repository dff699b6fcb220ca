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
# # 08 评价闭环 — The evaluation cycle: rectification, pre-evaluation, evaluators
#
# > 整改、事前绩效评估、评价主体和评价范围的组合，在五年内如何改变误减资金、节约资金和评价成本？
# > — How do rectification, pre-evaluation, the mix of evaluators and who is evaluated change
# > wrong cuts, savings and the cost of evaluation over five years?
#
# **Question.** Bureaus do not only grade and cut. A project graded 差 is told to rectify
# (整改), and "poor and not rectified" is what gets reduced, up to cancellation (Jinan).
# Before money is granted, requests are pre-evaluated (事前绩效评估) and the weak ones reduced,
# postponed or rejected (Liupanshui). And who evaluates — the units themselves, finance, an
# intermediary or a third party — decides how noisy the grades are and what evaluation
# costs. What does each lever buy, and at what price, once the cycle runs for several years?
#
# **How.** Three Monte Carlo studies from the bundled source scenarios, each over `years`
# years: (1) the Jinan rule with the rectification probability varied; (2) the Liupanshui
# 2022 pre-evaluation with the experts' noise varied; (3) the Jinan portfolio with a share of
# projects re-checked by a priced evaluator. Where the Jinan file keeps 中 whole, the studies
# cut 中 by `fair_cut` (as Liupanshui does) so that grading errors cost money and wrong cuts
# can be seen. Two more studies ask who is evaluated at all: (4) Xinjian district's coverage
# rule — projects above a size line self-evaluate — with the line moved; (5) cross-year
# projects judged annually, by stage or at completion.

# %% tags=["parameters"]
scenario = "datasets/scenarios/jinan.yaml"  # scenario with rectification, from the project root
pre_evaluation_scenario = "datasets/scenarios/liupanshui_2022_pre_evaluation.yaml"  # with a gate
seed = 9  # seed of the synthetic portfolio and of the Monte Carlo
pre_evaluation_seed = 2022  # seed of the pre-evaluation scenario (its thresholds fit it)
years = 5  # years simulated
replications = 100  # Monte Carlo replications per variant
fair_cut = 0.15  # share cut from projects graded 中 (the Jinan file keeps them whole)
probabilities = [0.0, 0.5, 1.0]  # linkage.rectification.probability values
expert_noise = [0.0, 5.0, 10.0]  # linkage.pre_evaluation.noise values (points, sd)
check_shares = [0.0, 0.2, 0.5, 1.0]  # simulation.spot_check.share values (share re-checked)
cost_self = 2000  # yuan per self-evaluation
cost_recheck = 30000  # yuan per re-check by finance, an intermediary or a third party
coverage_scenario = "datasets/scenarios/xinjian.yaml"  # scenario with a coverage rule
coverage_lines = [0, 500000, 1000000, 2000000]  # linkage.coverage.min_budget values (yuan)
cross_year_scenario = "datasets/scenarios/cross_year_s8.yaml"  # with cross-year projects
cross_year_lag = 0.3  # share of a cross-year project's results shown only at completion
output_dir = ""  # set by `perfsim notebooks run`; empty: show results, save nothing

# %%
import perfsim
from perfsim import notebooks as nb
from perfsim.present import plots
from perfsim.run import variants as studies

plots.use_cjk_font()
sc = perfsim.load(nb.input_path(scenario, output_dir), seed=seed)
pre = perfsim.load(nb.input_path(pre_evaluation_scenario, output_dir), seed=pre_evaluation_seed)
covered = perfsim.load(nb.input_path(coverage_scenario, output_dir))
cross = perfsim.load(nb.input_path(cross_year_scenario, output_dir))
SOURCE = (f"perfsim; scenarios {sc.name} (seed {seed}) and {pre.name} "
          f"(seed {pre_evaluation_seed}); "
          f"{replications} replications, 5-95% band")
SOURCE_WHO = (f"perfsim; scenarios {covered.name} and {cross.name}; "
              f"{replications} replications, 5-95% band")
CUT = {"linkage.multipliers.fair": 1 - fair_cut}
PRICED = {**CUT, "simulation.cost.self_evaluation": cost_self,
          "simulation.cost.recheck": cost_recheck}

# %% [markdown]
# ## 1. Rectification (整改): who is told, who rectifies, what is cut
#
# Every project graded 差 is fed back. With probability `p` it rectifies within the deadline
# and keeps its budget; otherwise it is halved, and cancelled when left unrectified a second
# year in a row. A rectified project's performance rises a little the next year. *Savings*
# are the budget taken away each year (monitoring recoveries included); *wrong cuts* the
# yuan cut or cancelled from projects that truly deserve 优 or 良.

# %%
PROB = "linkage.rectification.probability"
rect = studies.settings_grid(sc, {PROB: probabilities}, policies={"中 cut": CUT},
                             replications=replications, years=years,
                             metrics=("savings", "cancelled_total", "wrong_cuts",
                                      "count_unrectified"))
fig = plots.line_chart(rect[rect["metric"] == "savings"], "year", "mean", hue=PROB,
                       low="p05", high="p95", scale=1e4,
                       title="整改概率与节约资金 Savings by rectification probability",
                       xlabel="年度 year", ylabel="节约资金 savings (万元, 10,000 yuan)",
                       source=SOURCE)
nb.save_figure(fig, "rectification_savings", output_dir)
fig = plots.line_chart(rect[rect["metric"] == "cancelled_total"], "year", "mean", hue=PROB,
                       low="p05", high="p95", scale=1e4,
                       title="整改概率与取消资金 Cancelled money by rectification probability",
                       xlabel="年度 year", ylabel="取消金额 cancelled (万元, 10,000 yuan)",
                       source=SOURCE)
nb.save_figure(fig, "rectification_cancelled", output_dir)
nb.show(rect[rect["year"] == years])

# %% [markdown]
# ## 2. Pre-evaluation (事前绩效评估): the gate before the money
#
# Each year every request is judged on an expected score — its latent performance plus the
# experts' noise — and funded, reduced or rejected at the file's thresholds. Money saved
# counts the reductions and rejections; *wrong rejects* are truly good (优/良) projects
# turned away by mistake. The noisier the experts, the more the gate punishes good projects
# and spares weak ones.

# %%
NOISE = "linkage.pre_evaluation.noise"
gate = studies.settings_grid(pre, {NOISE: expert_noise}, replications=replications,
                             years=years,
                             metrics=("pre_evaluation_saved", "pre_evaluation_cut",
                                      "pre_evaluation_wrong_rejects"))
fig = plots.line_chart(gate[gate["metric"] == "pre_evaluation_wrong_rejects"], "year", "mean",
                       hue=NOISE, low="p05", high="p95",
                       title="专家评分噪声与误拒项目 Good projects rejected by mistake",
                       xlabel="年度 year",
                       ylabel="误拒项目 truly good projects rejected (count)", source=SOURCE)
nb.save_figure(fig, "pre_evaluation_wrong_rejects", output_dir)
fig = plots.line_chart(gate[gate["metric"] == "pre_evaluation_saved"], "year", "mean",
                       hue=NOISE, low="p05", high="p95", scale=1e4,
                       title="事前评估节约资金 Money saved by the pre-evaluation",
                       xlabel="年度 year", ylabel="节约资金 saved (万元, 10,000 yuan)",
                       source=SOURCE)
nb.save_figure(fig, "pre_evaluation_saved", output_dir)
nb.show(gate[gate["year"] == 1])

# %% [markdown]
# ## 3. Who evaluates (评价主体): re-checks and what they cost
#
# Every project self-evaluates at `cost_self` yuan; a share is re-checked — by finance, an
# intermediary or a third party — at `cost_recheck` yuan each, and the re-check replaces the
# inflated, noisy self-score. More re-checks cost more and cut fewer good projects by
# mistake; the table shows what each yuan of evaluation buys.

# %%
SHARE = "simulation.spot_check.share"
mix = studies.settings_grid(sc, {SHARE: check_shares}, policies={"priced": PRICED},
                            replications=replications, years=years,
                            metrics=("evaluation_cost", "wrong_cuts", "misgrading"))
fig = plots.line_chart(mix[(mix["metric"] == "evaluation_cost") & (mix["year"] == 1)], SHARE,
                       "mean", scale=1e4,
                       title="复核比例与评价成本 Evaluation cost by re-check share",
                       xlabel="复核比例 share re-checked (0-1)",
                       ylabel="评价成本 cost (万元, 10,000 yuan)", source=SOURCE)
nb.save_figure(fig, "evaluation_cost", output_dir)
fig = plots.line_chart(mix[mix["metric"] == "wrong_cuts"], "year", "mean", hue=SHARE,
                       low="p05", high="p95", scale=1e4,
                       title="复核比例与误减资金 Wrong cuts by re-check share",
                       xlabel="年度 year", ylabel="误减金额 wrong cuts (万元, 10,000 yuan)",
                       source=SOURCE)
nb.save_figure(fig, "wrong_cuts_by_share", output_dir)
nb.show(mix[mix["year"] == 1])

# %% [markdown]
# ## 4. Who self-evaluates (评价范围): Xinjian's coverage rule
#
# Xinjian district has every project of 1,000,000 yuan or more self-evaluate, and each
# department add its largest projects until 60% of its funds are covered; the rest are not
# graded, so no grade moves their money — neither a cut for the weak nor a place in the pool
# for the strong. Moving the size line trades the cost of self-evaluations against the money
# that truly poor projects keep because nobody looked (*kept by poor*). A line of 0 evaluates
# every project. S2 does not say which projects a department adds to reach its 60%: by size,
# or those it expects to do best — showing its good side, and keeping its weak small projects
# out of sight.

# %%
LINE = "linkage.coverage.min_budget"
XINJIAN = {"rule": "liupanshui", "ratio": 0.15}
FILL = {f"{name}": {"simulation.cost.self_evaluation": cost_self,
                    "linkage": {**XINJIAN, "coverage": {"min_budget": 1000000,
                                                        "funds_share": 0.6, "fill": fill}}}
        for name, fill in (("largest 按规模", "largest"), ("best 择优", "best"))}
cover = studies.settings_grid(covered, {LINE: coverage_lines}, policies=FILL,
                              replications=replications, years=years,
                              metrics=("count_self_evaluated", "self_evaluation_coverage",
                                       "evaluation_cost_self", "kept_by_poor", "wrong_cuts"))
fig = plots.line_chart(cover[(cover["metric"] == "kept_by_poor") & (cover["year"] == 1)], LINE,
                       "mean", hue="policy", scale=1e4,
                       title="评价范围与差项目保留资金 Money kept by truly poor projects",
                       xlabel="必须自评的项目规模 size line (元, yuan)",
                       ylabel="差项目保留资金 kept by poor (万元, 10,000 yuan)",
                       source=SOURCE_WHO)
nb.save_figure(fig, "coverage_kept_by_poor", output_dir)
nb.show(cover[cover["year"] == 1])

# %% [markdown]
# ## 5. Cross-year projects (跨年项目): annually, by stage, or at completion
#
# A quarter of this portfolio are three-year projects. Judged each year against the whole
# project's targets, a project whose results show mostly at completion looks worse than it
# is ([S8]: annual evaluation misjudges long projects); judged by stage against interim
# targets, or only at completion ([P6]), it does not. The lag is the share of the results
# hidden before completion.

# %%
BASE = {"rule": "liupanshui", "ratio": 0.15}
stages = studies.mc_variants(cross, {
    "annual 逐年": {"linkage": {**BASE, "cross_year": {"evaluation": "annual",
                                                       "lag": cross_year_lag}}},
    "by stage 分阶段": {"linkage": {**BASE, "cross_year": {"evaluation": "by_stage"}}},
    "deferred 完成后": {"linkage": {**BASE, "cross_year": {"evaluation": "deferred"}}}},
    replications=replications, years=years,
    metrics=("wrong_cuts", "misgrading", "savings", "count_self_evaluated"))
fig = plots.line_chart(stages[stages["metric"] == "wrong_cuts"], "year", "mean",
                       hue="variant", low="p05", high="p95", scale=1e4,
                       title="跨年项目评价方式与误减资金 Wrong cuts by how projects are judged",
                       xlabel="年度 year", ylabel="误减金额 wrong cuts (万元, 10,000 yuan)",
                       source=SOURCE_WHO)
nb.save_figure(fig, "cross_year_wrong_cuts", output_dir)
nb.show(stages[stages["year"] == 1])

# %%
results = studies.policy_table({"rectification": rect, "pre-evaluation": gate,
                                "evaluators": mix, "coverage": cover,
                                "cross-year": stages}, "lever")
saved = nb.save_table(results, "results", output_dir)  # the table of every lever

# %% [markdown]
# **Reading the results.** Rectification trades money for second chances: the higher the
# probability, the less is halved and cancelled, while wrong cuts — which come from grading
# errors, not from rectification — hardly move; compare the later years, where rectified
# projects perform better and projects left unrectified twice are gone. The pre-evaluation
# does most of its saving in the first year, when the weakest requests are turned away; the
# experts' noise decides how many truly good projects are turned away with them. Re-checks
# cost in proportion to their share, and the wrong cuts and misgrading fall as the share
# rises: the tables show how much of either each yuan of evaluation buys, which is the
# trade-off a bureau sets when it chooses who evaluates and how many. The coverage line is
# the same trade-off one step earlier: a higher line saves self-evaluations and leaves more
# money with weak small projects nobody grades. For cross-year projects the way they are
# judged matters more than the noise: annual judgement against whole-project targets cuts
# good long projects that stage evaluation, or waiting for completion, would keep.
