// The HubSpot contacts the portal knows (original screen 13), read from the locally synced leads — never
// a crawl of HubSpot inside the request. One row per contact id: the lead updated last describes it.
import { type ExpressionBuilder, type Kysely, sql, type Transaction } from 'kysely';
import type { Database } from '../db/schema.ts';

type DbLike = Kysely<Database> | Transaction<Database>;

export const CONTACTS_PAGE_SIZE = 20;

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (m) => `\\${m}`);

function synced(q: string | undefined) {
  return (eb: ExpressionBuilder<Database, 'leads'>) => {
    const and = [eb('leads.hubspot_contact_id', 'is not', null)];
    if (q) {
      const like = `%${likeEscape(q.toLowerCase())}%`;
      const ors = [eb(sql`lower(leads.deal_name)`, 'like', like), eb(sql`lower(leads.email)`, 'like', like), eb('leads.hubspot_contact_id', '=', q)];
      // Phones are stored as E.164 (+ and digits): any run of 3+ digits typed, with or without spaces.
      const digits = q.replace(/\D/g, '');
      if (digits.length >= 3) ors.push(eb('leads.phone', 'like', `%${digits}%`), eb('leads.second_phone', 'like', `%${digits}%`));
      and.push(eb.or(ors));
    }
    return eb.and(and);
  };
}

function contactsQuery(db: DbLike, q: string | undefined) {
  const latest = db.selectFrom('leads')
    .distinctOn('leads.hubspot_contact_id')
    .select(['leads.hubspot_contact_id as contact_id', 'leads.id as lead_id', 'leads.deal_name as name', 'leads.phone', 'leads.second_phone', 'leads.email'])
    .where(synced(q))
    .orderBy('leads.hubspot_contact_id').orderBy('leads.updated_at', 'desc').orderBy('leads.id', 'desc');
  return db.selectFrom(latest.as('c')).selectAll().orderBy('c.name').orderBy('c.contact_id');
}
export type ContactRow = Awaited<ReturnType<ReturnType<typeof contactsQuery>['execute']>>[number];

export async function countContacts(db: DbLike, q: string | undefined): Promise<number> {
  const row = await db.selectFrom('leads').select(sql<number>`count(distinct leads.hubspot_contact_id)::int`.as('n')).where(synced(q)).executeTakeFirstOrThrow();
  return row.n;
}

export function listContacts(db: DbLike, q: string | undefined, limit: number, offset: number): Promise<ContactRow[]> {
  return contactsQuery(db, q).limit(limit).offset(offset).execute();
}
