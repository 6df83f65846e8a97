# strata — the two commands of the README's Quick start, and their helpers.
#   make demo   installs what is missing, builds in release mode, trains a network on Fashion-MNIST
#   make test   installs what is missing and runs the whole test suite

CARGO ?= cargo
DATA_DIR ?= $(if $(STRATA_DATA),$(STRATA_DATA)/fashion-mnist,/usr/share/datasets/fashion-mnist)
STRATA := target/release/strata

.PHONY: demo test deps dataset build bench clean

demo: deps build
	$(STRATA) train --model lenet5 --data fashion-mnist --epochs 10 --seed 1 --out runs/demo-lenet5

# Tests build without link-time optimization: two dozen test binaries each linking the
# library with LTO would multiply the build time for no benefit to the assertions.
TEST_ENV := CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_TARGET_DIR=target/test-build

test: deps
	$(TEST_ENV) $(CARGO) test --release --all-targets
	$(TEST_ENV) $(CARGO) test --release --doc

build:
	$(CARGO) build --release

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

bench: build
	$(STRATA) bench --workload mlp

clean:
	$(CARGO) clean
