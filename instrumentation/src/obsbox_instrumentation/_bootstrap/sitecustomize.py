"""Loaded by every Python process started under ``obsbox-instrument`` (the launcher puts this
directory first on PYTHONPATH): configure obsbox, then let the program run whatever happens."""

try:
    from obsbox_instrumentation.launcher import bootstrap

    bootstrap()
except Exception as exc:  # the program must start even when telemetry cannot
    import sys

    print(f"obsbox-instrument: telemetry disabled: {exc!r}", file=sys.stderr)
