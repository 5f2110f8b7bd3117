"""Reports and reproducers: every writer over one SuiteReport, secrets scrubbed once."""
