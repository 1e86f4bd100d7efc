"""qbo_sync: Invoiced -> QuickBooks Online."""
