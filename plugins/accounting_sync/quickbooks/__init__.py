"""QuickBooks Online: ``hook`` (the ``quickbooks`` connection type), ``client`` (the API,
with retries and requestids), ``faults`` (what QBO answers when it refuses, and the
hints), ``ratelimit`` (QBO's per-company limits, kept client-side) and ``oauth`` (the
company's tokens: encrypted, refreshed once under a lock)."""
