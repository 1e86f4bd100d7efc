"""What both pipelines share: ``job`` (one run of one pipeline for one company, and how
records pass between its steps), ``cursor`` (incremental reads), ``values`` (money,
numbers, dates, hashes, chunks), ``report`` (the last step of both), ``flows`` (the
pipelines' names), ``binding`` (which QBO company and Invoiced account the state belongs
to) and ``runtime`` (building a job from an Airflow task's context)."""
