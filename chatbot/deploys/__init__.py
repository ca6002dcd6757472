"""Deployments as a metric source: what shipped where, when, and which ones failed."""
