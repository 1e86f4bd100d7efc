"""Local stand-in for QuickBooks Online: Accounting API v3 plus Intuit OAuth 2.0.

The real service cannot be reached from CI, so this server reproduces the behaviour the
sync pipeline depends on (faults, limits, token rotation, balances) closely enough that
code passing against it works against Intuit.
"""
