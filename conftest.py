"""One pytest run for both suites: the pgTAP files in sql_tests/ and the Python tests in tests/."""

from workers import localdb

pytest_plugins = ["tests.fixtures"]


def pytest_report_header() -> str:
    return f"database server: {localdb.server_version()}"
