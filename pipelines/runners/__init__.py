"""Thin runners: the same `create_pipeline` on Beam locally or compiled for Kubeflow."""
