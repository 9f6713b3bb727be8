# The two commands: `make test` and `make demo`. Both install what is missing first.
SHELL := /bin/bash
PG_BINDIR ?= /usr/lib/postgresql/15/bin
PG_SHAREDIR ?= /usr/share/postgresql/15
# PostgreSQL 17, which new Supabase projects run: the database tests run on it as well.
PG17_DIR ?= /opt/scheduling-postgresql-17.10
VENV := .venv
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: test demo lint deps system-deps bench

# Everything on PostgreSQL 15, then the tests of the database's own behaviour (pgTAP, migrations,
# booking races (a person leaving among them), slot and statistics properties, offers, time zone names) on 17. plpgsql_check exists only for 15.
DATABASE_TESTS := sql_tests tests/test_migrations.py tests/test_booking_concurrency.py \
	tests/test_slot_properties.py tests/test_statistics_properties.py tests/test_offer_flows.py \
	tests/test_sql_tests_with_seed.py tests/test_concurrent_changes.py \
	tests/test_time_zone_change_concurrency.py tests/test_waitlist_races.py tests/test_open_dates_without_hours.py \
	tests/test_time_zone_names.py tests/test_weekly_hours_properties.py tests/test_deleted_account_races.py

test: deps lint $(PG17_DIR)/bin/postgres
	$(VENV)/bin/pytest
	SCHEDULING_PG_BINDIR=$(PG17_DIR)/bin $(VENV)/bin/pytest $(DATABASE_TESTS)

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
	$(VENV)/bin/python -m bench.history_reads
	$(VENV)/bin/python -m bench.opened_hours
	$(VENV)/bin/python -m bench.job_claims
	$(VENV)/bin/python -m bench.prunes
	$(VENV)/bin/python -m bench.pull_rounds
	$(VENV)/bin/python -m bench.caldav_listing

deps: system-deps $(VENV)/.installed

# Debian's PostgreSQL 15 with pgTAP, pg_prove and plpgsql_check, and Python's venv module.
system-deps:
	@missing=""; \
	[ -x $(PG_BINDIR)/postgres ] || missing="$$missing postgresql-15"; \
	[ -f $(PG_SHAREDIR)/extension/pgtap.control ] || missing="$$missing postgresql-15-pgtap"; \
	[ -f $(PG_SHAREDIR)/extension/plpgsql_check.control ] || missing="$$missing postgresql-15-plpgsql-check"; \
	command -v pg_prove >/dev/null || missing="$$missing libtap-parser-sourcehandler-pgtap-perl"; \
	python3 -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# The version is in the folder's name: a new pin in tests/postgres17.py needs a new PG17_DIR.
$(PG17_DIR)/bin/postgres: | system-deps
	$(SUDO) python3 -m tests.postgres17 $(PG17_DIR)

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@
