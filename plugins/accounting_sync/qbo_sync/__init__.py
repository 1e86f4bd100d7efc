"""qbo_sync, Invoiced -> QuickBooks Online: ``pipeline`` (the steps the DAG calls) runs
``extract`` (stage what changed on Invoiced), ``transform`` (plan each QBO write),
``load`` (write the plan in dependency order) and the report; ``writer`` writes batches
exactly once through the journal, ``setup`` finds or creates accounts, tax code and items."""
