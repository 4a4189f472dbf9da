# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The `fusion-ros` dispatcher: every verb resolves to a module with the verb interface."""

from __future__ import annotations

import argparse
import importlib

from fusion_ros.cli.main import main, VERBS
import pytest


@pytest.mark.parametrize('verb', sorted(VERBS))
def test_every_verb_module_has_the_interface(verb: str) -> None:
    module = importlib.import_module(f'fusion_ros.cli.{VERBS[verb][0]}')
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    assert callable(module.run)


def test_help_lists_verbs(capsys) -> None:
    assert main(['--help']) == 0
    out = capsys.readouterr().out
    assert all(verb in out for verb in VERBS)


def test_unknown_verb_is_an_error(capsys) -> None:
    assert main(['frobnicate']) == 2
    assert 'unknown verb' in capsys.readouterr().err
