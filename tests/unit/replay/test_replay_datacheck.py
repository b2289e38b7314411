"""Whether a rule could see a recording at all: its selectors, through recording rules, against
the recording's series (what lets the per-rule table say "no data" instead of "0 of N")."""

from __future__ import annotations

from pathlib import Path

from obsbox.replay.datacheck import DataCheck, sees_data

SERIES = [
    {"__name__": "http_requests_total", "job": "invoicing-demo", "code": "503"},
    {"__name__": "node_filesystem_avail_bytes", "mountpoint": "/var"},
]
RECORDED = {"job:errors:ratio_rate5m": ["sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m]))"]}


def test_selector_of_another_service_sees_nothing() -> None:
    """A selector for job payments-demo sees nothing where only invoicing-demo has series."""
    assert not sees_data('rate(http_requests_total{job="payments-demo"}[5m]) > 0', SERIES, RECORDED)
    assert sees_data('rate(http_requests_total{job="invoicing-demo"}[5m]) > 0', SERIES, RECORDED)


def test_recording_rule_output_is_followed_to_its_inputs_with_the_outer_matchers() -> None:
    """`job:errors:ratio_rate5m{job="X"}` sees data exactly when X's inputs exist."""
    expr = 'job:errors:ratio_rate5m{job="%s"} > 0.01 and job:errors:ratio_rate5m{job="%s"} > 0.01'
    assert sees_data(expr % ("invoicing-demo", "invoicing-demo"), SERIES, RECORDED)
    assert not sees_data(expr % ("payments-demo", "payments-demo"), SERIES, RECORDED)


def test_regex_and_negative_matchers() -> None:
    """=~, !~ and != are anchored and negated as Prometheus does."""
    assert sees_data('node_filesystem_avail_bytes{mountpoint=~"/v.*"}', SERIES, {})
    assert not sees_data('node_filesystem_avail_bytes{mountpoint=~"/v"}', SERIES, {})
    assert not sees_data('node_filesystem_avail_bytes{mountpoint!~"/var"}', SERIES, {})
    assert sees_data('http_requests_total{code!="200"}', SERIES, {})


def test_data_check_reads_a_recording_file(tmp_path: Path) -> None:
    """DataCheck reads the series of an OpenMetrics file once and answers per expression."""
    data = tmp_path / "r.om"
    data.write_text('up{job="a"} 1 1000.000\nup{job="a"} 1 1015.000\n# EOF\n')
    check = DataCheck({})
    assert check('up{job="a"} == 0', data) is True
    assert check('up{job="b"} == 0', data) is False
    assert check("up == 0", tmp_path / "missing.om") is None
