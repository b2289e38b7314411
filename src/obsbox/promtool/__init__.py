"""promtool compatibility: its unit-test files, their series notation, and a runner on obsbox's engine."""
