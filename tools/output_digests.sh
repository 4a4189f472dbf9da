#!/usr/bin/env bash
# Issue 18's "behaviour unchanged" check: sha256 of what the user-facing commands write.
# Usage: tools/output_digests.sh OUTDIR > digests.txt   (run before and after a refactor with the same
# OUTDIR, since eval names its input folders in leaderboard.md; diff them)
# Covers `fusion-ros fuse` (default MMDRFuse, the bundled demo pairs; plus TNO when ../shared exists),
# `fusion-ros eval` (TNO, 5 pairs), `fusion-ros fuse-bag` on `fusion-ros make-sample-bag` (fused image bytes, in bag order) and,
# with DEMO=1, the files `make demo` writes (mosaics; live timing makes latency figures vary).
set -euo pipefail
out=${1:?usage: $0 OUTDIR}
bin=${FUSION_ROS:-.venv/bin/fusion-ros}
py=${PYTHON:-.venv/bin/python}
rm -rf "$out" && mkdir -p "$out/pairs/ir" "$out/pairs/vi"
cp fusion_ros/data/demo/ir_*.png "$out/pairs/ir/" && cp fusion_ros/data/demo/vi_*.png "$out/pairs/vi/"
for f in "$out"/pairs/ir/ir_*.png; do mv "$f" "$out/pairs/ir/$(basename "$f" | cut -c4-)"; done
for f in "$out"/pairs/vi/vi_*.png; do mv "$f" "$out/pairs/vi/$(basename "$f" | cut -c4-)"; done
"$bin" fuse --ir "$out/pairs/ir" --vis "$out/pairs/vi" --out "$out/fused_demo" --mosaic >/dev/null 2>&1
(cd "$out/fused_demo" && sha256sum -- * | sed 's/^/fuse demo: /')
tno=../shared/datasets/tno
[ -d "$tno" ] || tno=/work/shared/datasets/tno
if [ -d "$tno/ir" ]; then
  mkdir -p "$out/tno/ir" "$out/tno/vi"
  for s in 01 02 03 04 05; do cp "$tno/ir/$s.png" "$out/tno/ir/" && cp "$tno/vi/$s.png" "$out/tno/vi/"; done
  "$bin" fuse --ir "$out/tno/ir" --vis "$out/tno/vi" --out "$out/fused_tno" >/dev/null 2>&1
  (cd "$out/fused_tno" && sha256sum -- * | sed 's/^/fuse tno: /')
  "$bin" eval --ir "$out/tno/ir" --vis "$out/tno/vi" --model mmdrfuse --classic all --baselines \
    --out "$out/eval_tno" >/dev/null 2>&1
  (cd "$out/eval_tno" && sha256sum -- * | sed 's/^/eval tno: /')
fi
"$bin" make-sample-bag "$out/sample" --seconds 2 >/dev/null 2>&1
"$bin" fuse-bag "$out/sample" "$out/sample_fused" --no-progress >/dev/null 2>&1
"$bin" make-sample-bag "$out/sample_c" --seconds 1 --compressed >/dev/null 2>&1
"$bin" fuse-bag "$out/sample_c" "$out/sample_c_fused" --no-progress >/dev/null 2>&1
"$py" - "$out" <<'PY'
import hashlib, sys
from fusion_ros.bags.io import BagReader
for name in ("sample_fused", "sample_c_fused"):
    with BagReader(f"{sys.argv[1]}/{name}") as r:
        h, n = hashlib.sha256(), 0
        for m in r.messages(["/fused/image_raw"]):
            h.update(bytes(m.data)); n += 1
        h2 = hashlib.sha256()
        for m in r.messages(None):
            if m.topic != "/diagnostics":
                h2.update(m.topic.encode()); h2.update(m.log_time_ns.to_bytes(8, "little")); h2.update(bytes(m.data))
    print(f"fuse-bag {name}: fused {n} frames {h.hexdigest()}  all-but-diagnostics {h2.hexdigest()}")
PY
if [ "${DEMO:-0}" = 1 ]; then
  "$bin" demo --out "$out/demo" --seconds 4 >/dev/null 2>&1
  (cd "$out/demo" && sha256sum -- *.png | sed 's/^/demo: /')
fi
