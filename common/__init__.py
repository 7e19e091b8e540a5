"""The floor under every app: single-line fields, bounded JSON, display times, the admin's read-only
frame, mail after commit, the client's address. It imports no app, nothing of `portal` and nothing of
`operations`; settings are read through `django.conf` (tests/test_import_graph.py holds it to that).
"""
