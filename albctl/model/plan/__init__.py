"""Comparing a desired stack with what AWS has, one module per resource kind; the plan's
order is set by ``albctl.model.diff``."""
