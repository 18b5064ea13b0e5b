# The default image of every Kubeflow step (CPU): this project on Python 3.10 with the pinned TFX 1.16
# resolution (constraints.txt: TF 2.16.2, TFT 1.16.0, TFMA 0.47.1, Beam 2.74.0, kfp 2.5.0).
#   docker build -t REGISTRY/course-pipelines:TAG .
#   docker push REGISTRY/course-pipelines:TAG
# Each compiled step names its own command, so no ENTRYPOINT: `python -m pipelines.kubeflow.node_runner`
# on open-source KFP, TFX's `python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor`
# on Vertex AI. The project's dependencies include S3 for TensorFlow (tensorflow-io) and Beam (boto3).
FROM python:3.10.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /opt/course-pipelines
COPY setup.py pyproject.toml constraints.txt ./
COPY components ./components
COPY modules ./modules
COPY pipelines ./pipelines
RUN pip install -c constraints.txt .
