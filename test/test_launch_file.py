"""launch/fuse.launch.py and config/: static checks (launch/launch_ros are not installable here).

The launch file is parsed with `ast`: it must compile, name only executables that setup.py
installs, reference only files that exist, and set only parameters the node declares. The params
file and the rviz config are checked against the node's parameter table and topics. Where
launch_ros is importable, generate_launch_description() is also called.
"""
from __future__ import annotations

import ast
import importlib.util
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from fusion_ros.ros.parameters import BUILTIN_PARAMETERS, PARAMETERS

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = ROOT / "launch" / "fuse.launch.py"
PARAMS = ROOT / "config" / "fusion.yaml"
RVIZ = ROOT / "config" / "fusion.rviz"
FASTDDS = ROOT / "config" / "fastdds.xml"
DECLARED = set(PARAMETERS) | set(BUILTIN_PARAMETERS)


def _tree():
    return ast.parse(LAUNCH.read_text(), filename=str(LAUNCH))


def _calls(tree, name):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            fname = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if fname == name:
                yield node


def _kw(call, name):
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def _console_scripts():
    """setup.py's console_scripts {name: "module:function"}, read with ast (running it would build)."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    scripts = {}
    for call in _calls(tree, "setup"):
        entry_points = ast.literal_eval(_kw(call, "entry_points"))
        for line in entry_points["console_scripts"]:
            name, target = (part.strip() for part in line.split("="))
            scripts[name] = target
    return scripts


def test_launch_file_compiles_and_defines_generate_launch_description():
    source = LAUNCH.read_text()
    compile(source, str(LAUNCH), "exec")
    funcs = [n.name for n in _tree().body if isinstance(n, ast.FunctionDef)]
    assert "generate_launch_description" in funcs


def test_launch_arguments():
    names = {ast.literal_eval(c.args[0]) for c in _calls(_tree(), "DeclareLaunchArgument")}
    assert {"model", "backend", "visible_topic", "thermal_topic", "params_file", "use_sim_time",
            "namespace"} <= names
    # Every LaunchConfiguration used is declared.
    used = {ast.literal_eval(c.args[0]) for c in _calls(_tree(), "LaunchConfiguration")}
    assert used <= names, used - names


def test_executables_exist_in_setup_entry_points():
    scripts = _console_scripts()
    assert scripts.get("fusion_node") == "fusion_ros.nodes.fusion_node:main"
    nodes = list(_calls(_tree(), "Node"))
    assert nodes, "no Node action"
    for call in nodes:
        assert ast.literal_eval(_kw(call, "package")) == "fusion_ros"
        executable = ast.literal_eval(_kw(call, "executable"))
        assert executable in scripts, f"{executable} is not a console script in setup.py"
        module, func = scripts[executable].split(":")
        assert importlib.util.find_spec(module) is not None
        assert f"def {func}(" in (ROOT / (module.replace(".", "/") + ".py")).read_text()
        assert ast.literal_eval(_kw(call, "name")) == "fusion_node"


def test_referenced_files_exist_and_are_installed():
    tree = _tree()
    packages = {ast.literal_eval(c.args[0]) for c in _calls(tree, "get_package_share_directory")}
    assert packages == {"fusion_ros"}
    joined = []
    for call in _calls(tree, "join"):  # os.path.join(share, "config", "x")
        parts = [ast.literal_eval(a) for a in call.args[1:] if isinstance(a, ast.Constant)]
        if parts:
            joined.append(Path(*parts))
    assert Path("config/fusion.yaml") in joined and Path("config/fastdds.xml") in joined
    setup_text = (ROOT / "setup.py").read_text()
    for rel in joined:
        assert (ROOT / rel).is_file(), f"{rel} referenced by the launch file does not exist"
        # setup.py installs config/*.yaml|*.rviz|*.xml and launch/*.launch.py into share/
        assert f'glob("{rel.parent}/*{rel.suffix}")' in setup_text, f"{rel} not installed"
    assert 'glob("launch/*.launch.py")' in setup_text


def test_fastdds_profile_variable_is_set_unless_already_set():
    calls = list(_calls(_tree(), "SetEnvironmentVariable"))
    assert calls
    call = calls[0]
    assert ast.literal_eval(call.args[0]) == "FASTDDS_DEFAULT_PROFILES_FILE"
    value = call.args[1]
    assert isinstance(value, ast.Call) and value.func.id == "EnvironmentVariable"
    assert ast.literal_eval(value.args[0]) == "FASTDDS_DEFAULT_PROFILES_FILE"
    assert _kw(value, "default_value") is not None


def test_parameters_set_by_launch_are_declared_by_node():
    for call in _calls(_tree(), "Node"):
        params = _kw(call, "parameters")
        for element in params.elts:
            if isinstance(element, ast.Dict):
                for key in element.keys:
                    assert ast.literal_eval(key) in DECLARED, ast.literal_eval(key)


def test_remappings_cover_the_node_inputs():
    for call in _calls(_tree(), "Node"):
        sources = {ast.literal_eval(t.elts[0]) for t in _kw(call, "remappings").elts}
        assert {"visible/image_raw", "thermal/image_raw"} <= sources
        # The node's relative input names, as the node creates them.
        text = (ROOT / "fusion_ros/nodes/fusion_node.py").read_text()
        for src in sources:
            base = src.split("/")[0]
            if src.endswith("/compressed"):  # image_transport: the node appends "/compressed"
                assert 'topic += "/compressed"' in text
                src = src[: -len("/compressed")]
            assert f'"{src}"' in text or (src.endswith("image_raw") and '{name}/image_raw' in text
                                           and base in ("visible", "thermal"))


def _flatten(d, prefix=""):
    for key, value in d.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def test_params_file_keys_are_declared_with_valid_values():
    data = yaml.safe_load(PARAMS.read_text())
    assert len(data) == 1
    (node_key, body), = data.items()
    assert node_key in ("fusion_node", "/fusion_node", "/**", "/**/fusion_node")
    params = dict(_flatten(body["ros__parameters"]))
    for name, value in params.items():
        assert name in DECLARED, f"{name} in fusion.yaml is not declared by the node"
        if name in PARAMETERS:
            spec = PARAMETERS[name]
            assert spec.validate(value) is None, spec.validate(value)
            expected = spec.default
            assert value == expected, f"fusion.yaml {name}={value!r} differs from the default {expected!r}"
    # Every node parameter is in the file, each with a comment.
    assert set(PARAMETERS) <= set(params), set(PARAMETERS) - set(params)
    lines = PARAMS.read_text().splitlines()
    for name in PARAMETERS:
        idx = next(i for i, l in enumerate(lines) if re.match(rf"\s+{name}:", l))
        assert lines[idx - 1].strip().startswith("#"), f"{name} has no comment above it"


def test_rviz_config():
    data = yaml.safe_load(RVIZ.read_text())
    manager = data["Visualization Manager"]
    assert manager["Global Options"]["Fixed Frame"] == "camera_visible_optical_frame"
    images = [d for d in manager["Displays"] if d["Class"] == "rviz_default_plugins/Image"]
    topics = {d["Topic"]["Value"] for d in images}
    assert topics == {"/visible/image_raw", "/thermal/image_raw", "/fused/image_raw"}
    assert all(d["Topic"]["Reliability Policy"] == "Reliable" for d in images)
    from fusion_ros.images.demo_sequence import VISIBLE_FRAME_ID  # the demo source's frame

    assert VISIBLE_FRAME_ID == manager["Global Options"]["Fixed Frame"]


def test_fastdds_profile():
    ns = {"d": "http://www.eprosima.com"}
    root = ET.parse(FASTDDS).getroot()
    descriptors = {d.find("d:transport_id", ns).text: d
                   for d in root.iter(f"{{{ns['d']}}}transport_descriptor")}
    kinds = {d.find("d:type", ns).text for d in descriptors.values()}
    assert kinds == {"SHM", "UDPv4"}
    shm = next(d for d in descriptors.values() if d.find("d:type", ns).text == "SHM")
    assert int(shm.find("d:segment_size", ns).text) == 32 * 1024 * 1024
    participant = root.find(".//d:participant", ns)
    assert participant.get("is_default_profile") == "true"
    rtps = participant.find("d:rtps", ns)
    assert rtps.find("d:useBuiltinTransports", ns).text == "false"
    used = {t.text for t in rtps.find("d:userTransports", ns)}
    assert used == set(descriptors)


@pytest.mark.skipif(importlib.util.find_spec("launch_ros") is None, reason="launch_ros not installed")
def test_generate_launch_description_with_launch_ros():  # pragma: no cover - ROS installs only
    spec = importlib.util.spec_from_file_location("fuse_launch", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        description = module.generate_launch_description()
    except Exception as exc:  # package not installed in an ament index (source checkout)
        if "PackageNotFound" in type(exc).__name__:
            pytest.skip("fusion_ros is not installed in an ament index")
        raise
    assert description.entities
