"""`obsbox tune`: sweep an alert rule's parameters, replay every variant, pick one by a stated rule.

Pure parts: ``space`` (the parameters of a rule and their grids), ``scores`` (a variant's
numbers, the Pareto front, the recommendation), ``split`` (tune / held-out parts of a corpus),
``edit`` (the change as a diff). ``run`` is the edge that replays (one Prometheus for the run).
"""
