"""Root conftest: load the contract-suite plugin even from an uninstalled checkout."""

pytest_plugins = ["avatar_contract.contract_tests.plugin"]
