"""Warnings that libraries print on import and that no user of the suite can act on, silenced
before those libraries are imported (``infra/__init__.py``, the tests' ``conftest.py``):

- eventlet's deprecation notice (nameko 2.14 needs eventlet; it is a plain ``Warning``, so
  ``PYTHONWARNINGS`` cannot name it before eventlet is imported);
- cryptography's deprecation of DSA, raised when dnspython (imported by eventlet and pymongo)
  defines its DSA key types: four lines before every ``suite`` command's output.
"""
import warnings


def silence() -> None:
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    warnings.filterwarnings("ignore", message=r"DSA is deprecated", module=r"dns\.")
