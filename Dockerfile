# One image for both processes: `boxoffice api` and `boxoffice worker`.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY boxoffice ./boxoffice
RUN pip install --no-cache-dir .
ENV BOXOFFICE_ENV=production
EXPOSE 8000
CMD ["boxoffice", "api", "--host", "0.0.0.0", "--port", "8000"]
