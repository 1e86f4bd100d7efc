"""qbo_import: QuickBooks Online -> Invoiced."""
