"""qbo_import, QuickBooks Online -> Invoiced: ``pipeline`` (the steps the DAG calls) runs
``extract`` (stage what QBO has for this run), ``plan`` (decide what each record needs),
``load`` (apply the plan on Invoiced; a dry run applies nothing) and the report;
``transform`` turns QBO records into Invoiced bodies."""
