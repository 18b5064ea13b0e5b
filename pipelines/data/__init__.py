"""The data commands outside a pipeline run: a source's ExampleGen alone (`source_import`),
validation and drift of files against a pipeline's schema (`checks`), and predictions of a pushed
model on a data file (`predictions`)."""
