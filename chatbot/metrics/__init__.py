"""The metrics engine: every figure of the weekly digest, computed in the database."""
