# Imprimatur: two commands on a fresh machine.
#   make run   set everything up and serve http://127.0.0.1:8000 with a Celery worker (Ctrl-C stops both)
#   make test  install what the tests need, run ruff (lint + format check), the import contracts and the whole
#              suite (unit, integration, browser)
#   make bench benchmarks (not part of make test)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test bench lint migrate seed clean fonts

# The offline renderer draws in-image copy in CJK and Indic scripts with Debian's Noto fonts. Best effort:
# without root or apt the app still runs and the studio says which scripts it cannot draw.
NOTO_CJK := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
fonts:
	@if [ ! -f $(NOTO_CJK) ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing fonts for CJK and Indic scripts (Debian fonts-noto-core, fonts-noto-cjk)..."; \
		(DEBIAN_FRONTEND=noninteractive apt-get install -y -q fonts-noto-core fonts-noto-cjk >/dev/null 2>&1 \
		 || (apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive \
		     apt-get install -y -q fonts-noto-core fonts-noto-cjk >/dev/null 2>&1)) \
		|| echo "Could not install the fonts; offline previews will say which scripts they cannot draw."; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[test]"
	@touch $@ $(VENV)/.installed

migrate: $(VENV)/.installed fonts
	@mkdir -p var/broker/queue var/broker/processed var/broker/control var/media
	@$(BIN)/python manage.py migrate --noinput -v0

# The demo's throwaway Content Credentials key: seed_demo writes it, and `run` hands it to the server and
# the worker in the environment variable the demo certificate names, as an operator would an admin's key.
DEMO_SIGNING_KEY := var/demo-content-credentials.key

seed: migrate
	@$(BIN)/python manage.py seed_demo --url http://$(HOST):$(PORT)/ --signing-key-file $(DEMO_SIGNING_KEY)

run: seed
	@export IMPRIMATUR_KEY_DEMO_C2PA="$$(cat $(DEMO_SIGNING_KEY) 2>/dev/null)"; \
	trap 'kill 0 2>/dev/null' INT TERM EXIT; \
	$(BIN)/celery -A studio worker -B --schedule var/celerybeat-schedule --pool=threads --concurrency=4 \
		-Q celery,batch --loglevel=WARNING & \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: $(VENV)/.test-installed fonts
	@$(BIN)/python tests/suite.py

bench: $(VENV)/.test-installed
	@$(BIN)/python tests/bench/run.py

clean:
	rm -rf var/broker var/media var/imprimatur.sqlite3* $(DEMO_SIGNING_KEY)
