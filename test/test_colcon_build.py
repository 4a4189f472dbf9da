"""`colcon build` of the package installs what `ros2 run` and `ros2 launch` look for."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COLCON = shutil.which("colcon") or str(Path(sys.executable).with_name("colcon"))


@pytest.fixture(scope="module")
def install(tmp_path_factory) -> Path:
    if not Path(COLCON).exists():
        pytest.skip("colcon is not installed (pip install colcon-core colcon-ros colcon-python-setup-py)")
    ws = tmp_path_factory.mktemp("ws")
    result = subprocess.run(
        [COLCON, "--log-base", str(ws / "log"), "build", "--base-paths", str(REPO),
         "--build-base", str(ws / "build"), "--install-base", str(ws / "install")],
        cwd=ws, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return ws / "install" / "fusion_ros"


def test_executables_installed_where_ros2_run_looks(install: Path) -> None:
    lib = install / "lib" / "fusion_ros"
    for exe in ("fusion_node", "train_node", "replay_node", "recorder_node", "demo_source_node",
                "demo_sink_node", "fusion-ros"):
        assert (lib / exe).is_file(), f"{exe} missing from {lib}"
        assert os.access(lib / exe, os.X_OK)


def test_share_files_installed_for_ros2_launch(install: Path) -> None:
    share = install / "share" / "fusion_ros"
    for rel in ("package.xml", "launch/fuse.launch.py", "config/fusion.yaml", "config/fusion.rviz",
                "config/fastdds.xml"):
        assert (share / rel).is_file(), f"{rel} missing from {share}"
    assert (install.parent / "fusion_ros" / "share" / "ament_index" / "resource_index" / "packages"
            / "fusion_ros").is_file()


def test_installed_package_carries_weights_and_demo_data(install: Path) -> None:
    site = next((install / "lib").glob("python3*/site-packages/fusion_ros"))
    for name in ("mmdrfuse", "mobilefuse", "aenetv2"):
        assert (site / "weights" / f"{name}.onnx").is_file()
        assert (site / "weights" / f"{name}.json").is_file()
    assert len(list((site / "data" / "demo").glob("*.png"))) >= 4


def test_installed_cli_runs(install: Path) -> None:
    site = next((install / "lib").glob("python3*/site-packages"))
    env = dict(os.environ, PYTHONPATH=str(site))
    out = subprocess.run([sys.executable, str(install / "lib" / "fusion_ros" / "fusion-ros"), "--help"],
                         env=env, capture_output=True, text=True, timeout=60, cwd=install)
    assert out.returncode == 0, out.stderr
    assert "demo" in out.stdout and "fuse-bag" in out.stdout
