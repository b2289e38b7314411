"""pyinfra entry point: `pyinfra deploy/inventories/all_in_one.py deploy/deploy.py`.

Every host gets the components its inventory data enables (<component>_enabled); see
the README ("Deploying the stack") for the data keys.
"""

from obsbox.deploy.stack import deploy_stack

deploy_stack()
