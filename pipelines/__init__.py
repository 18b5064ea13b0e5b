"""Declarative course pipelines: the spec schema, `create_pipeline`, the runners and the CLI."""
from pipelines.import_setup import components_on_demand, keras_2_for_tensorflow

# Before anything imports TensorFlow or TFX's orchestrator (pipelines/import_setup.py says why).
keras_2_for_tensorflow()
components_on_demand()
