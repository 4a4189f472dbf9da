"""Start fusion_node with the shipped parameters and DDS profile.

    ros2 launch fusion_ros fuse.launch.py model:=mobilefuse backend:=cuda \
        visible_topic:=/camera/color/image_raw visible_info_topic:=/camera/color/camera_info \
        thermal_topic:=/thermal/image_raw namespace:=drone1 use_sim_time:=false

Sets FASTDDS_DEFAULT_PROFILES_FILE to the installed config/fastdds.xml (a 32 MiB shared-memory
segment, so ~1 MB frames are not fragmented over UDP) unless it is already set.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, SetEnvironmentVariable
from launch.substitutions import EnvironmentVariable, LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue


def generate_launch_description():
    share = get_package_share_directory("fusion_ros")
    default_params = os.path.join(share, "config", "fusion.yaml")
    fastdds_profile = os.path.join(share, "config", "fastdds.xml")

    arguments = [
        DeclareLaunchArgument("model", default_value="mmdrfuse",
                              description="mmdrfuse | mobilefuse | aenetv2 | path/to/model.onnx"),
        DeclareLaunchArgument("backend", default_value="auto",
                              description="auto | cpu | cuda | tensorrt | opencv"),
        DeclareLaunchArgument("visible_topic", default_value="visible/image_raw",
                              description="visible camera image topic"),
        DeclareLaunchArgument("visible_info_topic", default_value="visible/camera_info",
                              description="visible camera_info topic"),
        DeclareLaunchArgument("thermal_topic", default_value="thermal/image_raw",
                              description="thermal camera image topic"),
        DeclareLaunchArgument("input_transport", default_value="raw",
                              description="raw | compressed (subscribes to <topic>/compressed)"),
        DeclareLaunchArgument("params_file", default_value=default_params,
                              description="ROS 2 params file for fusion_node"),
        DeclareLaunchArgument("use_sim_time", default_value="false",
                              description="use /clock (bag replay, simulation)"),
        DeclareLaunchArgument("namespace", default_value="",
                              description="namespace of the node and its relative topics"),
    ]

    # Keep a profile the user already chose; otherwise use the shipped one.
    dds_profile = SetEnvironmentVariable(
        "FASTDDS_DEFAULT_PROFILES_FILE",
        EnvironmentVariable("FASTDDS_DEFAULT_PROFILES_FILE", default_value=fastdds_profile))

    fusion_node = Node(
        package="fusion_ros",
        executable="fusion_node",
        name="fusion_node",
        namespace=LaunchConfiguration("namespace"),
        output="screen",
        emulate_tty=True,
        parameters=[
            LaunchConfiguration("params_file"),
            {
                "model": ParameterValue(LaunchConfiguration("model"), value_type=str),
                "backend": ParameterValue(LaunchConfiguration("backend"), value_type=str),
                "input_transport": ParameterValue(LaunchConfiguration("input_transport"),
                                                  value_type=str),
                "use_sim_time": ParameterValue(LaunchConfiguration("use_sim_time"), value_type=bool),
            },
        ],
        remappings=[
            ("visible/image_raw", LaunchConfiguration("visible_topic")),
            ("visible/camera_info", LaunchConfiguration("visible_info_topic")),
            ("thermal/image_raw", LaunchConfiguration("thermal_topic")),
            # image_transport naming: input_transport=compressed subscribes to <topic>/compressed
            ("visible/image_raw/compressed", [LaunchConfiguration("visible_topic"), "/compressed"]),
            ("thermal/image_raw/compressed", [LaunchConfiguration("thermal_topic"), "/compressed"]),
        ],
    )

    return LaunchDescription(arguments + [dds_profile, fusion_node])
