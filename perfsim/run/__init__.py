"""Runs: one year, the Monte Carlo and its engines, calibration, sensitivity, scheme comparison
and variants — all through the one year kernel."""
