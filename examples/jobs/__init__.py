"""Small Celery and RQ job apps used by the tests, the benchmark and the recorded job incidents."""
