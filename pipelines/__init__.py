"""Declarative course pipelines: the spec schema, `create_pipeline`, the runners and the CLI."""
from pipelines.tfx_imports import components_on_demand

components_on_demand()  # before anything imports TFX's orchestrator (pipelines/tfx_imports.py says why)
