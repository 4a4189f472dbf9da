# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""The README stays a short user's page (issue 18) and its links point at files that exist."""

from __future__ import annotations

from pathlib import Path
import re

ROOT = Path(__file__).resolve().parents[1]


def test_readme_is_short_and_its_links_resolve():
    text = (ROOT / 'README.md').read_text()
    assert len(text.encode()) < 15_000, 'README over 15 kB: move detail to docs/'
    for doc in ('README.md', 'docs/ARCHITECTURE.md', 'docs/QUALITY.md', 'docs/CHANGELOG.md'):
        base = (ROOT / doc).parent
        for target in re.findall(r'\]\(([^)#\s]+)\)', (ROOT / doc).read_text()):
            if '://' in target:
                continue
            assert (base / target).exists(), f'{doc}: broken link {target}'
