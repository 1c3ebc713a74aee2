# One command sets up and runs each job; .venv is created on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint docs bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/lawfit demo

test: $(STAMP) docs
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks notebooks
	$(BIN)/ruff format --check src tests benchmarks

# The documentation site (docs/, mkdocs.yml) into site/; --strict turns warnings into errors.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict -d site

# lawfit vs scipy (and optimistix) on the same problems: per-fit times, scaling curves of time
# and memory against the number of fits, bulk refits and many families' forecasts through the CLI.
bench: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[dev,bench]"
	$(BIN)/python benchmarks/bench_fit.py
	$(BIN)/python benchmarks/bench_scaling.py
	$(BIN)/python benchmarks/bench_bulk.py
	$(BIN)/python benchmarks/bench_forecast.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache site
