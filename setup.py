# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""ament_python package definition.

Installs the nodes under lib/fusion_ros (for `ros2 run`) and launch/config files under
share/fusion_ros (for `ros2 launch`).
"""

from glob import glob

from setuptools import find_packages, setup

package_name = 'fusion_ros'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*']),
    # Everything the installed package reads at run time: ONNX weights and model cards, the bundled
    # demo pairs (+ attribution) and the training configs (test_colcon_build checks the lot).
    package_data={
        package_name: [
            'weights/*.onnx',
            'weights/*.json',
            'data/demo/*',
            'training/configs/*.yaml',
        ]
    },
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml', 'LICENSE']),
        ('share/' + package_name + '/launch', glob('launch/*.launch.py')),
        (
            'share/' + package_name + '/config',
            glob('config/*.yaml') + glob('config/*.rviz') + glob('config/*.xml'),
        ),
    ],
    # ROS dependencies come from package.xml (rosdep) or requirements/*.txt (pip); see README.
    install_requires=['setuptools'],
    zip_safe=False,
    maintainer='fusion_ros developers',
    maintainer_email='fusion-ros@example.com',
    description='Real-time visible + thermal image fusion (MobileFuse, AE-Netv2, MMDRFuse) for '
    'ROS 2.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'fusion-ros = fusion_ros.cli.main:main',
            'fusion_node = fusion_ros.nodes.fusion_node:main',
            'train_node = fusion_ros.nodes.train_node:main',
            'replay_node = fusion_ros.nodes.replay_node:main',
            'recorder_node = fusion_ros.nodes.recorder_node:main',
            'demo_source_node = fusion_ros.nodes.demo_source_node:main',
            'demo_sink_node = fusion_ros.nodes.demo_sink_node:main',
        ],
    },
)
