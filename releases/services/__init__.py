"""Writes of releases: feature flags, snapshots, releases and rollbacks."""
