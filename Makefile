VENV := .venv
PYTHON := $(VENV)/bin/python
MANAGE := $(PYTHON) manage.py
# PyICU (requirements/base.txt) is compiled against ICU: libicu-dev, pkg-config, g++.
ICU_BUILD_PACKAGES := libicu-dev pkg-config g++
# iproute2: `ip netns` for the cluster scenarios (tests/cluster/). gettext: msgfmt, which compiles
# the translations (`make messages`).
# fonts-noto-color-emoji: the chat's reactions in the browser tests' screenshots.
DEB_PACKAGES := redis-server redis-sentinel memcached nginx postgresql chromium gettext-base gettext \
	openssl iproute2 fonts-noto-color-emoji $(ICU_BUILD_PACKAGES)
# What `make prod` needs (no browser).
PROD_DEB_PACKAGES := redis-server memcached nginx postgresql gettext-base gettext openssl \
	$(ICU_BUILD_PACKAGES)
# What `make bench` needs: the production stack plus the HTTP load generator.
BENCH_DEB_PACKAGES := $(PROD_DEB_PACKAGES) wrk
# checkov (tests/deploy/test_k8s.py) pins packaging and python-dateutil below the suite's pins:
# it gets a virtualenv of its own.
CHECKOV_VENV := .venv-checkov
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-cluster fuzz lint format system-packages prod prod-stop prod-packages \
	cert backup restore bench bench-smoke bench-packages screenshots messages

# The compiled translations: locale/<language>/LC_MESSAGES/*.mo from the .po files beside them
# (README: Languages). Only the .po files are in git.
PO_FILES := $(wildcard locale/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)

messages: $(MO_FILES)

locale/%.mo: locale/%.po
	msgfmt --check -o $@ $<

$(VENV)/.installed-%: requirements/%.txt requirements/base.txt
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r $<
	touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r $<
	touch $@

run: $(VENV)/.installed-local messages
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

# The cluster scenarios first (their figures printed), then the rest: the suite's summary is last.
test: system-packages $(VENV)/.installed-test $(CHECKOV_VENV)/.installed lint messages
	@$(MAKE) --no-print-directory test-cluster
	$(VENV)/bin/pytest --ignore=tests/cluster

# The cluster scenarios (README: Scaling out): hosts simulated by network namespaces, as root;
# -s prints each scenario's figures. They skip, saying why, where namespaces cannot be made.
test-cluster: system-packages $(VENV)/.installed-test
	$(VENV)/bin/pytest tests/cluster -s -p no:cacheprovider

# The suite's API and WebSocket fuzzers, longer (README: Security): 500 generated requests per
# API operation and role instead of 25, and 20 times as many WebSocket frames.
fuzz: system-packages $(VENV)/.installed-test
	FUZZ_EXAMPLES=500 $(VENV)/bin/pytest tests/security/test_api_fuzz.py tests/chat/test_fuzz.py

# The production stack natively on loopback (README: Running in production): PostgreSQL, Redis, Memcached,
# uWSGI, two Daphne processes and Nginx; prints the https address.
prod: prod-packages $(VENV)/.installed-prod cert messages
	$(PYTHON) -m deploy.native start

# Stops exactly the processes `make prod` started (recorded in .prod/stack.json).
prod-stop:
	$(PYTHON) -m deploy.native stop

prod-packages:
	@$(MAKE) --no-print-directory system-packages DEB_PACKAGES="$(PROD_DEB_PACKAGES)"

# A self-signed certificate for local use in certs/ (ignored by git).
cert: certs/educa.crt

certs/educa.crt:
	python3 -m deploy.native cert --out certs

# Database dump and media archive of the native stack into backups/<date-time>/.
backup:
	$(PYTHON) -m deploy.native backup

# make restore DIR=backups/<date-time>
restore:
	@test -n "$(DIR)" || { echo "usage: make restore DIR=backups/<date-time>"; exit 1; }
	$(PYTHON) -m deploy.native restore "$(DIR)"

# The README's screenshots (docs/screenshots/<page>-desktop.png and -phone.png), taken by the
# layout browser tests at 1280 and 390 px wide: <README name>:<test id in tests/browser/test_layout.py>
# (quiz_form: the quiz card alone, from the test of that name).
README_SHOTS := catalogue:course_list-visitor course:course_detail-visitor \
	study:student_course_detail_module-student chat:chat_room-student cms:module_content_list-instructor \
	quiz:quiz_form grades:course_grades-instructor certificate:certificate_detail-visitor \
	analytics:course_analytics-instructor
README_SHOT_TESTS := $(foreach shot,$(README_SHOTS),$(lastword $(subst :, ,$(shot))))
SPACE := $(subst ,, )

screenshots: system-packages $(VENV)/.installed-test
	$(VENV)/bin/pytest tests/browser/test_layout.py -q -p no:cacheprovider \
		-k "$(subst $(SPACE), or ,$(strip $(README_SHOT_TESTS)))"
	mkdir -p docs/screenshots
	@for shot in $(README_SHOTS); do \
		name=$${shot%%:*}; test_id=$${shot#*:}; \
		cp screenshots/layout/$$test_id-desktop.png docs/screenshots/$$name-desktop.png; \
		cp screenshots/layout/$$test_id-phone-390.png docs/screenshots/$$name-phone.png; \
		echo "docs/screenshots/$$name-desktop.png, docs/screenshots/$$name-phone.png"; \
	done

# Benchmark (README: Benchmark): chat on one Daphne, HTTP on the native stack; prints one table
# and writes bench/results/latest.json. Rate limits are raised for the run only.
bench: bench-packages $(VENV)/.installed-test cert
	$(PYTHON) -m bench.run

# Every scenario at a tiny size (the test suite runs it too): correctness, not speed.
bench-smoke: $(VENV)/.installed-test
	$(PYTHON) -m bench.run --smoke --out bench/results/smoke.json

bench-packages:
	@$(MAKE) --no-print-directory system-packages DEB_PACKAGES="$(BENCH_DEB_PACKAGES)"
