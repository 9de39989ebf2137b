"""The campaign: portfolio, Bayesian optimisation under a budget, and ensembling."""
