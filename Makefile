# The two commands: `make demo` and `make test`. Each creates .venv on first use (nothing else
# needs to be installed beforehand but python3 >= 3.10 with venv).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
OUT ?= out

.PHONY: demo test bench bench-transport train eval eval-classic validate colcon clean help

help:
	@echo "make demo   - live ROS 2 demo (source -> fusion node -> sink), writes $(OUT)/demo/"
	@echo "make test   - the test suite (what CI runs)"
	@echo "make bench  - benchmark table written to docs/benchmark.md"
	@echo "make bench-transport - image transport between two processes per QoS / DDS profile, docs/transport.md"
	@echo "make train  - retrain the three shipped models with their default recipes"
	@echo "make eval   - held-out leaderboard + mosaic in docs/ (also runs eval-classic)"
	@echo "make eval-classic - the shipped models against six classic fusion methods, docs/eval_classic_*"
	@echo "make validate - the shipped models + baselines on the validation sets only, docs/validation/"

$(VENV)/.runtime: requirements/runtime.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip "setuptools>=64,<80" wheel
	$(PIP) install -r requirements/runtime.txt
	$(PIP) install --no-deps --no-build-isolation -e .
	touch $@

# launch, launch_ros and the ros2 CLI are not on PyPI: installed from the offline wheelhouse
# ../shared/ros2-cli-wheels where it exists (the live launch tests skip without them).
ROS2_CLI_WHEELS ?= ../shared/ros2-cli-wheels

$(VENV)/.dev: $(VENV)/.runtime requirements/dev.txt requirements/ros2cli.txt
	$(PIP) install -r requirements/dev.txt
	if [ -d $(ROS2_CLI_WHEELS) ]; then \
	  $(PIP) install -r requirements/ros2cli.txt && \
	  $(PIP) install --no-index --find-links $(ROS2_CLI_WHEELS) ros2launch ros2param ros2topic ros2node ros2run; \
	fi
	touch $@

demo: $(VENV)/.runtime
	$(VENV)/bin/fusion-ros demo --out $(OUT)/demo

test: $(VENV)/.dev
	$(PY) -m pytest -q

bench: $(VENV)/.runtime
	$(VENV)/bin/fusion-ros bench --out docs/benchmark.md

bench-transport: $(VENV)/.runtime
	$(VENV)/bin/fusion-ros bench-transport --repeat 3 --out docs/transport.md

train: $(VENV)/.dev
	for m in mmdrfuse mobilefuse aenetv2; do $(VENV)/bin/fusion-ros train --model $$m --export fusion_ros/weights || exit 1; done
	$(VENV)/bin/fusion-ros export --model mmdrfuse_teacher --checkpoint runs/mmdrfuse/checkpoints/teacher_weights.pth \
	  --out fusion_ros/weights

EVAL_MODELS := --model mmdrfuse --model mobilefuse --model aenetv2 --model mmdrfuse_teacher --model hafnas8 --baselines
CLASSIC_MODELS := --model mmdrfuse --model mobilefuse --model aenetv2 --classic all --baselines
# $(call eval_sets,ARGS,PREFIX): the four test sets, written to docs/PREFIX{tno,llvip_test,msrs_test,vifb}
define eval_sets
	$(VENV)/bin/fusion-ros eval --ir ../shared/datasets/tno/ir --vis ../shared/datasets/tno/vi \
	  $(1) --out docs/$(2)tno
	$(VENV)/bin/fusion-ros eval --ir ../shared/datasets/llvip/test/ir --vis ../shared/datasets/llvip/test/vi \
	  $(1) --out docs/$(2)llvip_test
	$(VENV)/bin/fusion-ros eval --ir ../shared/datasets/msrs/test/ir --vis ../shared/datasets/msrs/test/vi \
	  $(1) --out docs/$(2)msrs_test
	$(VENV)/bin/fusion-ros eval --ir ../shared/datasets/vifb_conformance/input/IR \
	  --vis ../shared/datasets/vifb_conformance/input/VI $(1) --out docs/$(2)vifb
endef

eval: $(VENV)/.dev
	$(call eval_sets,$(EVAL_MODELS),eval_)
	$(MAKE) eval-classic

# every recipe choice is made here: the validation sets only (never the test sets above)
validate: $(VENV)/.dev
	$(VENV)/bin/fusion-ros eval --set validation $(EVAL_MODELS) --out docs/validation

# the shipped models among six classic (non-learned) fusion methods, same sets and metrics
eval-classic: $(VENV)/.dev
	$(call eval_sets,$(CLASSIC_MODELS),eval_classic_)

clean:
	rm -rf build install log $(OUT)
