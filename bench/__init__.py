"""Benchmark harness: ``python -m bench`` (or ``--quick``) measures the IVR under gunicorn and
PostgreSQL, with load from a separate process signing every request like Twilio."""
