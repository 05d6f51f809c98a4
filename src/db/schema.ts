// Kysely table types. One interface per table; migrations in /migrations are the source of truth.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export type Role = 'agent' | 'admin';
export type Locale = 'uk' | 'en';

export interface UsersTable {
  id: Generated<number>;
  username: string;
  email: string;
  display_name: string;
  password_hash: string;
  role: ColumnType<Role, Role | undefined, Role>;
  admin_id: number | null;
  commission: ColumnType<string, string | number | undefined, string | number>;
  is_verified: Generated<boolean>;
  is_active: Generated<boolean>;
  must_change_password: Generated<boolean>;
  failed_login_attempts: Generated<number>;
  locked_until: NullableTimestamp;
  last_login_at: NullableTimestamp;
  locale: ColumnType<Locale, Locale | undefined, Locale>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SessionsTable {
  /** sha256 of the cookie token: a leaked table gives no usable session ids. */
  id: string;
  user_id: number;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
  ip: string | null;
  user_agent: string | null;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
