"""ClientConfig from the environment, RequestStats reporting, and log redaction (no I/O)."""

from __future__ import annotations

import logging

import pytest

from provisioner.client import DEFAULT_BASE_URL, ClientConfig, RequestStats, redact
from provisioner.errors import TargetError

SECRET = "cfg-secret-6a5b4c3d2e1f"


def test_from_env_reads_the_epcc_cli_variables() -> None:
    env = {
        "EPCC_API_BASE_URL": "https://useast.api.elasticpath.com/",
        "EPCC_CLIENT_ID": "the-id",
        "EPCC_CLIENT_SECRET": SECRET,
        "EPCC_RATE_LIMIT": "12.5",
    }
    config = ClientConfig.from_env(env)
    assert config.base_url == "https://useast.api.elasticpath.com"  # trailing "/" stripped
    assert (config.client_id, config.client_secret, config.rate_limit) == ("the-id", SECRET, 12.5)
    assert not config.read_only


def test_from_env_defaults_and_overrides() -> None:
    config = ClientConfig.from_env({"EPCC_CLIENT_ID": "id"})
    assert config.base_url == DEFAULT_BASE_URL
    assert config.rate_limit == 25.0  # issue 11: the default ceiling is 25 req/s
    assert config.client_secret is None
    assert config.read_only  # no secret: the implicit grant
    # Keywords override the environment; a keyword given as None means "option not given".
    env = {"EPCC_CLIENT_ID": "env-id", "EPCC_RATE_LIMIT": "5"}
    config = ClientConfig.from_env(
        env, client_id="cli-id", rate_limit=None, base_url="http://127.0.0.1:9/", max_attempts=2
    )
    assert (config.client_id, config.rate_limit, config.base_url, config.max_attempts) == (
        "cli-id",
        5.0,
        "http://127.0.0.1:9",
        2,
    )


def test_an_empty_secret_means_the_implicit_grant() -> None:
    config = ClientConfig.from_env({"EPCC_CLIENT_ID": "id", "EPCC_CLIENT_SECRET": "  "})
    assert config.read_only
    assert ClientConfig("http://x", "id", "").read_only


def test_deprecated_base_url_is_accepted_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="provisioner.client"):
        config = ClientConfig.from_env(
            {"EPCC_API_BASE_URL": "https://api.moltin.com/", "EPCC_CLIENT_ID": "id"}
        )
    assert config.base_url == "https://api.moltin.com"
    assert "deprecated" in caplog.text
    assert "https://euwest.api.elasticpath.com" in caplog.text


def test_current_base_url_gives_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        ClientConfig.from_env({"EPCC_CLIENT_ID": "id"})
    assert caplog.text == ""


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "EPCC_CLIENT_ID"),
        ({"EPCC_CLIENT_ID": "id", "EPCC_RATE_LIMIT": "fast"}, "EPCC_RATE_LIMIT"),
        ({"EPCC_CLIENT_ID": "id", "EPCC_RATE_LIMIT": "0"}, "EPCC_RATE_LIMIT"),
        ({"EPCC_CLIENT_ID": "id", "EPCC_API_BASE_URL": "euwest.api.elasticpath.com"}, "http"),
    ],
)
def test_bad_settings_are_target_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(TargetError, match=message):
        ClientConfig.from_env(env)


@pytest.mark.parametrize(
    "setting", [{"max_in_flight": 0}, {"max_attempts": 0}, {"deadline": 0}, {"timeout": -1}]
)
def test_bad_numbers_are_refused(setting: dict[str, float]) -> None:
    with pytest.raises(TargetError, match=next(iter(setting))):
        ClientConfig("http://x", "id", **setting)  # type: ignore[arg-type]


def test_repr_never_shows_the_secret() -> None:
    config = ClientConfig("http://x", "id", SECRET)
    assert SECRET not in repr(config)
    assert SECRET not in str(config)
    assert "client_id='id'" in repr(config)


def test_stats_summary_and_dict() -> None:
    stats = RequestStats()
    assert stats.summary() == "0 requests"
    stats.requests[("GET", 200)] += 9
    stats.requests[("POST", 201)] += 3
    stats.requests[("POST", 429)] += 1
    stats.failures["timeout"] += 1
    stats.retries = 2
    stats.adopted = 1
    stats.throttled_seconds = 0.25
    stats.retry_after_seconds = 1.0
    assert stats.total == 14
    assert stats.count("POST") == 4
    assert stats.count(status=201) == 3
    assert stats.summary() == (
        "14 requests (GET 200 ×9, POST 201 ×3, POST 429 ×1, timeout ×1), 2 retries, "
        "1 adopted after a lost answer, throttled 1.2 s (rate limit 0.2 s, Retry-After 1.0 s)"
    )
    data = stats.to_dict()
    assert data["total"] == 14
    assert data["requests"][0] == {"method": "GET", "status": 200, "count": 9}
    assert data["failures"] == {"timeout": 1}
    assert (data["retries"], data["adopted"], data["retry_after_seconds"]) == (2, 1, 1.0)


def test_redact_masks_known_secrets_and_credential_shapes() -> None:
    text = (
        f"secret {SECRET} header Authorization: Bearer abc123def "
        "form grant_type=client_credentials&client_secret=xyz789&client_id=id"
    )
    clean = redact(text, [SECRET])
    assert SECRET not in clean
    assert "abc123def" not in clean
    assert "xyz789" not in clean
    assert "client_id=id" in clean


def test_stats_show_what_pacing_did() -> None:
    stats = RequestStats(ceiling=25.0, lowest_rate=25.0)
    stats.requests[("GET", 200)] += 40
    stats.requests[("GET", 429)] += 2
    stats.first_at, stats.last_at = 100.0, 104.2
    assert stats.summary().endswith(", 10 req/s effective")
    stats.lowest_rate = 1.8
    assert stats.summary().endswith(", 10 req/s effective, pace lowered to 1.8 req/s (ceiling 25)")
    assert stats.ceiling_note() is None
    stats.ceiling_held_seconds = 12.5
    note = stats.ceiling_note()
    assert note is not None
    assert "ceiling of 25 requests/s held this run back for 12.5 s" in note
    assert "EPCC_RATE_LIMIT (a production store allows 100)." in note
    at_100 = RequestStats(ceiling=100.0, lowest_rate=100.0)
    at_100.ceiling_held_seconds = 4.0
    assert str(at_100.ceiling_note()).endswith("raise EPCC_RATE_LIMIT.")  # (it is 100 already)
    pacing = stats.to_dict()["pacing"]
    assert pacing == {
        "ceiling": 25.0,
        "effective_rate": 10.0,
        "rate_limited": 2,
        "waiting_for_pace_seconds": 0.0,
        "lowest_rate": 1.8,
        "held_by_ceiling_seconds": 12.5,
    }
