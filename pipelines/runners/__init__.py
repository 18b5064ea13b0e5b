"""Running a pipeline on this machine: `local` runs `create_pipeline`'s pipeline with TFX's
LocalDagRunner on Beam. Compiled Kubeflow pipelines run through `pipelines.kubeflow`."""
