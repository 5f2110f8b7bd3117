"""Build configuration beyond pyproject.toml: the linter's optional native core.

``optional=True``: without a C compiler (or Python headers) the build skips the
extension and the install still succeeds; the linter then runs its Python path
(``avatar_contract.lint_backend()`` says which is in use).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "avatar_contract.validators._native",
            sources=["validators/_native.c"],
            optional=True,
        )
    ]
)
