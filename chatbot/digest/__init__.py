"""The weekly digest: rendering, posting once per team and week, and the Friday check-in."""
