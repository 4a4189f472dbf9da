# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""`fusion-ros bench`.

The table it prints and writes comes from real timed runs of the shipped model.
"""

from __future__ import annotations

from pathlib import Path
import re

from fusion_ros.cli.main import main


def test_bench_pipeline_table(tmp_path: Path) -> None:
    out = tmp_path / 'bench.md'
    assert (
        main(
            [
                'bench',
                '--models',
                'mmdrfuse',
                '--frames',
                '5',
                '--node-seconds',
                '0',
                '--process-scale',
                '0.5',
                '--out',
                str(out),
            ]
        )
        == 0
    )
    text = out.read_text()
    assert 'process_scale 0.5' in text and '--process-scale 0.5 --models mmdrfuse' in text
    row = next(line for line in text.splitlines() if line.startswith('| mmdrfuse |'))
    cells = [c.strip().strip('*') for c in row.strip('|').split('|')]
    assert re.fullmatch(r'(OpenCV|CPUExecutionProvider) x\d+', cells[1])  # the engine auto picked
    pre, inference, post, p50, p95 = (float(c) for c in cells[2:7])
    assert 0 < inference and 0 < p50 <= p95
    assert p50 >= 0.5 * (pre + inference + post)  # the total covers the stages it is made of
    assert cells[7] == '<= 5 ms' and cells[8:] == ['-', '-', '-', '-']  # node part skipped
    assert re.search(r'Measured \d{4}-\d\d-\d\d on .+\(\d+ cores\)', text)


def test_bench_extra_tables(tmp_path: Path) -> None:
    """--sizes, --pairs and --reference torch each add a table measured in the same run."""
    out = tmp_path / 'bench.md'
    assert (
        main(
            [
                'bench',
                '--models',
                'mmdrfuse',
                '--frames',
                '6',
                '--node-seconds',
                '0',
                '--sizes',
                '320x256,640x512',
                '--pairs',
                '2',
                '--reference',
                'torch',
                '--out',
                str(out),
            ]
        )
        == 0
    )
    text = out.read_text()
    assert '### Cost per pixel' in text and '320x256 ms (ms/MP)' in text
    assert re.search(r'\| mmdrfuse \| [\d.]+ \([\d.]+\) \| [\d.]+ \([\d.]+\) \| [+-]\d+% \|', text)
    assert '### 2 camera pairs at once' in text and re.search(
        r'\| 2 \| \w+ x\d \| [\d.]+ \|', text
    )
    ratio = re.search(r'\| mmdrfuse \| [\d.]+ \| [\d.]+ \| ([\d.]+)x \|', text)
    assert ratio and float(ratio.group(1)) > 0


def test_demo_and_bench_report_the_nodes_alignment_check() -> None:
    """The alignment score comes from the model's own /diagnostics, 'not judged' stays None."""
    from fusion_ros.cli.bench_cmd import alignment_lines
    from fusion_ros.live.stats import alignment_text, summarise
    from fusion_ros.nodes.demo_sink_node import Arrival, SinkRecord

    arrivals = [
        Arrival(i * 33_000_000, i * 33_000_000 + 9_000_000, 'f', 'bgr8', 64, 48) for i in range(4)
    ]
    record = SinkRecord(
        arrivals=arrivals,
        diagnostics=[
            {
                'model': 'mmdrfuse',
                'alignment_residual_px': '0.73',
                'alignment_correlation': '0.41',
                'inference_p50_ms': '2.5',
            },
            {
                'model': 'mobilefuse',
                'alignment_residual_px': 'not judged',
                'alignment_correlation': '-',
            },
        ],
    )
    student = summarise('mmdrfuse', 4, record)
    assert (student.alignment_residual_px, student.alignment_correlation) == (0.73, 0.41)
    assert alignment_text(student) == '0.73 px (edge correlation 0.41)'
    other = summarise('mobilefuse', 4, record)
    assert other.alignment_residual_px is None and alignment_text(other).startswith('not judged')
    text = alignment_lines([('mmdrfuse', {}, student), ('mobilefuse', {}, other)])
    assert 'mmdrfuse 0.73 px' in text and 'mobilefuse not judged' in text
    assert alignment_lines([('mmdrfuse', {}, None)]) == ''


def test_per_hop_table_adds_up_to_the_sinks_latency() -> None:
    """Hops in a frame's order from the node's /diagnostics; node -> sink closes the sum."""
    from fusion_ros.cli.bench_cmd import hop_lines
    from fusion_ros.live.stats import HOPS, summarise
    from fusion_ros.nodes.demo_sink_node import Arrival, SinkRecord

    # sink: 30 ms from capture to receipt for every frame
    arrivals = [
        Arrival(i * 33_000_000, i * 33_000_000 + 30_000_000, 'f', 'bgr8', 64, 48) for i in range(5)
    ]
    hops = {
        'receive': 3.0,
        'sync_wait': 1.0,
        'queue': 0.5,
        'decode': 0.5,
        'preprocess': 1.0,
        'inference': 4.0,
        'postprocess': 1.0,
        'publish': 1.0,
    }
    diagnostics = {f'{k}_p50_ms': f'{v:.2f}' for k, v in reversed(hops.items())}
    diagnostics |= {'end_to_end_p50_ms': '12.00', 'inference_p95_ms': '9.0', 'model': 'mmdrfuse'}
    stats = summarise('mmdrfuse', 5, SinkRecord(arrivals=arrivals, diagnostics=[diagnostics]))
    assert list(stats.stages_p50_ms) == list(HOPS)  # the frame's order, end_to_end apart
    assert stats.node_end_to_end_p50_ms == 12.0 and stats.delivery_hop_ms() == 18.0
    text = hop_lines([('mmdrfuse', {'total_p99': 7.5}, stats)])
    assert '### Where the time goes through the node' in text
    row = next(line for line in text.splitlines() if line.startswith('| mmdrfuse |'))
    cells = [c.strip().strip('*') for c in row.strip('|').split('|')]
    # camera->node, sync, queue, decode, pipeline (pre+inference+post), publish, node->sink, sum
    assert [float(c) for c in cells[1:9]] == [3.0, 1.0, 0.5, 0.5, 6.0, 1.0, 18.0, 30.0]
    assert float(cells[9]) == 30.0 and float(cells[11]) == 7.5
    assert hop_lines([('mmdrfuse', {}, None)]) == ''
