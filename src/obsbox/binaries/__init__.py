"""The releases obsbox builds from Go modules at the deploy's pinned versions, and where they are."""
