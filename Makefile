# make demo: a real campaign on the bundled example; make test: the test suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: install demo test lint format clean bench-profile

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, pinned, so pip takes the CPU wheel rather than a multi-GB CUDA build
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[torch,polars,postgres,dask,study,explain,serve,export,dev]"
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
