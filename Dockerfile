# Hashtag Index: one image serves the API and runs reindex jobs.
#   docker build -t hashtag-index .
#   docker run -p 8000:8000 -v hx-index:/var/lib/hashtag-index hashtag-index
#   docker run -v hx-index:/var/lib/hashtag-index -v /dumps:/dumps:ro hashtag-index \
#       hashtag-index build /dumps
# With Ray, for 'build --ray' on a cluster (README: On a cluster):
#   docker build --build-arg EXTRAS="--extra ray" -t hashtag-index:ray .
FROM python:3.11-slim AS build
ARG EXTRAS=""
RUN pip install --no-cache-dir uv
WORKDIR /app
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv
# Dependencies first (cached while only the sources change), from the committed lock.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project $EXTRAS
COPY indexer/ indexer/
COPY service/ service/
COPY hashtag_index/ hashtag_index/
COPY data/ data/
RUN uv sync --frozen --no-dev $EXTRAS

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app hashtag \
    && mkdir -p /var/lib/hashtag-index && chown hashtag /var/lib/hashtag-index
WORKDIR /app
COPY --from=build --chown=hashtag /app /app
ENV PATH=/app/.venv/bin:$PATH \
    HASHTAG_INDEX_DIR=/var/lib/hashtag-index \
    PYTHONUNBUFFERED=1
VOLUME /var/lib/hashtag-index
USER hashtag
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["hashtag-index", "serve", "--host", "0.0.0.0", "--port", "8000"]
