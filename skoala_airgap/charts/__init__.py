"""Helm charts: hints, values rewrite, repackaging and publishers."""
