// The portal the fake pretends to be: property definitions (PRODUCT.md §7.2 plus HubSpot's own),
// deal pipelines (HubSpot's default and "Лиды" 2341107958 from PRODUCT.md §4.2) and owners.
import type { ObjectType, Owner, Pipeline, PipelineStage, PropertyDef, PropertyInput, PropertyType } from './types.ts';

const FIELD_TYPES: Record<PropertyType, string> = {
  string: 'text', number: 'number', date: 'date', datetime: 'date', enumeration: 'select', bool: 'booleancheckbox', phone_number: 'phonenumber',
};

export function propertyDef(input: PropertyInput, extra: Partial<PropertyDef> = {}, at = 0): PropertyDef {
  const type = input.type ?? 'string';
  return {
    name: input.name,
    label: input.label ?? input.name,
    type,
    fieldType: input.fieldType ?? FIELD_TYPES[type],
    groupName: input.groupName ?? 'propart',
    description: input.description ?? '',
    options: (input.options ?? []).map((o, i) => ({ label: o.label, value: o.value, hidden: o.hidden ?? false, displayOrder: o.displayOrder ?? i })),
    hasUniqueValue: input.hasUniqueValue ?? false,
    hubspotDefined: false,
    readOnlyValue: false,
    createdAt: at,
    updatedAt: at,
    ...extra,
  };
}

type Spec = [name: string, type?: PropertyType, flags?: 'ro' | 'unique', options?: string[]];

function defs(hubspot: Spec[], custom: Spec[]): PropertyDef[] {
  const make = ([name, type = 'string', flag, options]: Spec, hubspotDefined: boolean) => propertyDef(
    { name, type, options: options?.map((v) => ({ label: v, value: v })), hasUniqueValue: flag === 'unique', groupName: hubspotDefined ? 'hubspot' : 'propart' },
    { hubspotDefined, readOnlyValue: flag === 'ro' },
  );
  return [...hubspot.map((s) => make(s, true)), ...custom.map((s) => make(s, false))];
}

const LEAD_STATUSES = ['NEW', 'OPEN', 'IN_PROGRESS', 'OPEN_DEAL', 'UNQUALIFIED', 'ATTEMPTED_TO_CONTACT', 'CONNECTED', 'BAD_TIMING'];

/** Built-in and portal properties per object type. `propart_*` are the app's unique keys for upserts. */
export function defaultProperties(): Record<ObjectType, PropertyDef[]> {
  return {
    contacts: defs(
      [
        ['email'], ['firstname'], ['lastname'], ['phone', 'phone_number'], ['mobilephone', 'phone_number'], ['hs_phone_number', 'phone_number'],
        ['company'], ['hs_lead_status', 'enumeration', undefined, LEAD_STATUSES], ['hubspot_owner_id', 'enumeration'],
        ['lifecyclestage', 'enumeration', undefined, ['subscriber', 'lead', 'marketingqualifiedlead', 'salesqualifiedlead', 'opportunity', 'customer', 'evangelist', 'other']],
        ['notes_last_contacted', 'datetime', 'ro'], ['hs_last_activity_date', 'datetime', 'ro'],
        ['createdate', 'datetime'], ['lastmodifieddate', 'datetime', 'ro'], ['hs_object_id', 'number', 'ro'],
      ],
      [
        ['phone_number'], ['phone_number_1'], ['telegram'], ['telegram__cloned_'], ['messenger'], ['messenger__cloned_'],
        ['birthdate'], ['birthdate__cloned_'], ['propart_lead_id', 'string', 'unique'],
      ],
    ),
    deals: defs(
      [
        ['dealname'], ['amount', 'number'], ['dealtype', 'enumeration', undefined, ['newbusiness', 'existingbusiness']],
        ['pipeline', 'enumeration'], ['dealstage', 'enumeration'], ['closedate', 'datetime'], ['hubspot_owner_id', 'enumeration'],
        ['createdate', 'datetime'], ['hs_lastmodifieddate', 'datetime', 'ro'], ['hs_object_id', 'number', 'ro'],
      ],
      [
        ['phone_number'], ['email'], ['from_agent_portal__name_'], ['budget'], ['language'], ['source_channel'], ['deal_closed'],
        ['decline_reason'], ['purchase_reason'], ['purchase_reason__cloned_'], ['property_type__cloned_'], ['property_status__cloned_'],
        ['purchase_country'], ['telegram'], ['messenger'], ['birthdate'], ['propart_lead_id', 'string', 'unique'],
      ],
    ),
    notes: defs(
      [
        ['hs_note_body'], ['hs_timestamp', 'datetime'], ['hubspot_owner_id', 'enumeration'], ['hs_attachment_ids'],
        ['hs_createdate', 'datetime', 'ro'], ['hs_lastmodifieddate', 'datetime', 'ro'], ['hs_object_id', 'number', 'ro'],
      ],
      [['propart_comment_id', 'string', 'unique']],
    ),
  };
}

/** Properties HubSpot maintains itself on every write. */
export const SYSTEM_PROPERTIES: Record<ObjectType, { created: string; modified: string }> = {
  contacts: { created: 'createdate', modified: 'lastmodifieddate' },
  deals: { created: 'createdate', modified: 'hs_lastmodifieddate' },
  notes: { created: 'hs_createdate', modified: 'hs_lastmodifieddate' },
};

/** Returned by GET when no `properties` are asked for (HUBSPOT.md §2.1). */
export const DEFAULT_READ_PROPERTIES: Record<ObjectType, string[]> = {
  contacts: ['firstname', 'lastname', 'email', 'hs_object_id', 'createdate', 'lastmodifieddate'],
  deals: ['dealname', 'amount', 'closedate', 'pipeline', 'dealstage', 'hs_object_id', 'createdate', 'hs_lastmodifieddate'],
  notes: ['hs_object_id', 'hs_createdate', 'hs_lastmodifieddate'],
};

/** Returned by search when no `properties` are asked for (HUBSPOT.md §2.4; deals and notes by analogy). */
export const DEFAULT_SEARCH_PROPERTIES: Record<ObjectType, string[]> = {
  contacts: ['createdate', 'email', 'firstname', 'hs_object_id', 'lastmodifieddate', 'lastname'],
  deals: ['amount', 'closedate', 'createdate', 'dealname', 'dealstage', 'hs_lastmodifieddate', 'hs_object_id', 'pipeline'],
  notes: ['hs_createdate', 'hs_lastmodifieddate', 'hs_object_id'],
};

/** Properties the free-text `query` of a search looks in. */
export const QUERY_PROPERTIES: Record<ObjectType, string[]> = {
  contacts: ['firstname', 'lastname', 'email', 'phone', 'mobilephone', 'company'],
  deals: ['dealname'],
  notes: ['hs_note_body'],
};

const stage = (id: string, label: string, displayOrder: number, probability: string, isClosed: boolean, at: number): PipelineStage => ({
  id, label, displayOrder, metadata: { isClosed: String(isClosed), probability }, archived: false, createdAt: at, updatedAt: at,
});

export const LEADS_PIPELINE_ID = '2341107958';

export function defaultPipelines(): Pipeline[] {
  const leadsAt = Date.parse('2024-09-20T09:00:00.000Z');
  const leads: [string, string][] = [
    ['3204738258', 'Новая заявка'],
    ['3204738259', 'Отправлены варианты/Передан на партнеров'],
    ['3204738261', 'Назначена встреча/тур'],
    ['3204738262', 'Встреча/тур проведены'],
    ['3204738265', 'Переговоры'],
    ['3204738266', 'Задаток'],
    ['3204738267', 'Сделка закрыта'],
  ];
  const probabilities = ['0.1', '0.2', '0.4', '0.6', '0.8', '0.9', '1.0'];
  return [
    {
      id: 'default', label: 'Sales Pipeline', displayOrder: 0, archived: false, createdAt: 0, updatedAt: 0,
      stages: [
        stage('appointmentscheduled', 'Appointment Scheduled', 0, '0.2', false, 0),
        stage('qualifiedtobuy', 'Qualified To Buy', 1, '0.4', false, 0),
        stage('presentationscheduled', 'Presentation Scheduled', 2, '0.6', false, 0),
        stage('decisionmakerboughtin', 'Decision Maker Bought-In', 3, '0.8', false, 0),
        stage('contractsent', 'Contract Sent', 4, '0.9', false, 0),
        stage('closedwon', 'Closed Won', 5, '1.0', true, 0),
        stage('closedlost', 'Closed Lost', 6, '0.0', true, 0),
      ],
    },
    {
      id: LEADS_PIPELINE_ID, label: 'Лиды', displayOrder: 1, archived: false, createdAt: leadsAt, updatedAt: leadsAt,
      stages: leads.map(([id, label], i) => stage(id, label, i, probabilities[i]!, i === leads.length - 1, leadsAt)),
    },
  ];
}

export function defaultOwners(): Owner[] {
  const at = Date.parse('2024-09-01T08:00:00.000Z');
  const owner = (id: string, email: string, firstName: string, lastName: string, userId: number, archived = false): Owner => ({
    id, email, firstName, lastName, userId, type: 'PERSON', archived, createdAt: at, updatedAt: at,
    teams: [{ id: '5120432', name: 'Sales', primary: true }],
  });
  return [
    owner('41629779', 'manager@propart.example', 'Olena', 'Kovalenko', 9586504),
    owner('41629780', 'sales1@propart.example', 'Andrii', 'Shevchenko', 9586505),
    owner('41629781', 'sales2@propart.example', 'Iryna', 'Bondarenko', 9586506),
    owner('41629782', 'former@propart.example', 'Taras', 'Melnyk', 9586507, true),
  ];
}
