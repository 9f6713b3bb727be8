# The two commands: `make test` and `make demo`. Both install what is missing first.
SHELL := /bin/bash
PG_BINDIR ?= /usr/lib/postgresql/15/bin
PG_SHAREDIR ?= /usr/share/postgresql/15
VENV := .venv
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test demo lint deps system-deps bench

test: deps lint
	$(VENV)/bin/pytest

demo: deps
	$(VENV)/bin/scheduling db start
	$(VENV)/bin/scheduling db reset
	$(VENV)/bin/scheduling demo

lint: $(VENV)/.installed
	$(VENV)/bin/sqlfluff lint --processes 2 supabase sql_tests
	$(VENV)/bin/ruff check .

# Benchmarks (not tests): each prints its figures and a ratio against a reference from the same run.
bench: deps
	$(VENV)/bin/python -m bench.booking
	$(VENV)/bin/python -m bench.slot_search

deps: system-deps $(VENV)/.installed

# Debian's PostgreSQL 15 with pgTAP and plpgsql_check, and Python's venv module.
system-deps:
	@missing=""; \
	[ -x $(PG_BINDIR)/postgres ] || missing="$$missing postgresql-15"; \
	[ -f $(PG_SHAREDIR)/extension/pgtap.control ] || missing="$$missing postgresql-15-pgtap"; \
	[ -f $(PG_SHAREDIR)/extension/plpgsql_check.control ] || missing="$$missing postgresql-15-plpgsql-check"; \
	python3 -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@
