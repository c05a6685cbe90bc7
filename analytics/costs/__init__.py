"""Costs: Cost Explorer and its local twin, forecasts, budgets, unit economics, the review pack."""
