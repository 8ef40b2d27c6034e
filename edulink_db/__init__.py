"""edulink-db: the Edulink database platform as code.

The core package is plain Python with no Pulumi import: it loads and validates the catalogue
and stack settings, compiles them into an AccessPlan, and applies migrations. `components/`
turns the plan into Pulumi resources.
"""
