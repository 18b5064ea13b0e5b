"""Custom TFX components: the course's data sources as ExampleGens."""
