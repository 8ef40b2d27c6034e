-- auth service: one account by primary key (ids are md5(n)::uuid, n in 1..rows).
\set n random(1, :rows)
SELECT id, email, is_active, email_verified, last_login_at
  FROM auth_schema.users WHERE id = md5(:n::text)::uuid;
