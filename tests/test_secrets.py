"""The credential pre-check: linear in the text (one huge word never stalls a write), and plain passwords warned
about as well as API keys, through detect-secrets' keyword detectors."""

from __future__ import annotations

import time

from helpers import Cli, MakeRepo, init_repo

from gittasks import secrets_check

WARNING = "looks like a credential"


def cpu_seconds_to_check(text: str) -> float:
    """The CPU time this process spends checking a task with `text` as its description (a busy machine does not
    count)."""
    started = time.process_time()
    secrets_check.findings({"description": text})
    return time.process_time() - started


def test_the_check_is_linear_in_the_text(make_repo: MakeRepo) -> None:
    cli = init_repo(make_repo(), inline=False)
    started = time.monotonic()
    cli.ok("create", "a" * 40_000)  # the old look-ahead took seconds here, and 1 MB hours
    assert time.monotonic() - started < 5
    secrets_check.findings({"subject": "password = 'Warm2up!x'"})  # detect-secrets' import is not the check
    huge = {
        "one word": "a" * 1_000_000,
        "one token": "a1" * 500_000,
        "words": "the quick brown fox, password reset\n" * 28_000,
        "near misses": "pw" * 500_000,
        "many candidates": " ".join(f"build{i:011d}" for i in range(60_000)),
        "many lines": "api_key = x\n" * 85_000,
        "urls": "http://a:" * 110_000,
    }
    for name, text in huge.items():
        assert len(text) >= 990_000
        spent = cpu_seconds_to_check(text)
        assert spent < 0.8, f"{name}: {spent:.2f} s for 1 MB"
    end = "x" * 999_000 + " aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert secrets_check.findings({"description": end}) == ["description: Secret Keyword"]


def test_plain_passwords_are_credentials_too(cli: Cli) -> None:
    for subject in (
        "temp pw is Summer2026!xK9",
        'password = "Hunter2xyz!"',
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "db password: Summer2026xK9 for staging",
    ):
        err = cli.run("create", subject).stderr
        assert WARNING in err and "subject:" in err, subject
    err = cli.run("create", "Deploy", "--meta", "password=Summer2026xK9").stderr
    assert WARNING in err and "metadata.password" in err
    for harmless in (
        "Fix the password reset page",
        "the password is stored in the vault",
        "password: use the team vault",
        "token = ${API_TOKEN}",
        "Upgrade to version 2.4.1 of libfoo2024",
    ):
        assert WARNING not in cli.run("create", harmless).stderr, harmless
    assert WARNING not in cli.run("create", "Ship", "--meta", "client=Acme2026Corp").stderr
    assert cli.run("doctor").stdout.count(WARNING) == 5
