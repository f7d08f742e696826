# Renovo's front door. `make run` and `make test` install what is missing themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench weights web install system-deps clean scratch-net scratch-net-check

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

install: $(STAMP) scratch-net-check

# Renovo's own scratch detector is committed (weights/oldphoto_scratch_net.pt, ~110 kB, made by its training
# script from a fixed seed and procedural data): install only checks it. `make scratch-net` retrains it (about
# 15 CPU minutes); then update SCRATCH_NET_SHA256 (weights/oldphoto_scratch_net.json has the new one).
SCRATCH_NET_SHA256 := caf68315552cfe1e0a1a320ff103a1a163457b2eee981b04e20ef954dc8caf41
scratch-net-check:
	@echo "$(SCRATCH_NET_SHA256)  weights/oldphoto_scratch_net.pt" | sha256sum --check --quiet - \
		|| { echo "weights/oldphoto_scratch_net.pt does not match its checksum (retrain: make scratch-net)"; exit 1; }

scratch-net: $(STAMP)
	$(PY) -m services.inference.models.oldphoto.train_scratch --out weights/oldphoto_scratch_net.pt

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
