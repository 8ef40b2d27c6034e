from tests.support.deploy import deploy
from tests.support.program import recorded

Q = {
    "roles": "select rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls, rolconnlimit, rolconfig from pg_roles where rolname not like 'pg\\_%' order by 1",
    "members": "select g.rolname, m.rolname, a.* from pg_auth_members a join pg_roles g on g.oid=a.roleid join pg_roles m on m.oid=a.member order by 1,2",
    "ns": "select nspname, pg_get_userbyid(nspowner), nspacl from pg_namespace order by 1",
    "rel": "select n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relacl, c.relrowsecurity, c.relforcerowsecurity from pg_class c join pg_namespace n on n.oid=c.relnamespace where n.nspname like '%\\_schema' and c.relkind not in ('i') order by 1,2",
    "att": "select c.oid::regclass, a.attname, a.attacl from pg_attribute a join pg_class c on c.oid=a.attrelid where a.attacl is not null order by 1,2",
    "defacl": "select pg_get_userbyid(defaclrole), defaclnamespace::regnamespace, defaclobjtype, defaclacl from pg_default_acl",
    "pol": "select polrelid::regclass, polname, polcmd, polpermissive, polroles::regrole[], pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid) from pg_policy order by 1,2",
    "proc": "select pronamespace::regnamespace, proname, prosecdef, proconfig, proacl from pg_proc where pronamespace::regnamespace::text like '%\\_schema'",
}


def test_dump(pg_cluster):
    d = deploy(pg_cluster, recorded("prod"))
    with d.superuser() as c:
        print(c.execute("select version()").fetchone())
        for k, q in Q.items():
            print("==", k)
            for r in c.execute(q).fetchall():
                print(r)
