# The two commands a newcomer needs: `make run` and `make test`. Both bootstrap .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements-dev.lock | sha1sum | cut -c1-12)
# Pinned installs (issue 11): every package at the version and hashes of the lock, then Boxoffice itself without
# resolving anything. requirements.lock (what the Dockerfile installs) is the same pins without the dev extras.
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --custom-compile-command "make lock" --quiet

.PHONY: run test lint system-deps bench clean lock

$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# After changing pyproject's dependencies: re-pin both locks (versions already pinned stay where they still fit).
# tests/ops/test_topology.py fails while pyproject and the locks disagree.
lock:
	test -x $(BIN)/uv || (test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); $(BIN)/pip install --quiet uv)
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o requirements-dev.lock
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) -c requirements-dev.lock -o requirements.lock

run: $(STAMP)
	$(BIN)/boxoffice dev

test: system-deps lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Debian packages from .ci/system-packages that are missing (root, or sudo, on Debian/Ubuntu machines).
system-deps:
	@missing=$$(grep -v '^#' .ci/system-packages | xargs -n1 sh -c 'dpkg -s "$$0" >/dev/null 2>&1 || echo "$$0"'); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# ruff, the import rules of the floor plan (pyproject: [tool.importlinter]) and mypy over everything.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy boxoffice tests bench

bench: $(STAMP)
	$(BIN)/python -m bench.holds
	$(BIN)/python -m bench.checkout

clean:
	rm -rf $(VENV) .boxoffice .pytest_cache .mypy_cache .ruff_cache
