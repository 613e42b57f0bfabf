"""Worker count (issue 13 item 4): `auto` is one per available CPU and the default without --dev; --dev keeps one;
HYDRALITE_WORKERS and `serve --workers` take N or auto, the command line winning."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hydralite.cli.main import build_parser
from hydralite.config import ConfigError, load
from hydralite.config.workers import available_cpus, default_workers, parse_workers

GOOD = "a-system-secret-of-32-characters"
PRODUCTION = {"SECRETS_SYSTEM": GOOD, "URLS_SELF_ISSUER": "https://auth.example.com/"}
CPUS = len(os.sched_getaffinity(0))


def test_auto_is_the_cpus_this_process_may_use():
    assert available_cpus() == CPUS
    assert parse_workers("auto") == parse_workers(" AUTO ") == CPUS


def test_auto_follows_the_affinity_mask_not_the_machine():
    """A container limited to one CPU (cpuset) must not fork one worker per host CPU."""
    code = ("import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
            "from hydralite.config.workers import available_cpus; print(available_cpus(), os.cpu_count())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split()[0] == "1", done.stdout


@pytest.mark.parametrize(("text", "count"), [("1", 1), ("3", 3), (" 2 ", 2), ("1024", 1024)])
def test_a_number_is_taken_as_it_is(text, count):
    assert parse_workers(text) == count


@pytest.mark.parametrize("bad", ["0", "-1", "1025", "two", "", "2.5", "auto2"])
def test_bad_counts_are_refused(bad):
    with pytest.raises(ValueError, match="auto"):
        parse_workers(bad)


def test_unset_means_one_under_dev_and_every_cpu_otherwise():
    assert default_workers("", dev=True) == 1
    assert default_workers("  ", dev=False) == CPUS
    assert default_workers("3", dev=True) == 3
    assert default_workers("auto", dev=True) == CPUS


def test_config_resolves_the_environment():
    assert load(PRODUCTION).workers == CPUS
    assert load(PRODUCTION, dev=True).workers == 1
    assert load({**PRODUCTION, "DEV": "true"}).workers == 1  # dev from the environment (or a file) counts too
    assert load({**PRODUCTION, "HYDRALITE_WORKERS": "5"}).workers == 5
    assert load({**PRODUCTION, "HYDRALITE_WORKERS": "auto"}, dev=True).workers == CPUS


@pytest.mark.parametrize("bad", ["0", "many", "-3"])
def test_config_names_a_bad_setting(bad):
    with pytest.raises(ConfigError, match="HYDRALITE_WORKERS"):
        load({**PRODUCTION, "HYDRALITE_WORKERS": bad})


def test_the_command_line_takes_n_or_auto():
    parser = build_parser()
    assert parser.parse_args(["serve", "all"]).workers is None  # then the configuration decides
    assert parser.parse_args(["serve", "all", "--workers", "3"]).workers == 3
    assert parser.parse_args(["serve", "all", "--workers", "auto"]).workers == CPUS


def test_the_command_line_refuses_a_bad_count(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "all", "--workers", "0"])
    assert "--workers: must be between 1 and 1024" in capsys.readouterr().err
