"""The audit's rules, one module each, in one explicit registry.

DR: drift of the live database from the plan. SL: security lints on the services' schemas,
in the spirit of Supabase's splinter, independent of the plan. RL: row-level security rules
the policy pack checks at preview too, under the same code and with the same core function.
Where two would report the same fact, one family owns it (grants to PUBLIC/API roles: SL06;
dangerous role attributes: SL07; RLS off on a protected table: DR10), so one problem is one
finding.
"""

from edulink_db.audit.rule import Rule
from edulink_db.audit.rules.dr01_role_missing import RoleMissing
from edulink_db.audit.rules.dr02_role_unexpected import RoleUnexpected
from edulink_db.audit.rules.dr03_role_attributes import RoleAttributes
from edulink_db.audit.rules.dr04_role_settings import RoleSettings
from edulink_db.audit.rules.dr05_memberships import Memberships
from edulink_db.audit.rules.dr06_ownership import Ownership
from edulink_db.audit.rules.dr07_schema_privileges import SchemaPrivileges
from edulink_db.audit.rules.dr08_object_privileges import ObjectPrivileges
from edulink_db.audit.rules.dr09_default_privileges import DefaultPrivileges
from edulink_db.audit.rules.dr10_rls_not_enforced import RlsNotEnforced
from edulink_db.audit.rules.dr11_rls_unplanned import RlsUnplanned
from edulink_db.audit.rules.dr12_policy_missing import PolicyMissing
from edulink_db.audit.rules.dr13_policy_unexpected import PolicyUnexpected
from edulink_db.audit.rules.dr14_policy_changed import PolicyChanged
from edulink_db.audit.rules.dr15_table_missing import TableMissing
from edulink_db.audit.rules.dr16_table_unmanaged import TableUnmanaged
from edulink_db.audit.rules.dr17_migration_history import MigrationHistory
from edulink_db.audit.rules.rl06_policy_initplan import PolicyPerRowCall
from edulink_db.audit.rules.sl01_rls_without_policy import RlsWithoutPolicy
from edulink_db.audit.rules.sl02_policy_without_rls import PolicyWithoutRls
from edulink_db.audit.rules.sl04_unindexed_foreign_key import UnindexedForeignKey
from edulink_db.audit.rules.sl05_security_definer_search_path import SecurityDefinerSearchPath
from edulink_db.audit.rules.sl06_exposed_privileges import ExposedPrivileges
from edulink_db.audit.rules.sl07_dangerous_attributes import DangerousAttributes

RULES: tuple[Rule, ...] = (
    RoleMissing(),
    RoleUnexpected(),
    RoleAttributes(),
    RoleSettings(),
    Memberships(),
    Ownership(),
    SchemaPrivileges(),
    ObjectPrivileges(),
    DefaultPrivileges(),
    RlsNotEnforced(),
    RlsUnplanned(),
    PolicyMissing(),
    PolicyUnexpected(),
    PolicyChanged(),
    TableMissing(),
    TableUnmanaged(),
    MigrationHistory(),
    PolicyPerRowCall(),
    RlsWithoutPolicy(),
    PolicyWithoutRls(),
    UnindexedForeignKey(),
    SecurityDefinerSearchPath(),
    ExposedPrivileges(),
    DangerousAttributes(),
)

__all__ = ["RULES"]
