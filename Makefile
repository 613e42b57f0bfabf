# hydralite: `make run` serves on 4444/4445 with the embedded database; `make test` runs the suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

OIDC   := tests/e2e/oidc_client/node_modules/.installed-stamp

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "hydralite needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# openid-client (npm) checks the OpenID Connect flow from a certified relying party's point of view.
$(OIDC): tests/e2e/oidc_client/package.json
	cd tests/e2e/oidc_client && npm install --no-audit --no-fund --loglevel=error
	@touch $(OIDC)

run: $(STAMP)
	SERVE_PUBLIC_HOST=$${SERVE_PUBLIC_HOST:-127.0.0.1} SERVE_ADMIN_HOST=$${SERVE_ADMIN_HOST:-127.0.0.1} \
		$(BIN)/hydralite serve all --dev

lint: $(STAMP)
	$(BIN)/ruff check hydralite tests bench
	$(BIN)/mypy

test: $(STAMP) $(OIDC) lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .hydralite .pytest_cache .ruff_cache
