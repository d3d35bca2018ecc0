"""Offline packages and charts-syncer intermediate bundles."""
