# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Start fusion_node with the shipped parameters and DDS profile (and rviz2 on request).

    ros2 launch fusion_ros fuse.launch.py model:=mobilefuse backend:=cuda \
        visible_topic:=/camera/color/image_raw visible_info_topic:=/camera/color/camera_info \
        thermal_topic:=/thermal/image_raw namespace:=drone1 use_sim_time:=false rviz:=true

Sets FASTDDS_DEFAULT_PROFILES_FILE to the installed config/fastdds.xml (a 32 MiB shared-memory
segment, so ~1 MB frames are not fragmented over UDP) unless it is already set. ``rviz:=true``
starts rviz2 (not a dependency of the package: install it where the images are watched) with
config/fusion.rviz rewritten for the namespace and topics of this launch.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import EnvironmentVariable, LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

SHARE = FindPackageShare('fusion_ros')
DEFAULT_PARAMS = PathJoinSubstitution([SHARE, 'config', 'fusion.yaml'])
FASTDDS_PROFILE = PathJoinSubstitution([SHARE, 'config', 'fastdds.xml'])
RVIZ_TEMPLATE = PathJoinSubstitution([SHARE, 'config', 'fusion.rviz'])


def _arguments():
    return [
        DeclareLaunchArgument(
            'model',
            default_value='mmdrfuse',
            description='mmdrfuse | mobilefuse | aenetv2 | hafnas8 | path/to/model.onnx',
        ),
        DeclareLaunchArgument(
            'backend', default_value='auto', description='auto | cpu | cuda | tensorrt | opencv'
        ),
        DeclareLaunchArgument(
            'visible_topic',
            default_value='visible/image_raw',
            description='visible camera image topic',
        ),
        DeclareLaunchArgument(
            'visible_info_topic',
            default_value='visible/camera_info',
            description='visible camera_info topic',
        ),
        DeclareLaunchArgument(
            'thermal_topic',
            default_value='thermal/image_raw',
            description='thermal camera image topic',
        ),
        DeclareLaunchArgument(
            'thermal_info_topic',
            default_value='thermal/camera_info',
            description='thermal camera_info topic (its calibration undistorts the thermal image)',
        ),
        DeclareLaunchArgument(
            'input_transport',
            default_value='raw',
            description='raw | compressed (subscribes to <topic>/compressed)',
        ),
        DeclareLaunchArgument(
            'input_reliability',
            default_value='auto',
            choices=['auto', 'reliable', 'best_effort'],
            description='camera subscriptions: auto (match the publishers: '
            'best effort if any is), reliable or best_effort',
        ),
        DeclareLaunchArgument(
            'params_file',
            default_value=DEFAULT_PARAMS,
            description='ROS 2 params file for fusion_node',
        ),
        DeclareLaunchArgument(
            'use_sim_time',
            default_value='false',
            description='use /clock (bag replay, simulation)',
        ),
        DeclareLaunchArgument(
            'namespace',
            default_value='',
            description='namespace of the node and its relative topics',
        ),
        DeclareLaunchArgument(
            'lifecycle',
            default_value='false',
            choices=['true', 'false'],
            description='start fusion_node as a managed (lifecycle) node: '
            'configure loads the model, activate fuses',
        ),
        DeclareLaunchArgument(
            'rviz',
            default_value='false',
            choices=['true', 'false'],
            description='also start rviz2 showing the visible, thermal and '
            'fused images of this launch',
        ),
    ]


def _rviz(context):
    """rviz2 with config/fusion.rviz rewritten for this launch's namespace and remaps."""
    from fusion_ros.ros.rviz_config import join_namespace, write_rviz_config

    args = context.launch_configurations
    namespace = join_namespace(args.get('ros_namespace', ''), args['namespace'])
    config = write_rviz_config(
        RVIZ_TEMPLATE.perform(context),
        namespace,
        {'visible/image_raw': args['visible_topic'], 'thermal/image_raw': args['thermal_topic']},
        args['input_reliability'],
    )
    return [
        Node(
            package='rviz2',
            executable='rviz2',
            name='rviz2',
            output='screen',
            arguments=['-d', str(config)],
            parameters=[
                {
                    'use_sim_time': ParameterValue(
                        LaunchConfiguration('use_sim_time'), value_type=bool
                    )
                }
            ],
        )
    ]


def generate_launch_description():
    # Keep a profile the user already chose; otherwise use the shipped one.
    dds_profile = SetEnvironmentVariable(
        'FASTDDS_DEFAULT_PROFILES_FILE',
        EnvironmentVariable('FASTDDS_DEFAULT_PROFILES_FILE', default_value=FASTDDS_PROFILE),
    )

    fusion_node = {
        'package': 'fusion_ros',
        'executable': 'fusion_node',
        'name': 'fusion_node',
        'namespace': LaunchConfiguration('namespace'),
        'output': 'screen',
        'emulate_tty': True,
        'parameters': [
            LaunchConfiguration('params_file'),
            {
                'model': ParameterValue(LaunchConfiguration('model'), value_type=str),
                'backend': ParameterValue(LaunchConfiguration('backend'), value_type=str),
                'input_transport': ParameterValue(
                    LaunchConfiguration('input_transport'), value_type=str
                ),
                'input_reliability': ParameterValue(
                    LaunchConfiguration('input_reliability'), value_type=str
                ),
                'use_sim_time': ParameterValue(
                    LaunchConfiguration('use_sim_time'), value_type=bool
                ),
            },
        ],
        'remappings': [
            ('visible/image_raw', LaunchConfiguration('visible_topic')),
            ('visible/camera_info', LaunchConfiguration('visible_info_topic')),
            ('thermal/image_raw', LaunchConfiguration('thermal_topic')),
            ('thermal/camera_info', LaunchConfiguration('thermal_info_topic')),
            # image_transport naming: input_transport=compressed subscribes to <topic>/compressed
            (
                'visible/image_raw/compressed',
                [LaunchConfiguration('visible_topic'), '/compressed'],
            ),
            (
                'thermal/image_raw/compressed',
                [LaunchConfiguration('thermal_topic'), '/compressed'],
            ),
        ],
    }
    lifecycle = LaunchConfiguration('lifecycle')
    plain = Node(condition=UnlessCondition(lifecycle), **fusion_node)
    # managed: starts unconfigured; configure / activate it with `ros2 lifecycle set` or a
    # lifecycle manager
    managed = LifecycleNode(
        condition=IfCondition(lifecycle), arguments=['--lifecycle'], **fusion_node
    )
    rviz = OpaqueFunction(function=_rviz, condition=IfCondition(LaunchConfiguration('rviz')))
    return LaunchDescription(_arguments() + [dds_profile, plain, managed, rviz])
