# Production image: gunicorn, non-root, keys mounted read-only at /keys.
FROM node:20-slim AS scanner
WORKDIR /scanner
COPY scanner_page/package.json scanner_page/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY scanner_page ./
RUN npm run build

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY stamp_service ./stamp_service
RUN pip install --no-cache-dir --prefix=/install -c requirements.lock .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home /app ocop && mkdir -p /app/var && chown ocop /app/var
COPY --from=build /install /usr/local
COPY --from=scanner /scanner/dist /app/scanner_dist
WORKDIR /app
ENV OCOP_KEYS_DIR=/keys \
    OCOP_SCANNER_DIST=/app/scanner_dist \
    OCOP_VAR_DIR=/app/var \
    PYTHONUNBUFFERED=1 \
    WEB_CONCURRENCY=4
USER ocop
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
# Limits matched to nginx in front (deploy/gunicorn.conf.py, deploy/nginx/ocop.conf.template).
COPY deploy/gunicorn.conf.py /app/gunicorn.conf.py
CMD ["gunicorn", "stamp_service.wsgi:app", "--config", "/app/gunicorn.conf.py"]
