# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Take out the whitespace before ':' that flake8 reports as E203 (ruff format puts it there).

Usage: python tools/lint_fix_e203.py FLAKE8 PATH... (tools/lint_fix.sh runs it after ruff format).
"""

import collections
import subprocess
import sys


def main(argv: list[str]) -> int:
    flake8, paths = argv[0], argv[1:]
    report = subprocess.run(
        [
            flake8,
            '--select',
            'E203',
            '--no-show-source',
            '--format',
            'E203@%(path)s:%(row)d:%(col)d',
        ]
        + paths,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    spots = collections.defaultdict(list)
    for line in report.splitlines():
        if line.startswith('E203@'):  # not the statistics lines that setup.cfg asks for
            path, row, col = line[len('E203@'):].rsplit(':', 2)
            spots[path].append((int(row), int(col)))
    for path, places in spots.items():
        with open(path, encoding='utf-8') as f:
            lines = f.read().split('\n')
        for row, col in sorted(places, reverse=True):  # right to left: earlier columns stay valid
            text = lines[row - 1]
            end = col - 1
            while end < len(text) and text[end] == ' ':
                end += 1
            lines[row - 1] = text[: col - 1] + text[end:]
        with open(path, 'w', encoding='utf-8') as f:
            f.write('\n'.join(lines))
        print(f'E203: {path} ({len(places)})')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
