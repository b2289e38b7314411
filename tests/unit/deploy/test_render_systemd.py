"""systemd unit rendering (pure)."""

from __future__ import annotations

import configparser

import pytest

from obsbox.render.systemd import UnitSettings, render_unit


def _unit(**kwargs: object) -> str:
    base: dict[str, object] = {"name": "prometheus", "description": "Prometheus", "user": "prometheus", "exec_start": ("/usr/bin/prometheus", "--config.file=/etc/prometheus/prometheus.yml")}
    base.update(kwargs)
    return render_unit(UnitSettings(**base))  # type: ignore[arg-type]


def _service_section(text: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    section = ""
    for line in text.replace("\\\n", "").splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values.setdefault(key, []).append(value)
    return values


def test_render_unit_runs_as_service_user_with_argv() -> None:
    """ExecStart holds the argv and User/Group the service's own user."""
    service = _service_section(_unit())
    assert service["ExecStart"] == ["/usr/bin/prometheus     --config.file=/etc/prometheus/prometheus.yml"]
    assert (service["User"], service["Group"]) == (["prometheus"], ["prometheus"])


def test_render_unit_is_hardened() -> None:
    """The unit locks the filesystem, privileges and kernel interfaces down."""
    service = _service_section(_unit(read_write_paths=("/var/lib/prometheus",)))
    for key, value in {
        "ProtectSystem": "strict",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "CapabilityBoundingSet": "",
        "ReadWritePaths": "/var/lib/prometheus",
    }.items():
        assert service[key] == [value], key


def test_render_unit_reload_only_with_signal() -> None:
    """ExecReload is there for a service with a reload signal and absent otherwise."""
    assert _service_section(_unit(reload_signal="HUP"))["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert "ExecReload" not in _service_section(_unit())


def test_render_unit_loads_credentials() -> None:
    """A credential is loaded from its root-only file."""
    service = _service_section(_unit(credentials=(("admin_password", "/etc/grafana/admin_password"),)))
    assert service["LoadCredential"] == ["admin_password:/etc/grafana/admin_password"]


def test_render_unit_environment_files() -> None:
    """Each environment file becomes an EnvironmentFile= line."""
    service = _service_section(_unit(environment_files=("/etc/grafana/secrets/datasources.env",)))
    assert service["EnvironmentFile"] == ["/etc/grafana/secrets/datasources.env"]


def test_render_unit_ip_allow_list_denies_the_rest() -> None:
    """An IP allow list comes with a deny-all default."""
    service = _service_section(_unit(ip_address_allow=("127.0.0.0/8", "10.0.0.0/16")))
    assert service["IPAddressDeny"] == ["any"]
    assert service["IPAddressAllow"] == ["127.0.0.0/8", "10.0.0.0/16"]


def test_render_unit_escapes_dollar_in_arguments() -> None:
    """A literal $ in an argument is doubled so systemd does not expand it."""
    text = _unit(exec_start=("/usr/bin/x", "--collector.filesystem.mount-points-exclude=^/(dev)($|/)"))
    assert "($$|/)" in text


def test_render_unit_parses_as_ini() -> None:
    """The rendered unit is a well-formed ini file with the three sections."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(_unit())
    assert parser.sections() == ["Unit", "Service", "Install"]


def test_render_unit_refuses_empty_exec_start() -> None:
    """A unit without a command is refused."""
    with pytest.raises(ValueError, match="exec_start is empty"):
        UnitSettings(name="x", description="x", user="x", exec_start=())
