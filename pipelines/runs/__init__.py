"""A pipeline run on this machine and its record: the run (`local_runner`: TFX's LocalDagRunner on
Beam), its directory (`layout`) and lock (`lock`), the code fingerprint in its cache keys
(`code_fingerprint`), its progress lines (`progress`), and what ML Metadata says of it afterwards
(`metadata_store`, `summary`, `report`). Compiled Kubeflow pipelines run through `pipelines.kubeflow`."""
