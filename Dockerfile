# One image for every process of Boxoffice: `boxoffice api`, `boxoffice worker [--queues checkout|documents|all]`,
# `boxoffice db upgrade` and `boxoffice keys generate` (docker-compose.yml runs each as a service).
# Installs are pinned: every package at the version and hash of requirements.lock (`make lock` regenerates it from
# pyproject.toml), then Boxoffice itself without resolving anything.
FROM python:3.11-slim

# Pango and HarfBuzz's subsetter for the ticket PDFs (WeasyPrint), and a font to draw them with.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Dependencies first, in their own layer: a code change does not reinstall them.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY boxoffice ./boxoffice
RUN pip install --no-deps . && boxoffice --help >/dev/null

# Not root. /data (documents, outbox) and /keys (the ticket-signing key ring) are volumes the processes write to;
# a new named volume takes this ownership.
RUN useradd --system --uid 10001 --home-dir /app boxoffice \
    && mkdir -p /data /keys \
    && chown boxoffice /data /keys
USER boxoffice

ENV BOXOFFICE_ENV=production \
    BOXOFFICE_DATA_DIR=/data \
    BOXOFFICE_SIGNING_KEY_FILE=/keys/signing_key.pem
# The API; the worker's /metrics and the Temporal SDK's metrics.
EXPOSE 8000 9464 9465
CMD ["boxoffice", "api", "--host", "0.0.0.0", "--port", "8000"]
