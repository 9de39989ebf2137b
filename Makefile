# make demo: a real campaign on the bundled example; make test: the test suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: install demo test lint format clean bench-profile bench-setup bench bench-long

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, pinned, so pip takes the CPU wheel rather than a multi-GB CUDA build
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[full,dev]"
	# an editable install is not byte-compiled: compile it once, as a regular install does,
	# so that a process start where bytecode is not written (PYTHONDONTWRITEBYTECODE) does
	# not compile the package again (0.2 s of the time to the first trial)
	$(PY) -m compileall -q src >/dev/null
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/mlresearcher run examples/penguins.csv --target species --time-limit 30 --out runs
	$(VENV)/bin/mlresearcher predict $$(ls -td runs/*/ | head -1) examples/penguins.csv --out runs/penguins_scored.csv
	$(VENV)/bin/mlresearcher runs list --out runs

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

format: install
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

# ydata-profiling goes into its own venv: it is only the benchmark's yardstick, never a dependency
YDATA_VENV := .venv-ydata
$(YDATA_VENV)/.installed:
	$(PYTHON) -m venv $(YDATA_VENV)
	$(YDATA_VENV)/bin/pip install --quiet --upgrade pip
	$(YDATA_VENV)/bin/pip install --quiet ydata-profiling pyarrow setuptools
	touch $@

bench-profile: install $(YDATA_VENV)/.installed
	$(PY) benchmarks/profile_speed.py --ydata $(YDATA_VENV)/bin/python --ydata-rows 100000

clean:
	rm -rf $(VENV) $(YDATA_VENV) runs .pytest_cache

# AutoML benchmark (benchmarks/automl/). The peers live in their own virtual environment,
# never in the project's: AutoGluon (tabular, with its LightGBM, CatBoost and XGBoost
# models), FLAML, LightGBM and scikit-learn. torch 2.13.0 (CPU wheel) goes in first so
# AutoGluon's neural network model can run without pulling another torch build.
PEERS := benchmarks/automl/.venv-peers
BENCH_OUT ?= benchmarks/out/automl

$(PEERS)/.installed: benchmarks/automl/requirements-peers.txt
	$(PYTHON) -m venv $(PEERS)
	$(PEERS)/bin/pip install --quiet --upgrade pip
	$(PEERS)/bin/pip install --quiet torch==2.13.0
	$(PEERS)/bin/pip install --quiet -r benchmarks/automl/requirements-peers.txt
	touch $@

bench-setup: install $(PEERS)/.installed

# 60 s budget, every system on every dev task (about an hour on 2 cores).
bench: bench-setup
	$(PY) benchmarks/automl/run.py --budget 60 --out $(BENCH_OUT)

# 300 s budget, mlresearcher and AutoGluon best_quality on the five largest tasks.
bench-long: bench-setup
	$(PY) benchmarks/automl/run.py --budget 300 --systems mlresearcher,autogluon_best --tasks largest:5 --out $(BENCH_OUT)
