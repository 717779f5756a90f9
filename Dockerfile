# Mirrors `make run`: install the package, start the daemon with config/monitor.toml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY config ./config
COPY seed_articles ./seed_articles
RUN pip install --no-cache-dir .
VOLUME ["/app/data"]
ENTRYPOINT ["monitor", "--config", "config/monitor.toml"]
CMD ["run"]
