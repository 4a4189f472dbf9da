# Copyright 2026 fusion_ros contributors
# SPDX-License-Identifier: Apache-2.0
"""Loading a new model off the executor thread, so a model switch does not pause the cameras.

Building an inference session takes from tens of milliseconds (the 113-parameter net) to seconds
(AE-Netv2 with the engine timing of ``backend: auto`` on 2 cores). In the parameter callback that
time would stall the single executor thread: no camera message is taken, no pair is fused. A
:class:`ModelSwitch` runs the load on its own thread while the running model keeps fusing, then
hands the new pipeline to ``install`` (which swaps it under the pipeline lock) or the error to
``failed`` (which puts the parameters back). One load at a time: ``busy`` tells the caller to
refuse a second switch instead of queueing it.

No ROS here: the node passes its callbacks in (ros glue stays in the node).
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, Optional

Values = Dict[str, Any]


class ModelSwitch:
    """One background model load at a time (see the module docstring)."""

    def __init__(
        self,
        load: Callable[[Values], Any],
        install: Callable[[Any, Values, float], None],
        failed: Callable[[Values, Values, str], None],
    ) -> None:
        self._load, self._install, self._failed = load, install, failed
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._generation = 0
        self.loading: str = ''  # the model being loaded, "" when idle

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._thread is not None

    def start(self, values: Values, previous: Values) -> None:
        """Load ``values`` on a new thread; ``previous`` is what ``failed`` restores."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError(f'model {self.loading!r} is still loading')
            generation = self._generation
            self.loading = str(values.get('model', ''))
            self._thread = threading.Thread(
                target=self._run,
                args=(values, previous, generation),
                name='model_loader',
                daemon=True,
            )
            thread = self._thread
        thread.start()

    def cancel(self) -> None:
        """Forget a load in flight (its result is dropped).

        e.g. when the node unloads its model.
        """
        with self._lock:
            self._generation += 1

    def join(self, timeout: Optional[float] = None) -> None:
        with self._lock:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self, values: Values, previous: Values, generation: int) -> None:
        started = time.perf_counter()
        pipeline, error = None, ''
        try:
            pipeline = self._load(values)
        except Exception as exc:  # missing file, corrupt ONNX, provider failure ...
            error = str(exc) or type(exc).__name__
        load_ms = (time.perf_counter() - started) * 1e3
        try:
            with self._lock:
                current = generation == self._generation
            if current and error:
                self._failed(values, previous, error)
            elif current:
                self._install(pipeline, values, load_ms)
        finally:  # busy until the result is handed over: a second switch cannot overtake it
            with self._lock:
                self._thread, self.loading = None, ''
