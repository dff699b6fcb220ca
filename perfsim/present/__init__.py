"""Presentation: plots, printed summaries, result files and Excel workbooks."""
