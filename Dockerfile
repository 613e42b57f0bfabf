# hydralite image: `docker build -t hydralite .` (compose.yaml builds it for you).
# With no SERVE_PUBLIC_HOST / SERVE_ADMIN_HOST the server listens on all interfaces, as a container must.
# The tracing extra (OpenTelemetry) is installed so that compose.tracing.yaml works with this image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY . /src
RUN pip install ".[tracing]" \
    && useradd --system --uid 10001 --create-home --home-dir /home/hydralite hydralite

# The embedded database (DSN unset) keeps its data here; compose uses PostgreSQL instead.
WORKDIR /home/hydralite
USER hydralite

EXPOSE 4444 4445
ENTRYPOINT ["hydralite"]
CMD ["serve", "all"]
