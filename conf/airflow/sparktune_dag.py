"""Airflow DAG: the sparktune pipeline as one SparkSubmitOperator per stage.

Each task runs one stage (`sparktune <stage> --config ...`), which is skipped by sparktune itself
when its config, inputs and upstream outputs are unchanged (the stage's _manifest.json
fingerprint), so a daily schedule only recomputes what changed, and clearing one task reruns just
that stage. Exit codes: 0 ok (ran or up to date), 1 a stage failed or a limit tripped (e.g.
ingest.max_reject_ratio; the previous output is left untouched, or the new one is written with its
reasons), 2 bad usage or config (nothing ran). Airflow retries non-zero exits; a config error
(2) will fail every retry, so keep `retries` small.

Needs apache-airflow-providers-apache-spark and a `spark_default` connection to the cluster.
"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

SPARKTUNE_JAR = "/opt/sparktune/sparktune-jobs-0.1.0-SNAPSHOT-spark.jar"
CONFIG = "gpu-cluster.yaml"  # all stages incl. train; shipped with --files, read by its base name
STAGES = ["ingest", "clean", "cluster", "tokenize"]

default_args = {
    "owner": "data-eng",
    "retries": 2,
    "retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(hours=6),
}

with DAG(
    dag_id="sparktune",
    description="raw sources -> clean, diverse, tokenized instruction data -> LoRA adapter",
    schedule="0 2 * * *",
    start_date=datetime(2026, 11, 1),
    catchup=False,
    max_active_runs=1,  # stages write their outputs atomically, but two runs would race on work_dir
    default_args=default_args,
) as dag:
    previous = None
    for stage in STAGES + ["train"]:
        conf = {"spark.executor.resource.gpu.discoveryScript": "./getGpusResources.sh"}
        if stage == "train":
            # The barrier stage needs all its tasks at once: a fixed set of GPU executors.
            conf |= {
                "spark.dynamicAllocation.enabled": "false",
                "spark.executor.resource.gpu.amount": "1",
                "spark.task.resource.gpu.amount": "1",
            }
        task = SparkSubmitOperator(
            task_id=stage,
            application=SPARKTUNE_JAR,
            java_class="dev.sparktune.jobs.Main",
            application_args=[stage, "--config", CONFIG],
            files="/opt/sparktune/conf/" + CONFIG + ",/opt/sparktune/conf/getGpusResources.sh",
            conf=conf,
            conn_id="spark_default",
        )
        if previous is not None:
            previous >> task
        previous = task
