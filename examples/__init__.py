"""Runnable examples that use obsbox: the demo service, its payments dependency, a load generator."""
