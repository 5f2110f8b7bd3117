"""Root conftest: load the contract-suite plugin even from an uninstalled checkout."""

pytest_plugins = ["contract_tests.plugin"]
