"""Analysis of observed and simulated data (statsmodels estimation)."""
