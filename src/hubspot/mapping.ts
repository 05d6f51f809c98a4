// Lead ⇄ HubSpot contact/deal and comment → note. Pure functions; the property names are the contract
// with the agency's HubSpot portal (PRODUCT.md §7.2) and the stage map is the one in leads/stages.ts.
import type { Comment, Lead } from '../db/schema.ts';
import type { Stage } from '../leads/stages.ts';

/** Custom unique properties we create in HubSpot so every write can be an idempotent upsert. */
export const LEAD_ID_PROPERTY = 'propart_lead_id';
export const COMMENT_ID_PROPERTY = 'propart_comment_id';

// Association type ids (HUBSPOT.md §2.5).
export const DEAL_TO_CONTACT = 3;
export const NOTE_TO_DEAL = 214;

/** The deal `amount` for a budget bucket (one table, used only here). */
export const BUDGET_AMOUNTS: Record<string, number> = { 'до 200к': 200_000, '200к–500к': 350_000, '500к–1млн': 750_000, '1млн+': 1_500_000 };

export function budgetForAmount(amount: number): string {
  if (amount <= 200_000) return 'до 200к';
  if (amount <= 500_000) return '200к–500к';
  if (amount <= 1_000_000) return '500к–1млн';
  return '1млн+';
}

export function splitName(name: string): { firstname: string; lastname: string } {
  const parts = name.trim().split(/\s+/);
  return { firstname: parts[0] ?? '', lastname: parts.slice(1).join(' ') };
}

type Props = Record<string, string>;
const put = (p: Props, key: string, value: string | number | null | undefined) => {
  if (value !== null && value !== undefined && value !== '') p[key] = String(value);
};

/** The contact is keyed by email when the lead has one (one person, one contact), else by our lead id. */
export function contactKey(lead: Pick<Lead, 'id' | 'email'>): { idProperty: 'email' | typeof LEAD_ID_PROPERTY; id: string } {
  return lead.email ? { idProperty: 'email', id: lead.email.toLowerCase() } : { idProperty: LEAD_ID_PROPERTY, id: String(lead.id) };
}

export function contactProperties(lead: Lead): Props {
  const p: Props = { ...splitName(lead.deal_name), phone: lead.phone };
  put(p, 'email', lead.email?.toLowerCase());
  if (!lead.email) p[LEAD_ID_PROPERTY] = String(lead.id);
  put(p, 'phone_number_1', lead.second_phone);
  put(p, 'company', lead.company);
  put(p, 'telegram', lead.telegram_nickname);
  put(p, 'messenger', lead.messenger);
  put(p, 'birthdate', lead.birth_date);
  return p;
}

export interface DealContext { pipelineId: string; stages: Stage[]; ownerId: string | null; agentName: string }

export function dealProperties(lead: Lead, ctx: DealContext): Props {
  // A stage set in HubSpot wins; a local status change is pushed as the first stage of that status.
  const stage = ctx.stages.find((s) => s.id === lead.hubspot_stage_id && s.status === lead.status)
    ?? ctx.stages.find((s) => s.status === lead.status) ?? ctx.stages[0]!;
  const p: Props = {
    [LEAD_ID_PROPERTY]: String(lead.id),
    dealname: lead.deal_name,
    pipeline: ctx.pipelineId,
    dealstage: stage.id,
    amount: String(BUDGET_AMOUNTS[lead.budget] ?? ''),
    phone_number: lead.phone,
    from_agent_portal__name_: ctx.agentName,
  };
  if (!p.amount) delete p.amount;
  put(p, 'email', lead.email);
  put(p, 'hubspot_owner_id', ctx.ownerId);
  put(p, 'purchase_country', lead.country);
  put(p, 'purchase_reason', lead.purchase_goal);
  put(p, 'property_type__cloned_', lead.property_type);
  put(p, 'property_status__cloned_', lead.object_type);
  put(p, 'language', lead.communication_language);
  put(p, 'source_channel', lead.source);
  put(p, 'decline_reason', lead.refusal_reason);
  put(p, 'telegram', lead.telegram_nickname);
  put(p, 'messenger', lead.messenger);
  put(p, 'birthdate', lead.birth_date);
  return p;
}

export function noteProperties(comment: Comment, authorName: string | null): Props {
  const body = authorName ? `${authorName}: ${comment.body}` : comment.body;
  return {
    [COMMENT_ID_PROPERTY]: String(comment.id),
    hs_note_body: body,
    hs_timestamp: new Date(comment.created_at).toISOString(),
  };
}

/** What an inbound deal changes on the local lead (stage → status and label). */
export function leadUpdateFromDeal(props: Record<string, string | null | undefined>, stages: Stage[]): { status: Lead['status']; hubspot_stage_id: string; hubspot_stage_label: string } | null {
  const stage = stages.find((s) => s.id === props.dealstage);
  if (!stage) return null;
  return { status: stage.status, hubspot_stage_id: stage.id, hubspot_stage_label: stage.label };
}
