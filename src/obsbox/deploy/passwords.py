"""Basic auth for Prometheus, Alertmanager and node_exporter: bcrypt hashes that stay put across runs."""

from __future__ import annotations

import bcrypt

from obsbox.deploy.settings import BasicAuth


def password_hash(auth: BasicAuth, current: str) -> str:
    """The pinned hash, else the current one while it still matches, else a new one.

    bcrypt salts every hash, so hashing on each run would rewrite the web config every time.
    """
    if auth.password_hash:
        return auth.password_hash
    if current:
        try:
            if bcrypt.checkpw(auth.password.encode(), current.encode()):
                return current
        except ValueError:
            pass
    return bcrypt.hashpw(auth.password.encode(), bcrypt.gensalt(rounds=10)).decode()
