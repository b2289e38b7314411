"""Pure rules: scrubbing, API version, settings parsing."""

from __future__ import annotations

import pytest
from obsbox_instrumentation.apiversion import api_version, version_from_path
from obsbox_instrumentation.scrub import REDACTED, Scrubber
from obsbox_instrumentation.settings import (
    DEFAULT_SCRUB_PATTERNS,
    SettingsError,
    apply_otel_defaults,
    resolve_settings,
)

SCRUB = Scrubber(DEFAULT_SCRUB_PATTERNS)


def test_scrub_query_redacts_password_and_token_values() -> None:
    """Sensitive query parameters keep their name but lose their value."""
    out = SCRUB.query("user=bob&password=hunter2&access_token=abc&page=2")
    assert "hunter2" not in out and "abc" not in out
    assert f"password={REDACTED}" in out and "page=2" in out and "user=bob" in out


def test_scrub_url_drops_userinfo_and_secret_params() -> None:
    """user:pass@ and ?apikey= both vanish from a URL."""
    out = SCRUB.url("https://bob:s3cret@api.example.com/x?apikey=K123&q=1")
    assert "s3cret" not in out and "K123" not in out
    assert out.startswith("https://") and "api.example.com/x" in out and "q=1" in out


def test_scrub_text_redacts_key_value_pairs_in_messages() -> None:
    """Free text like 'password=...' or 'Authorization: Bearer ...' is redacted."""
    out = SCRUB.text("login failed password=hunter2; Authorization: Bearer eyJabc.def")
    assert "hunter2" not in out and "eyJabc" not in out
    assert "login failed" in out


def test_scrub_mapping_redacts_sensitive_keys() -> None:
    """Attribute keys containing a pattern (http.request.header.cookie) are redacted whole."""
    out = SCRUB.mapping({"http.request.header.cookie": ("sid=1",), "http.route": "/x"})
    assert out == {"http.request.header.cookie": REDACTED, "http.route": "/x"}


def test_scrub_patterns_are_configurable() -> None:
    """A custom pattern list redacts its own keys and no longer the defaults."""
    custom = Scrubber(["ssn"])
    assert custom.value("customer_ssn", "123") == REDACTED
    assert custom.value("password", "x") == "x"


def test_api_version_from_route_prefix() -> None:
    """/v1/... and date-style prefixes name the version."""
    assert version_from_path("/v1/orders") == "v1"
    assert version_from_path("/2024-06-01/orders") == "2024-06-01"
    assert version_from_path("/orders/v1") is None


def test_api_version_header_is_normalised_and_bounded() -> None:
    """Header '2' becomes 'v2'; junk header values are ignored so labels stay bounded."""
    assert api_version("/orders", "2") == "v2"
    assert api_version("/orders", "V3.1") == "v3.1"
    assert api_version("/orders", "'; drop table") == ""


def test_api_version_callable_wins_over_prefix() -> None:
    """A configured callable decides first; a failing callable falls back to the prefix."""
    assert api_version("/v1/x", None, {"k": 1}, lambda env: "beta") == "beta"

    def broken(env: object) -> str:
        raise RuntimeError("boom")

    assert api_version("/v1/x", None, {"k": 1}, broken) == "v1"


def test_bad_setting_names_the_variable() -> None:
    """A malformed OBSBOX_* value raises an error naming the variable and the value."""
    with pytest.raises(SettingsError, match="OBSBOX_TENANT_TOP_N='lots'"):
        resolve_settings({"OBSBOX_TENANT_TOP_N": "lots"})


def test_argument_beats_environment_beats_default() -> None:
    """configure() arguments override OBSBOX_* variables, which override defaults."""
    assert resolve_settings({}).tenant_top_n == 20
    assert resolve_settings({"OBSBOX_TENANT_TOP_N": "5"}).tenant_top_n == 5
    assert resolve_settings({"OBSBOX_TENANT_TOP_N": "5"}, tenant_top_n=7).tenant_top_n == 7


def test_otel_defaults_never_override_user_values() -> None:
    """obsbox fills OTEL_* defaults (semconv opt-in) only where the user set nothing."""
    env = {"OTEL_SEMCONV_STABILITY_OPT_IN": "http/dup"}
    applied = apply_otel_defaults(env)
    assert env["OTEL_SEMCONV_STABILITY_OPT_IN"] == "http/dup"
    assert "OTEL_SEMCONV_STABILITY_OPT_IN" not in applied
    assert env["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"


def test_sli_exclude_routes_defaults_replace_and_off() -> None:
    """Unset keeps the probe routes; a list replaces them; set but empty counts every request."""
    assert resolve_settings({}).sli_exclude_routes == frozenset(
        {"/healthz", "/livez", "/readyz", "/health", "/metrics"}
    )
    assert resolve_settings({"OBSBOX_SLI_EXCLUDE_ROUTES": "/ping, /status"}).sli_exclude_routes == frozenset(
        {"/ping", "/status"}
    )
    assert resolve_settings({"OBSBOX_SLI_EXCLUDE_ROUTES": ""}).sli_exclude_routes == frozenset()
    assert resolve_settings({}, sli_exclude_routes=["/x"]).sli_exclude_routes == frozenset({"/x"})


def test_sli_exclude_routes_rejects_a_route_without_slash() -> None:
    """A route that is no path is an error naming the variable."""
    with pytest.raises(SettingsError, match="OBSBOX_SLI_EXCLUDE_ROUTES='healthz'"):
        resolve_settings({"OBSBOX_SLI_EXCLUDE_ROUTES": "healthz"})
