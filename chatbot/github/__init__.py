"""GitHub as a metric source: pull requests, their commits, reviews and timeline."""
