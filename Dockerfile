# syntax=docker/dockerfile:1
# streamscope: one image for every distributed-mode process (`streamscope db migrate`,
# `streamscope source ...`, `streamscope pipeline ...`, `streamscope serve`); docker-compose.yml picks
# the command. Configuration comes only from STREAMSCOPE_* environment variables.

# Build wheels in a throw-away stage so the runtime image holds no build tooling or sources.
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# pyproject needs README.md (the package's long description) to build.
COPY pyproject.toml README.md ./
# The packages pyproject's [tool.setuptools.packages.find] includes (tests/test_compose.py checks
# that this list and pyproject agree).
# The layer folders all install into the one `streamscope` package (pyproject package-dir).
COPY streamscope ./streamscope
COPY app ./app
COPY api ./api
COPY capture ./capture
COPY agent ./agent
COPY query ./query
COPY pipelines ./pipelines
COPY sources ./sources
COPY sinks ./sinks
# The agent extra (openai, sqlglot): the API serves /v1/agent when a model is configured.
RUN pip wheel --wheel-dir /wheels ".[agent]"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# Install from the built wheels only (--no-index): the image holds exactly what was just resolved.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels "streamscope[agent]"
# A fixed non-root user. /var/lib/streamscope/{recovery,jobs} exist in the image and belong to that user,
# so named volumes mounted there (Bytewax recovery snapshots, capture jobs) start out writable by it.
RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin streamscope \
    && mkdir -p /var/lib/streamscope/recovery /var/lib/streamscope/jobs \
    && chown -R streamscope:streamscope /var/lib/streamscope
USER streamscope
WORKDIR /var/lib/streamscope
EXPOSE 8000
ENTRYPOINT ["streamscope"]
CMD ["--help"]
