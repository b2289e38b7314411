"""One module per component, each with its ``deploy_<component>()``."""
