"""The stack deploy: settings from inventory data, layouts, plans and rendered files (pure), and
the pyinfra operations that apply them (``obsbox.deploy.operations``).

Use ``obsbox.deploy.operations.stack.deploy_stack()`` from a pyinfra deploy file, or
``pyinfra INVENTORY deploy/deploy.py``.
"""
