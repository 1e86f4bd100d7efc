"""The state store: everything the sync remembers between runs. ``schema`` holds the
tables and the engine; one small repository per concern (``idmap``, ``cursors``,
``journal``, ``staging``, ``leases``, ``runs``, ``settings``, ``tokens``, ``bindings``)
holds its queries; ``facade.StateStore`` puts them on one database."""
