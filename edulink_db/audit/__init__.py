"""The live audit: the database against the plan (DR rules) and security lints (SL rules).

report = run_audit(conninfo, project.plan, project.catalogue.shapes)
print(render(report, "table"))
sys.exit(1 if exceeds(report, Level.warning) else 0)
"""

from edulink_db.audit.render import FORMATS, render
from edulink_db.audit.report import AuditReport, exceeds
from edulink_db.audit.run import AuditError, run_audit

__all__ = ["FORMATS", "AuditError", "AuditReport", "exceeds", "render", "run_audit"]
