"""The model: indicator systems, portfolios, scenarios, simulation settings, weighting specs and
the parameter registry — inputs validated once at the boundary, trusted inside."""
