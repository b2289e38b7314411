"""obsbox: deploy an observability stack, instrument services, replay incidents to tune alerts."""

__version__ = "0.1.0"
