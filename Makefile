# Renovo's front door. `make run` and `make test` install what is missing themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench weights web install system-deps clean

# PostgreSQL and RabbitMQ: RENOVO_DATABASE_URL / RENOVO_AMQP_URL, else the default ports, else private ones
# under RENOVO_DATA_DIR (the launcher installs Debian's packages when they are missing and it runs as root).
run: install system-deps web  ## start the whole platform (http://127.0.0.1:8080 unless RENOVO_PORT is set)
	$(PY) -m services.launcher

# The suite's PostgreSQL and RabbitMQ: RENOVO_TEST_DATABASE_URL / RENOVO_TEST_AMQP_URL, else the default ports,
# else private ones (in .renovo/test-servers) started for the run and stopped after it.
test: install system-deps web  ## the whole suite against the real PostgreSQL, RabbitMQ, nginx and chromium
	@deploy/tests-setup.sh >/dev/null
	cd web && npm test --silent
	$(PY) -m services.launcher.with_servers -- $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff and mypy (needs the virtualenv, not the trained scratch detector)
	$(VENV)/bin/ruff check shared services tests bench scripts
	$(VENV)/bin/mypy
	cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run lint --silent

bench: install  ## benchmarks: models vs ncnn, old-photo quality, platform load
	$(PY) bench/models_bench.py
	$(PY) bench/oldphoto_bench.py
	$(PY) bench/load_bench.py

weights: install  ## fetch the official BOPB checkpoints where this machine has internet
	$(PY) scripts/fetch_weights.py

install: $(STAMP) weights/cache/scratch_net.pt

# Renovo's own scratch detector, trained here on synthetic scratches (a few CPU minutes, once).
weights/cache/scratch_net.pt: $(STAMP) services/inference/models/oldphoto/train_scratch.py services/inference/models/oldphoto/scratch_net.py
	@echo "training the scratch detector (once; a few minutes)…"
	$(PY) -m services.inference.models.oldphoto.train_scratch --out $@

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q torch==2.13.0
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $(STAMP)

system-deps:  ## nginx and chromium from Debian's packages, where missing
	@scripts/system-deps.sh

web:  ## build the web app when it is missing or older than its sources
	@scripts/build-web.sh

clean:
	rm -rf $(VENV) web/dist web/node_modules .renovo
