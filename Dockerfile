# ACMEEH container image: build the wheels, then a slim runtime without compilers.
#   docker build -t acmeeh .
#   docker run -e ACMEEH_DB_PASSWORD=... -v ./ca:/etc/acmeeh/ca:ro acmeeh
# The entrypoint validates /etc/acmeeh/config.yaml, waits for PostgreSQL, migrates when
# ACMEEH_MIGRATE=1 and execs gunicorn; see docs/installation.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/ src/
# Every dependency ships as a manylinux wheel (psycopg[binary], cryptography), so nothing is
# compiled; the wheels are all the runtime stage takes from here. The lint extra (pkilint, pure
# Python) is in the image so lint.enabled works without a rebuild, and so is the hsm extra
# (python-pkcs11, a manylinux wheel) for ca.backend pkcs11 (mount the HSM vendor's module), and
# the upstream extra (acme, certbot's ACME client library) for ca.backend acme_upstream.
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[lint,hsm,upstream]"

FROM ${PYTHON_IMAGE}
ARG ACMEEH_VERSION=0.1.0
LABEL org.opencontainers.image.title="ACMEEH" \
      org.opencontainers.image.description="ACME (RFC 8555) certificate authority server for internal PKI" \
      org.opencontainers.image.version="${ACMEEH_VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.documentation="docs/installation.md"

# tini is PID 1: it reaps zombies and forwards SIGTERM/SIGHUP to the server.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 1000 acmeeh \
    && useradd --system --uid 1000 --gid acmeeh --home-dir /var/lib/acmeeh --no-create-home \
       --shell /usr/sbin/nologin acmeeh \
    && install -d -o acmeeh -g acmeeh -m 0700 /var/lib/acmeeh /etc/acmeeh/ca

COPY --from=build /wheels /tmp/wheels
RUN pip install --no-cache-dir --no-index /tmp/wheels/*.whl && rm -rf /tmp/wheels

COPY docker/entrypoint.sh /usr/local/bin/acmeeh-entrypoint
COPY docker/config.yaml /etc/acmeeh/config.yaml

ENV ACMEEH_CONFIG=/etc/acmeeh/config.yaml \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /var/lib/acmeeh
USER 1000:1000
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ.get('ACMEEH_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["/usr/bin/tini", "--", "acmeeh-entrypoint"]
CMD ["serve"]
