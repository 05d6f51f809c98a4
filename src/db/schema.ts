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

export interface LeadsTable {
  id: Generated<number>;
  agent_id: number;
  created_by: number | null;
  deal_name: string;
  email: string | null;
  phone: string;
  second_phone: string | null;
  budget: string;
  status: ColumnType<'new' | 'contacted' | 'qualified' | 'closed', 'new' | 'contacted' | 'qualified' | 'closed' | undefined, 'new' | 'contacted' | 'qualified' | 'closed'>;
  is_transferred: Generated<boolean>;
  country: string | null;
  purchase_goal: string | null;
  property_type: string | null;
  object_type: string | null;
  communication_language: string | null;
  source: string | null;
  refusal_reason: string | null;
  company: string | null;
  telegram_nickname: string | null;
  messenger: string | null;
  /** YYYY-MM-DD; read as text so no time zone can shift a birthday. */
  birth_date: ColumnType<string | null, string | null | undefined, string | null>;
  possible_duplicate: Generated<boolean>;
  hubspot_contact_id: string | null;
  hubspot_deal_id: string | null;
  hubspot_stage_id: string | null;
  hubspot_stage_label: string | null;
  last_sync_at: NullableTimestamp;
  closed_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** The CSV import that created the lead (migration 0011), else null. */
  import_id: ColumnType<number | null, number | null | undefined, number | null>;
}

export interface CommentsTable {
  id: Generated<number>;
  lead_id: number;
  author_id: number | null;
  parent_id: number | null;
  body: string;
  hubspot_note_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PointsEventsTable {
  id: Generated<number>;
  user_id: number;
  lead_id: number | null;
  kind: 'lead_created' | 'deal_closed' | 'deal_reopened' | 'lead_deleted';
  points: number;
  created_at: Timestamp;
}

export interface SyncItemsTable {
  id: Generated<number>;
  entity_type: 'lead' | 'comment';
  entity_id: number;
  op: 'upsert' | 'delete';
  version: Generated<number>;
  synced_version: Generated<number>;
  status: ColumnType<SyncStatus, SyncStatus | undefined, SyncStatus>;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  claimed_until: NullableTimestamp;
  claimed_by: string | null;
  last_error: string | null;
  last_error_at: NullableTimestamp;
  payload: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  synced_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}
export type SyncStatus = 'pending' | 'synced' | 'failed' | 'parked';

export interface HubspotOwnersTable {
  id: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  updated_at: Timestamp;
}

export interface HubspotUnassignedTable {
  deal_id: string;
  deal_name: string | null;
  owner_id: string | null;
  owner_email: string | null;
  stage_id: string | null;
  seen_at: Timestamp;
}

export interface SyncStateTable {
  key: string;
  value: string;
  updated_at: Timestamp;
}

// Property catalogue and knowledge base (migration 0007). Money and sizes are numeric: read as strings.
type Numeric = ColumnType<string, string | number, string | number>;
type NullableNumeric = ColumnType<string | null, string | number | null | undefined, string | number | null>;

export interface PropertiesTable {
  id: Generated<number>;
  name: string;
  country: string;
  city: string;
  district: string | null;
  price_from: Numeric;
  price_to: NullableNumeric;
  payment_terms: string | null;
  description: string | null;
  created_by: number | null;
  updated_by: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PropertyUnitsTable {
  id: Generated<number>;
  property_id: number;
  unit_type: string;
  size_from: Numeric;
  size_to: NullableNumeric;
  price: Numeric;
  position: Generated<number>;
  created_at: Timestamp;
}

export interface PropertyPhotosTable {
  id: Generated<number>;
  property_id: number;
  storage_key: string;
  thumb_key: string;
  content_type: string;
  width: number;
  height: number;
  size_bytes: number;
  original_name: string;
  position: Generated<number>;
  is_main: Generated<boolean>;
  uploaded_by: number | null;
  uploaded_at: Timestamp;
}

export interface PropertyDocumentsTable {
  id: Generated<number>;
  property_id: number;
  storage_key: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  description: string | null;
  uploaded_by: number | null;
  uploaded_at: Timestamp;
}

export interface LeadPropertiesTable {
  lead_id: number;
  property_id: number;
  created_at: Timestamp;
}

export interface KnowledgeCategoriesTable {
  id: Generated<number>;
  name: string;
  created_at: Timestamp;
}

export interface KnowledgeArticlesTable {
  id: Generated<number>;
  category_id: number;
  title: string;
  body: string;
  created_by: number | null;
  updated_by: number | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AuditLogTable {
  id: Generated<number>;
  created_at: Timestamp;
  actor_id: number | null;
  actor_name: string;
  ip: string | null;
  action: string;
  entity_type: string;
  entity_id: string | null;
  /** Only the fields that changed, secrets removed (see src/audit/audit.server.ts). */
  before: ColumnType<Record<string, unknown> | null, string | null | undefined, never>;
  after: ColumnType<Record<string, unknown> | null, string | null | undefined, never>;
}

export type VerificationStatus = 'pending' | 'approved' | 'rejected' | 'revoked';
export interface VerificationRequestsTable {
  id: Generated<number>;
  agent_id: number;
  status: ColumnType<VerificationStatus, VerificationStatus | undefined, VerificationStatus>;
  requested_at: Timestamp;
  decided_at: NullableTimestamp;
  decided_by: number | null;
  commission: ColumnType<string | null, string | number | null | undefined, string | number | null>;
  reason: string | null;
}

export type DocumentKind = 'id' | 'agreement' | 'other';
export interface UserDocumentsTable {
  id: Generated<number>;
  user_id: number;
  kind: ColumnType<DocumentKind, DocumentKind | undefined, DocumentKind>;
  /** Where the bytes are in app.storage (random); never shown, never a URL. */
  storage_key: string;
  /** The uploader's original name, made safe: metadata for display and downloads only. */
  filename: string;
  /** Sniffed from the bytes at upload. */
  content_type: string;
  size_bytes: number;
  description: string | null;
  uploaded_by: number | null;
  verification_request_id: number | null;
  created_at: Timestamp;
}

// Per-agent API keys (migration 0009): only the token's sha256 is stored.
export interface ApiKeysTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  /** The public id part of the token, for lookup. */
  prefix: string;
  key_hash: string;
  /** Origins allowed to call the API from a browser (CORS); JSON array, written as a JSON string. */
  allowed_origins: ColumnType<string[], string | undefined, string>;
  created_at: Timestamp;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

// CSV imports of leads (migration 0011, src/import). jsonb columns are written as JSON strings.
export type ImportStatus = 'draft' | 'queued' | 'running' | 'done' | 'failed';
type Json<T> = ColumnType<T, string, string>;
export interface ImportFailure { line: number; cells: string[]; reasons: { field: string; key: string }[] }
export interface LeadImportsTable {
  id: Generated<number>;
  /** Who uploaded it. */
  user_id: number;
  /** Responsible agent for rows without an agent column (for an agent: always themself). */
  agent_id: number;
  filename: string;
  encoding: string;
  delimiter: string;
  headers: Json<string[]>;
  /** The parsed cells, every row headers.length long; emptied once the import is done. */
  rows: Json<string[][]>;
  /** 1-based line in the file of rows[i]. */
  lines: Json<number[]>;
  /** Per column: the lead field it fills, or '' (not imported). */
  mapping: Json<string[]>;
  status: ColumnType<ImportStatus, ImportStatus | undefined, ImportStatus>;
  total: Generated<number>;
  processed: Generated<number>;
  imported: Generated<number>;
  failed: Generated<number>;
  failures: ColumnType<ImportFailure[], string | undefined, string>;
  /** A message key saying why the whole import failed. */
  error: string | null;
  created_at: Timestamp;
  queued_at: NullableTimestamp;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  heartbeat_at: NullableTimestamp;
}

/** Kept by the database itself (migrations/0012): read, never written by the app. */
export interface LeadVersionsTable {
  agent_id: number;
  version: string; // bigint
}

export interface Database {
  lead_imports: LeadImportsTable;
  lead_versions: LeadVersionsTable;
  sync_items: SyncItemsTable;
  hubspot_owners: HubspotOwnersTable;
  hubspot_unassigned: HubspotUnassignedTable;
  sync_state: SyncStateTable;
  users: UsersTable;
  sessions: SessionsTable;
  leads: LeadsTable;
  comments: CommentsTable;
  points_events: PointsEventsTable;
  audit_log: AuditLogTable;
  properties: PropertiesTable;
  property_units: PropertyUnitsTable;
  property_photos: PropertyPhotosTable;
  property_documents: PropertyDocumentsTable;
  lead_properties: LeadPropertiesTable;
  knowledge_categories: KnowledgeCategoriesTable;
  knowledge_articles: KnowledgeArticlesTable;
  verification_requests: VerificationRequestsTable;
  user_documents: UserDocumentsTable;
  api_keys: ApiKeysTable;
}

export type Lead = Selectable<LeadsTable>;
export type LeadImport = Selectable<LeadImportsTable>;
export type ApiKey = Selectable<ApiKeysTable>;
export type Comment = Selectable<CommentsTable>;
export type SyncItem = Selectable<SyncItemsTable>;

export type AuditEntry = Selectable<AuditLogTable>;
export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;

export type Property = Selectable<PropertiesTable>;
export type PropertyUnit = Selectable<PropertyUnitsTable>;
export type PropertyPhoto = Selectable<PropertyPhotosTable>;
export type PropertyDocument = Selectable<PropertyDocumentsTable>;
export type KnowledgeCategory = Selectable<KnowledgeCategoriesTable>;
export type KnowledgeArticle = Selectable<KnowledgeArticlesTable>;
export type VerificationRequest = Selectable<VerificationRequestsTable>;
export type UserDocument = Selectable<UserDocumentsTable>;
