"""Running the portal: /metrics, /readyz, broker readings, log context, the embedded default's broker.

It reads every app; no app imports it (tests/test_import_graph.py). `portal.urls` routes to it and the
settings name its middleware, log filters and broker transport by string.
"""
