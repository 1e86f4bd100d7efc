# The Airflow image for docker-compose.yaml: the official image plus this project's pinned
# requirements. dags/, plugins/, include/, scripts/ and sandbox/ are mounted by the compose
# file, so no project code is baked in and a code change needs no rebuild.
#
# The Python tag is the interpreter constraints.txt was resolved with (CI's 3.11), and
# apache-airflow is pinned in the same pip command so the install can never move it.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:0 requirements.txt constraints.txt /opt/airflow/requirements/
RUN pip install --no-cache-dir "apache-airflow==3.3.2" \
        -r /opt/airflow/requirements/requirements.txt \
        -c /opt/airflow/requirements/constraints.txt

# Mount point of the named volume holding the UI login (written by airflow-init, read by
# the api-server); created here so the volume starts owned by airflow and group-writable.
RUN mkdir -p -m 775 /opt/airflow/auth
