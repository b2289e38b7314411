"""The pyinfra side of the deploy: facts, operations and the ``@deploy`` functions.

Everything here applies what the pure core (``obsbox.deploy``: settings, layout, plan, release,
rendered files, local checks) decided; nothing in the core imports this package, so ``obsbox
render`` runs without pyinfra (docs/architecture.md, Layers). Use
``obsbox.deploy.operations.stack.deploy_stack()`` from a pyinfra deploy file, or one component's
``obsbox.deploy.operations.components.deploy_<component>()``.
"""
