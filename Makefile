# Two commands on a fresh machine: `make run` (the iris pipeline end to end) and `make test`.
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run lint test test-slow test-all bench clean

# Re-installs only when the packaging inputs change; a second `make install` does nothing.
$(STAMP): setup.py pyproject.toml constraints.txt
	test -x $(PY) || "$$(sh scripts/find-python310)" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/coursepipe run iris_softmax

# The linter (pyproject.toml, [tool.ruff]) runs before every test tier.
lint: install
	$(VENV)/bin/ruff check .

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

test-slow: lint
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

test-all: lint
	$(PY) -m pytest -m "slow or not slow" $(PYTEST_ARGS)

# Benchmarks print markdown tables (figures in docs/benchmarks.md); they never run in the tests.
bench: install
	PYTHONWARNINGS=ignore $(PY) -m benchmarks.performance_goals
	PYTHONWARNINGS=ignore $(PY) -m benchmarks.example_encoding
	PYTHONWARNINGS=ignore $(PY) -m benchmarks.import_throughput
	PYTHONWARNINGS=ignore $(PY) -m benchmarks.pipeline_vs_keras
	PYTHONWARNINGS=ignore $(PY) -m benchmarks.fit_callbacks
	PYTHONWARNINGS=ignore $(PY) -m benchmarks.cifar_throughput
	PYTHONWARNINGS=ignore $(PY) -m benchmarks.drift_thresholds
	PYTHONWARNINGS=ignore $(PY) -m benchmarks.pipeline_runs
	PYTHONWARNINGS=ignore $(PY) -m benchmarks.first_epoch
	PYTHONWARNINGS=ignore $(PY) -m benchmarks.command_latency
	PYTHONWARNINGS=ignore $(PY) -m benchmarks.compiled_vs_local
	PYTHONWARNINGS=ignore $(PY) -m benchmarks.beam_scaling modes
	PYTHONWARNINGS=ignore $(PY) -m benchmarks.beam_scaling scaling
	PYTHONWARNINGS=ignore $(PY) -m benchmarks.taxi_vs_tfx
	PYTHONWARNINGS=ignore $(PY) -m benchmarks.gan_digit_score
	PYTHONWARNINGS=ignore $(PY) -m benchmarks.wide_table

clean:
	rm -rf $(VENV) runs build *.egg-info .pytest_cache
