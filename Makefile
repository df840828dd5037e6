VENV := .venv
PYTHON := $(VENV)/bin/python
MANAGE := $(PYTHON) manage.py
DEB_PACKAGES := redis-server memcached nginx postgresql chromium gettext-base openssl
# What `make prod` needs (no browser).
PROD_DEB_PACKAGES := redis-server memcached nginx postgresql gettext-base openssl
# What `make bench` needs: the production stack plus the HTTP load generator.
BENCH_DEB_PACKAGES := $(PROD_DEB_PACKAGES) wrk
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test fuzz lint format system-packages prod prod-stop prod-packages cert backup restore \
	bench bench-smoke bench-packages

$(VENV)/.installed-%: requirements/%.txt requirements/base.txt
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r $<
	touch $@

run: $(VENV)/.installed-local
	$(MANAGE) migrate --no-input
	$(MANAGE) loaddemo
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) --websocket-max-message-size 65536 educa.asgi:application

# Debian packages the suite starts as throwaway servers; installed only when missing.
system-packages:
	@missing=""; for pkg in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else echo "missing Debian packages:$$missing (run make test as root to install them)"; exit 1; fi; \
	fi

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-test
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: system-packages $(VENV)/.installed-test lint
	$(VENV)/bin/pytest

# The suite's API and WebSocket fuzzers, longer (README: Security): 500 generated requests per
# API operation and role instead of 25, and 20 times as many WebSocket frames.
fuzz: system-packages $(VENV)/.installed-test
	FUZZ_EXAMPLES=500 $(VENV)/bin/pytest tests/security/test_api_fuzz.py tests/chat/test_fuzz.py

# The production stack natively on loopback (README: Running in production): PostgreSQL, Redis, Memcached,
# uWSGI, two Daphne processes and Nginx; prints the https address.
prod: prod-packages $(VENV)/.installed-prod cert
	$(PYTHON) deploy/native.py start

# Stops exactly the processes `make prod` started (recorded in .prod/stack.json).
prod-stop:
	$(PYTHON) deploy/native.py stop

prod-packages:
	@$(MAKE) --no-print-directory system-packages DEB_PACKAGES="$(PROD_DEB_PACKAGES)"

# A self-signed certificate for local use in certs/ (ignored by git).
cert: certs/educa.crt

certs/educa.crt:
	python3 deploy/native.py cert --out certs

# Database dump and media archive of the native stack into backups/<date-time>/.
backup:
	$(PYTHON) deploy/native.py backup

# make restore DIR=backups/<date-time>
restore:
	@test -n "$(DIR)" || { echo "usage: make restore DIR=backups/<date-time>"; exit 1; }
	$(PYTHON) deploy/native.py restore "$(DIR)"

# Benchmark (README: Benchmark): chat on one Daphne, HTTP on the native stack; prints one table
# and writes bench/results/latest.json. Rate limits are raised for the run only.
bench: bench-packages $(VENV)/.installed-test cert
	$(PYTHON) bench/run.py

# Every scenario at a tiny size (the test suite runs it too): correctness, not speed.
bench-smoke: $(VENV)/.installed-test
	$(PYTHON) bench/run.py --smoke --out bench/results/smoke.json

bench-packages:
	@$(MAKE) --no-print-directory system-packages DEB_PACKAGES="$(BENCH_DEB_PACKAGES)"
