"""Declarative course pipelines: the spec schema, `create_pipeline`, the runners and the CLI."""
