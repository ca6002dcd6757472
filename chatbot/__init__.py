"""Throughline: intent, decisions and delivery metrics in Slack."""

__version__ = "0.1.0"
