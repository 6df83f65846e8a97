# strata — the two commands of the README's Quick start, and their helpers.
#   make demo   installs what is missing, builds in release mode, trains a network on Fashion-MNIST
#   make test   installs what is missing (OpenMPI too; onnxruntime in .venv-onnx, chromium, tensorboard in
#               .venv-tensorboard) and runs the whole test suite, once,
#               with the `mpi` feature (data-parallel training; the default build needs no MPI)

CARGO ?= cargo
DATA_DIR ?= $(if $(STRATA_DATA),$(STRATA_DATA)/fashion-mnist,/usr/share/datasets/fashion-mnist)
STRATA := target/release/strata

.PHONY: demo test deps dataset mpi onnx-venv chromium tensorboard-venv build bench clean

demo: deps build
	$(STRATA) train --model lenet5 --data fashion-mnist --epochs 10 --seed 1 --out runs/demo-lenet5

# Tests build without link-time optimization: two dozen test binaries each linking the
# library with LTO would multiply the build time for no benefit to the assertions.
# The tests pin the convolution algorithms to the fixed order (STRATA_CONV_AUTOTUNE=0): a
# choice measured under the load of a parallel test run could differ between the processes
# of one test, and tests that compare runs exactly would then differ by rounding. The
# measuring itself has its own tests; its cache goes under target/, not ~/.cache.
TEST_ENV := CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_TARGET_DIR=target/test-build \
	STRATA_CONV_AUTOTUNE=0 STRATA_CACHE_DIR=$(CURDIR)/target/test-build/strata-cache

# One build of everything, with the `mpi` feature: its tests (tests/distributed.rs) drive
# `mpirun`, and every other test runs in the same build.
test: deps mpi onnx-venv chromium tensorboard-venv
	python3 scripts/check-imports.py
	RUSTDOCFLAGS="-D warnings" CARGO_TARGET_DIR=target/test-build $(CARGO) doc --no-deps --workspace --features strata-cli/mpi
	$(TEST_ENV) $(CARGO) test --release --workspace --all-targets --features strata-cli/mpi
	$(TEST_ENV) $(CARGO) test --release --workspace --doc --features strata-cli/mpi

build:
	$(CARGO) build --release -p strata-cli

deps: dataset

# Fashion-MNIST from Debian (dataset-fashion-mnist), unless it is already there.
dataset:
	@if [ -f "$(DATA_DIR)/train-images-idx3-ubyte.gz" ] || [ -f "$(DATA_DIR)/train-images-idx3-ubyte" ]; then \
		echo "Fashion-MNIST found in $(DATA_DIR)"; \
	else \
		echo "installing Fashion-MNIST (apt-get install dataset-fashion-mnist)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq dataset-fashion-mnist; \
	fi

# OpenMPI (mpirun, headers) and libclang (the mpi crate generates its bindings with
# bindgen), from Debian, unless they are already there. Only `--features mpi` needs them.
mpi:
	@if command -v mpicc >/dev/null && command -v mpirun >/dev/null && \
		ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1; then \
		echo "OpenMPI and libclang found"; \
	else \
		echo "installing OpenMPI and libclang (apt-get install libopenmpi-dev openmpi-bin libclang-dev)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libopenmpi-dev openmpi-bin libclang-dev; \
	fi

# onnxruntime and numpy (PyPI) in a local virtual environment, .venv-onnx: the ONNX export
# tests (crates/strata-cli/tests/onnx_export.rs) run every exported model in it. Without
# PyPI the tests print why and skip that comparison.
onnx-venv:
	@if .venv-onnx/bin/python -c "import onnxruntime, numpy" 2>/dev/null; then \
		echo "onnxruntime found in .venv-onnx"; \
	else \
		rm -rf .venv-onnx; \
		if ! python3 -m venv .venv-onnx >/dev/null 2>&1; then \
			rm -rf .venv-onnx; \
			echo "installing python3-venv (apt-get install python3-venv)"; \
			SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
			$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv >/dev/null; \
			python3 -m venv .venv-onnx || rm -rf .venv-onnx; \
		fi; \
		if [ -x .venv-onnx/bin/pip ] && .venv-onnx/bin/pip install -q onnxruntime numpy; then \
			echo "installed onnxruntime and numpy into .venv-onnx"; \
		else \
			rm -rf .venv-onnx; \
			echo "note: could not install onnxruntime from PyPI; the ONNX tests will skip the onnxruntime comparison"; \
		fi; \
	fi

# Chromium (Debian), headless: the report test (crates/strata-cli/tests/report.rs) opens
# report.html in it, checks the console and the screenshot. Without apt-get the test says
# loudly that it skipped the browser check.
chromium:
	@if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then \
		echo "chromium found"; \
	else \
		echo "installing chromium (apt-get install chromium)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null || \
			echo "note: could not install chromium; the report test will skip the browser check"; \
	fi

# TensorBoard (PyPI) in a local virtual environment, .venv-tensorboard: the TensorBoard test
# (crates/strata-cli/tests/tensorboard.rs) reads strata's event files back with TensorBoard's
# own reader (EventAccumulator).
tensorboard-venv:
	@if .venv-tensorboard/bin/python -c "from tensorboard.backend.event_processing import event_accumulator" 2>/dev/null; then \
		echo "tensorboard found in .venv-tensorboard"; \
	else \
		rm -rf .venv-tensorboard; \
		if ! python3 -m venv .venv-tensorboard >/dev/null 2>&1; then \
			rm -rf .venv-tensorboard; \
			echo "installing python3-venv (apt-get install python3-venv)"; \
			SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
			$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq python3-venv >/dev/null; \
			python3 -m venv .venv-tensorboard || rm -rf .venv-tensorboard; \
		fi; \
		if [ -x .venv-tensorboard/bin/pip ] && .venv-tensorboard/bin/pip install -q tensorboard; then \
			echo "installed tensorboard into .venv-tensorboard"; \
		else \
			rm -rf .venv-tensorboard; \
			echo "note: could not install tensorboard from PyPI; the TensorBoard test will skip reading the event files back"; \
		fi; \
	fi

bench: build
	$(STRATA) bench --workload mlp

clean:
	$(CARGO) clean
