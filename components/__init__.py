"""The project's TFX extensions: the course data sources and the ExampleGen that reads them
(`sources/`, `splits.py`, `example_gen.py`), the gating data validation (`validation/`), the
resolver strategies (`resolvers.py`), and the Trainer and Evaluator with run parameters for
Kubeflow (`tunable.py`)."""
