"""pyinfra deploys of the stack: settings from inventory data, install, validate-and-swap, units.

Use ``obsbox.deploy.stack.deploy_stack()`` from a pyinfra deploy file, or
``pyinfra INVENTORY deploy/deploy.py``.
"""
