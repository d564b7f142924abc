/**
 * The BI role's login. The migration creates `ledger_bi` NOLOGIN (roles are cluster-wide and a
 * migration must not hold a secret); the projector gives it a password from LEDGER_BI_PASSWORD
 * at start, or leaves it unable to log in when that is unset.
 */
import { sql, type Kysely } from 'kysely';

export const biRole = 'ledger_bi';

export async function setBiRolePassword(db: Kysely<unknown>, password: string | undefined): Promise<'login' | 'nologin'> {
  if (password === undefined || password === '') {
    await sql`ALTER ROLE ledger_bi NOLOGIN PASSWORD NULL`.execute(db);
    return 'nologin';
  }
  // ALTER ROLE takes no bind parameters: quote the literal (E'' form handles quotes and backslashes).
  await sql`ALTER ROLE ledger_bi LOGIN PASSWORD ${sql.lit(password)}`.execute(db);
  return 'login';
}
