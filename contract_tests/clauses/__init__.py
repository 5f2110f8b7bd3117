"""The clauses: named checks of the contract, what they concluded, and which clause owns which defect."""
