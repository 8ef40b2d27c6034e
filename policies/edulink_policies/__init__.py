"""The edulink-db CrossGuard rules.

Importable without side effects: `policies/__main__.py` builds the PolicyPack (which starts a
gRPC server), tests import `edulink_policies.registry` and drive the same policy objects.
This package never imports the project's compiler (`edulink_db`): it checks what the program
registers, independently, against its own reading of catalogue.yaml.
"""
