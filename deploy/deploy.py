"""pyinfra entry point, run from this directory (so pyinfra finds group_data/):
`cd deploy && ../.venv/bin/pyinfra inventories/all_in_one.py deploy.py --ssh-user root`.

Every host gets the components its inventory data enables (<component>_enabled); see
the README ("Deploying the stack") for the data keys.
"""

from obsbox.deploy.operations.stack import deploy_stack

deploy_stack()
