# The Airflow image for docker-compose.yaml: the official image plus this project, installed
# as its wheel (the package, the Accounting Sync pages and the connection types, registered
# through the wheel's entry points) with the pinned requirements. dags/, include/ and
# scripts/ are mounted by the compose file, so a DAG or settings change needs no rebuild; a
# change to the package does (`docker compose up --build`).
#
# The Python tag is the interpreter constraints.txt was resolved with (CI's 3.11), and
# apache-airflow is pinned in the same pip command so the install can never move it.

# Stage 1: build the wheel from pyproject.toml, plugins/ and include/mappings (only this
# stage sees the sources; the image below receives the wheel alone).
FROM apache/airflow:3.3.2-python3.11 AS wheel
WORKDIR /tmp/project
COPY --chown=airflow:0 pyproject.toml README.md ./
COPY --chown=airflow:0 plugins/ plugins/
COPY --chown=airflow:0 include/mappings/ include/mappings/
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /tmp/dist .

# Stage 2: the image.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:0 requirements.txt constraints.txt /opt/airflow/requirements/
COPY --from=wheel --chown=airflow:0 /tmp/dist/ /opt/airflow/dist/
RUN pip install --no-cache-dir "apache-airflow==3.3.2" \
        -r /opt/airflow/requirements/requirements.txt \
        /opt/airflow/dist/invoiced_qbo_airflow-*.whl \
        -c /opt/airflow/requirements/constraints.txt

# Mount point of the named volume holding the UI login (written by airflow-init, read by
# the api-server); created here so the volume starts owned by airflow and group-writable.
RUN mkdir -p -m 775 /opt/airflow/auth
