"""The hook registry: one place says what obsbox patches, what switches it off and how to undo it."""

from __future__ import annotations

import flask
import obsbox_instrumentation as obsbox
from obsbox_instrumentation import patches, testing
from obsbox_instrumentation.exporters import batch_options, choose_exporter
from obsbox_instrumentation.settings import SettingsError


def test_configure_applies_every_installed_hook_and_unpatch_all_undoes_them() -> None:
    """Flask's class is hooked by configure() and restored by unpatch_all(); a new app is then plain."""
    plain_init = flask.Flask.__init__
    runtime = obsbox.configure(service_name="svc", prometheus=False)
    assert runtime is not None
    assert {"flask", "requests"} <= set(runtime.instrumented)
    assert flask.Flask.__init__ is not plain_init
    testing.reset()
    assert flask.Flask.__init__ is plain_init
    assert not getattr(flask.Flask("plain"), "_obsbox_instrumented", False)


def test_a_disabled_name_keeps_its_hook_off(monkeypatch: object) -> None:
    """OBSBOX_DISABLED_INSTRUMENTATIONS=fastapi switches off the shared Starlette/FastAPI hook."""
    assert "starlette" not in patches.apply_patches(["fastapi"])
    assert "flask" in patches.apply_patches(["fastapi"])
    patches.unpatch_all()


def test_replaced_upstream_instrumentations_come_from_the_registry() -> None:
    """Every upstream instrumentor obsbox stands in for is named by a registered hook."""
    replaced = patches.replaced_instrumentations()
    assert {"flask", "wsgi", "requests", "httpx", "starlette", "fastapi", "asgi", "django"} <= replaced
    assert "sqlalchemy" not in replaced


def test_a_hook_that_raises_is_skipped_not_fatal() -> None:
    """A registered hook whose apply raises is left out of the applied list; the others still apply."""
    patches.register(patches.Patch("broken", "patches:no_such_function", "patches:unpatch_all", frozenset({"broken"}), frozenset()))
    try:
        applied = patches.apply_patches()
        assert "broken" not in applied and "flask" in applied
    finally:
        patches._REGISTRY[:] = [p for p in patches._REGISTRY if p.name != "broken"]
        patches.unpatch_all()


def test_batch_sizes_follow_the_sdk_variables() -> None:
    """OTEL_BSP_* sizes the span batcher, OTEL_BLRP_* the log batcher, each alone."""
    env = {"OTEL_BSP_MAX_QUEUE_SIZE": "64", "OTEL_BLRP_SCHEDULE_DELAY": "250"}
    assert batch_options("traces", env, 2048) == {"max_queue_size": 64, "max_batch_size": 512, "schedule_delay_s": 5.0}
    assert batch_options("logs", env, 2048) == {"max_queue_size": 2048, "max_batch_size": 512, "schedule_delay_s": 0.25}


def test_signal_protocol_overrides_the_general_one_and_bad_values_name_the_variable() -> None:
    """OTEL_EXPORTER_OTLP_TRACES_PROTOCOL wins for traces only; a bad value names its variable."""
    env = {"OTEL_EXPORTER_OTLP_PROTOCOL": "http", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/json"}
    assert choose_exporter("traces", env, 3.0).protocol == "http/protobuf"
    try:
        choose_exporter("metrics", env, 3.0)
    except SettingsError as exc:
        assert str(exc).startswith("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL='http/json': expected one of")
    else:
        raise AssertionError("http/json was accepted")
