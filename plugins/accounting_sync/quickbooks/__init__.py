"""QuickBooks Online: the hook, the API client, its rate limit and OAuth tokens."""
