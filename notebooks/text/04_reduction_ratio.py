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

# %% [markdown] tags=["audience-finance"]
# # 04 压减比例测算（六盘水案例）— Calibrating the reduction ratio: the Liupanshui case
#
# *For finance staff (财政部门).* In 2022 Liupanshui cut the projects rated 中 by 15%, saving
# 128 million yuan; its rule allows 10%–20% "according to the situation" (视情况压减
# 10%–20%), cancels 差 and guarantees 优 and 良. This notebook answers the questions finance
# staff bring:
#
# 1. If 中 projects are cut 15% instead of 20%, how much do we save — and from whom?
# 2. Which ratio gives exactly the savings we need?
# 3. How many good projects get cut by mistake when evaluation scores are noisy?
#
# and writes an allocation workbook (Excel) with one sheet per project list, department ledger
# and grade summary. Tables show money in 万元 or 亿元, as their headings say (1 万元 = 10,000
# yuan, 1 亿元 = 100 million yuan); the saved tables and the workbook keep yuan (元).

# %% tags=["parameters"]
scenario = "datasets/scenarios/liupanshui_2022.yaml"  # scenario, relative to the project root
seed = 2022  # seed of the synthetic portfolio and of the Monte Carlo
ratio = 0.15  # linkage.ratio: the cut for 中 in the ledger and the workbook, in [0.10, 0.20]
ratios = [0.10, 0.125, 0.15, 0.175, 0.20]  # values of linkage.ratio compared
target_cut = 128000000.0  # cut_total to reach, yuan (Liupanshui 2022: 128 million)
replications = 200  # Monte Carlo replications for the noise study
self_evaluation_noise = 0.05  # simulation.self_evaluation.noise (sd, share of each leaf's points)
top_departments = 15  # departments listed in the who-loses table
output_dir = ""  # set by `perfsim notebooks run`; empty: show results, save nothing

# %%
import perfsim
from perfsim import notebooks as nb
from perfsim.present import plots, report
from perfsim.run import variants

plots.use_cjk_font()
sc = perfsim.load(nb.input_path(scenario, output_dir), seed=seed)
sc = sc.set({"linkage.ratio": ratio})
SOURCE = (f"perfsim; scenario {sc.name} (Liupanshui 2022 rule, 2021 scale), seed {seed}; "
          f"synthetic portfolio of {sc.portfolio.n_projects:,} projects")
print(sc.description)

# %% [markdown]
# ## 1. The case at the chosen ratio (测算基准)
#
# One year of the portfolio as it stands: every project graded on its score, 中 cut by the
# chosen ratio, 差 cancelled. Money by grade:

# %%
year = sc.run_year()
nb.save_table(year.by_grade, "grades", output_dir)
nb.show(year.by_grade)

# %% [markdown]
# ## 2. Cut 15% or 20%: how much do we save? (不同比例的节约额)
#
# Savings = money cut from 中 projects + budgets of cancelled 差 projects. The cut grows in
# proportion to the ratio; the cancellations do not depend on it. `perfsim.vary` gives one
# row per value of `linkage.ratio`, with every metric of the one-year run.

# %%
results = perfsim.vary(sc, {"linkage.ratio": ratios})
results.insert(0, "variant", [f"{r:.1%}" for r in results["linkage.ratio"]])
nb.save_table(results, "results", output_dir)
fig = plots.bar_chart(results, "variant", "savings", scale=1e6,
                      title="压减比例与节约资金 Savings by the cut ratio for 中",
                      xlabel="中等级压减比例 cut ratio for 中 (linkage.ratio)",
                      ylabel="节约资金 savings (百万元, million yuan)", source=SOURCE)
nb.save_figure(fig, "savings_by_ratio", output_dir)
nb.show(results[["variant", "cut_total", "cancelled_total", "savings", "next_total"]])

# %% [markdown]
# ## 3. Which ratio gives exactly the target? (反推压减比例)
#
# `sc.calibrate` solves cut_total(ratio) = target within the rule's range [10%, 20%] (scipy's
# `brentq`). A target outside what the range can deliver is reported as infeasible, with the
# bound that binds.

# %%
solution = sc.calibrate("linkage.ratio", cut_total=target_cut)
print(solution.message)
nb.save_table(solution.table().assign(ratio=solution.value, feasible=solution.feasible),
              "calibration", output_dir)
nb.show(solution.table().assign(ratio=solution.value, feasible=solution.feasible))

# %% [markdown]
# ## 4. From whom? (哪些部门被压减)
#
# The departments losing most at the chosen ratio (cut + cancelled, yuan), with the share of
# their evaluated budget they lose.

# %%
losers = variants.department_losses(year, top=top_departments)
nb.save_table(losers, "departments_losing", output_dir)
fig = plots.bar_chart(losers, "department", "lost", scale=1e6, horizontal=True,
                      title=f"压减最多的部门 Departments losing most (中 -{ratio:.1%})",
                      xlabel="部门 department",
                      ylabel="压减与取消 cut + cancelled (百万元, million yuan)",
                      source=SOURCE, figsize=(8, 6))
nb.save_figure(fig, "departments_losing", output_dir)
nb.show(losers)

# %% [markdown]
# ## 5. The same rule when scores are noisy (确定性测算与随机模拟)
#
# The one-year run grades the scores exactly as they stand. The Monte Carlo asks what the
# rule does when those scores are themselves uncertain: it treats each observed score as one
# noisy measurement, shrinks it towards the portfolio mean by the share of the score spread
# that is true performance (the *reliability*, printed below), then redraws leaf
# performance and self-evaluation noise in every replication. With every random source off
# (`noise=False`) the Monte Carlo's year 1 is the one-year run to the yuan — the first two
# columns below agree. With noise on, projects near a cutoff change grade in both
# directions; because money is not spread evenly over the grades, savings move even when the
# share of projects in each grade barely does. The one-year figure is what the rule does to
# this table; the Monte Carlo band is what it does on average when the table is uncertain.

# %%
noisy_sc = sc.set({"simulation.self_evaluation.noise": self_evaluation_noise})
exact = sc.simulate(replications=1, years=1, noise=False)
noisy = noisy_sc.simulate(replications=replications, years=1)
print(f"reliability of the observed scores: {noisy.summary['reliability']:.2f}")
side = variants.one_year_and_monte_carlo(year, noisy, [
    "savings", "cut_total", "cancelled_total", "share_excellent", "share_good", "share_fair",
    "share_poor"], sc.grading.labels)
side.insert(4, "no_noise", exact.replications.loc[0, side["metric"]].to_numpy(dtype=float))
nb.save_table(side, "one_year_and_monte_carlo", output_dir)
nb.show(side)

# %% [markdown]
# ## 6. Good projects cut by mistake (误减)
#
# A project that truly deserves 良 can be scored 中 and cut. *Wrong cuts* are the yuan cut or
# cancelled from projects that truly deserve 优 or 良, *misgrading* the share of projects
# graded differently from their true grade. Means and 5–95% intervals.

# %%
noise = variants.mc_variants(noisy_sc, {f"{r:.1%}": {"linkage.ratio": r} for r in ratios},
                             metrics=("wrong_cuts", "savings", "misgrading"),
                             replications=replications, years=1)
nb.save_table(noise, "wrong_cuts_by_ratio", output_dir)
fig = plots.bar_chart(noise[noise["metric"] == "wrong_cuts"], "variant", "mean",
                      low="p05", high="p95", scale=1e6,
                      title="误减资金 Money wrongly cut from projects that deserve 优/良",
                      xlabel="中等级压减比例 cut ratio for 中 (linkage.ratio)",
                      ylabel="误减金额 wrong cuts (百万元, million yuan)",
                      source=f"{SOURCE}; simulation.self_evaluation.noise "
                             f"{self_evaluation_noise}, {replications} replications, "
                             "5-95% interval")
nb.save_figure(fig, "wrong_cuts_by_ratio", output_dir)
nb.show(noise.pivot_table(index="variant", columns="metric", values="mean"))

# %% [markdown]
# ## 7. The allocation workbook (分配台账 Excel)
#
# Three sheets — 项目 projects (one row per project), 部门台账 ledger (department × grade) and
# 等级汇总 grades — each with a totals row (合计), filters and a frozen header, and a 说明 sheet
# (scenario, parameters, seed, perfsim version). Headings are bilingual, grades and statuses
# carry their Chinese label (优, 压减), and yuan are stored to the fen (`#,##0.00`) so that
# every column adds up exactly to its totals row. Written into the run directory as
# `allocation.xlsx` (nothing is written without one).

# %%
workbook = nb.output_path("allocation.xlsx", output_dir)
if workbook is not None:
    report.write_xlsx(year, workbook)
    print(f"wrote {workbook.name}")

# %% [markdown]
# **Reading the results.** The ratio is a precise lever on savings: the cut is proportional
# to it, the cancellations are not. Noise is not a lever but a cost: the money cut from
# projects that deserve better grows with the ratio, so a higher ratio buys savings partly
# with wrongful cuts — spot checks (notebook 06) are the remedy.
