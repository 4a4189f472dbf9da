"""Latency-constrained fusion architecture search (HAF-NAS at our scale): `fusion-ros search`."""
