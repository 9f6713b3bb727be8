"""One pytest run for both suites: the pgTAP files in sql_tests/ and the Python tests in tests/."""

pytest_plugins = ["tests.fixtures"]
