"""Pulumi components: the thin layer that turns an AccessPlan into resources.

Modules here have no side effects on import: the dynamic providers are pickled by reference
and re-imported by the provider process at deploy and destroy time.
"""
