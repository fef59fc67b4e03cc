"""Wiring: turns objects into reconciles of IngressGroups (one-shot engine, controller loop)."""
