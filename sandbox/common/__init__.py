"""Infrastructure shared by the QuickBooks Online and Invoiced sandboxes."""
