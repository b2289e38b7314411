"""Basic auth for Prometheus and Alertmanager: bcrypt hashes that stay put across runs."""

from __future__ import annotations

import bcrypt
import yaml
from pyinfra import host
from pyinfra.facts.files import FileContents

from obsbox.deploy.settings import BasicAuth


def existing_hash(web_config_path: str, username: str) -> str:
    """The hash for username in the web config already on the host, or "" (plan-time fact)."""
    lines = host.get_fact(FileContents, path=web_config_path)
    if not lines:
        return ""
    try:
        data = yaml.safe_load("\n".join(lines)) or {}
    except yaml.YAMLError:
        return ""
    users = data.get("basic_auth_users") if isinstance(data, dict) else None
    value = users.get(username, "") if isinstance(users, dict) else ""
    return value if isinstance(value, str) else ""


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
