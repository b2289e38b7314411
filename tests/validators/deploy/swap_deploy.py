"""A pyinfra deploy file for the validate-and-swap tests: one file, checked by promtool check rules.

Data: swap_live (live path), swap_source (local file with the new content), swap_staging (dir).
"""

from pathlib import Path

from pyinfra import host

from obsbox.deploy.operations.swap import ManagedFile, validate_and_swap

validate_and_swap(
    [ManagedFile(host.data.swap_live, Path(host.data.swap_source).read_text(), "root", "root", "0640")],
    host.data.swap_staging,
    lambda staged: "promtool check rules " + " ".join(staged.values()),
    "promtool",
)
