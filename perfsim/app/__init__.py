"""The what-if app: finance staff and trainers change a rule and see who gets the money.

Split by job: :mod:`~perfsim.app.example` writes a portfolio of ready scores as a workbook
(the bundled Liupanshui-scale example), :mod:`~perfsim.app.compute` turns a loaded scenario
and the page's values (YAML-path parameters) into what the page shows, with no widgets;
:mod:`~perfsim.app.whatif` builds the ipywidgets page (``panel()``) and
:mod:`~perfsim.app.server` serves it with Voilà (``perfsim app``).
"""
