"""Measured latency (``nasx profile``): timing subnets in a runtime, the resumable measurements,
the per-unit features and the fitted latency predictor.
"""
