// (a) Every endpoint the app uses answers in the shape HubSpot's OpenAPI documents promise, for its
// success statuses (200/201/204/207) and its errors (the `default` Error response).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { client, OpenApiValidator } from '../openapi.ts';
import { startFakeHubSpot, type FakeHubSpot } from '../server.ts';

const LEADS = '2341107958';

describe('fake HubSpot: responses match the OpenAPI documents', () => {
  let hs: FakeHubSpot;
  const v = new OpenApiValidator();
  let call: ReturnType<typeof client>;

  before(async () => {
    hs = await startFakeHubSpot({ indexingDelayMs: 0, burstMax: 10_000, searchPerSecond: 1000 });
    call = client(hs.url, hs.token, v);
  });
  after(() => hs.close());

  test('contacts: basic, list, batch, search and their errors', async () => {
    const ann = await call('POST', '/crm/v3/objects/contacts', { properties: { email: 'Ann@Example.com', firstname: 'Ann' } });
    assert.equal(ann.status, 201);
    assert.equal(ann.body.properties.email, 'ann@example.com');
    assert.equal((await call('GET', `/crm/v3/objects/contacts/${ann.body.id}?properties=email,phone&propertiesWithHistory=email&associations=deals`)).status, 200);
    const byEmail = await call('GET', '/crm/v3/objects/contacts/ANN@example.com?idProperty=email');
    assert.equal(byEmail.body.id, ann.body.id);
    assert.equal((await call('PATCH', `/crm/v3/objects/contacts/${ann.body.id}`, { properties: { lastname: 'Lee' } })).status, 200);

    const created = await call('POST', '/crm/v3/objects/contacts/batch/create', { inputs: [{ properties: { email: 'b@example.com' } }, { properties: { email: 'c@example.com' } }] });
    assert.equal(created.status, 201);
    const ids: string[] = created.body.results.map((r: { id: string }) => r.id);
    const page = await call('GET', '/crm/v3/objects/contacts?limit=2&properties=email');
    assert.equal(page.status, 200);
    assert.ok(page.body.paging.next.after);
    assert.equal((await call('POST', '/crm/v3/objects/contacts/batch/read', { inputs: ids.map((id) => ({ id })), properties: ['email'], propertiesWithHistory: [] })).status, 200);
    assert.equal((await call('POST', '/crm/v3/objects/contacts/batch/read', { inputs: [{ id: '1' }, { id: ids[0] }], properties: [], propertiesWithHistory: [] })).status, 207);
    assert.equal((await call('POST', '/crm/v3/objects/contacts/batch/update', { inputs: [{ id: ids[0], properties: { firstname: 'B' } }] })).status, 200);
    assert.equal((await call('POST', '/crm/v3/objects/contacts/batch/update', { inputs: [{ id: '1', properties: { firstname: 'X' } }] })).status, 207);
    assert.equal((await call('POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: [{ id: 'd@example.com', idProperty: 'email', properties: { firstname: 'D' } }] })).status, 200);
    const partial = await call('POST', '/crm/v3/objects/contacts/batch/create', {
      inputs: [{ properties: { email: 'e@example.com' }, objectWriteTraceId: 't1' }, { properties: { email: 'ann@example.com' }, objectWriteTraceId: 't2' }],
    });
    assert.equal(partial.status, 207);
    assert.deepEqual(partial.body.errors[0].context.objectWriteTraceId, ['t2']);
    const search = await call('POST', '/crm/v3/objects/contacts/search', {
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'CONTAINS_TOKEN', value: '*@example.com' }] }], sorts: [{ propertyName: 'email', direction: 'DESCENDING' }], properties: ['email'], limit: 2, after: '0',
    });
    assert.equal(search.status, 200);
    assert.equal(search.body.total, 5);
    assert.equal(search.body.paging.next.after, '2');
    assert.equal((await call('POST', '/crm/v3/objects/contacts/batch/archive', { inputs: [{ id: ids[1] }] })).status, 204);
    assert.equal((await call('DELETE', `/crm/v3/objects/contacts/${ids[0]}`)).status, 204);

    assert.equal((await call('POST', '/crm/v3/objects/contacts', { properties: { email: 'ann@example.com' } })).status, 409);
    assert.equal((await call('POST', '/crm/v3/objects/contacts', { properties: { nope: 'x' } })).status, 400);
    assert.equal((await call('GET', '/crm/v3/objects/contacts/999')).status, 404);
    assert.equal((await call('PATCH', '/crm/v3/objects/contacts/999', { properties: {} })).status, 404);
    assert.equal((await call('GET', '/crm/v3/objects/contacts', undefined, { token: null })).status, 401);
    assert.equal((await call('POST', '/crm/v3/objects/contacts/search', { filterGroups: Array.from({ length: 6 }, () => ({ filters: [] })) })).status, 400);
  });

  test('deals: unique lead-id upsert, stage validation, batch and search', async () => {
    const props = (n: number) => ({ dealname: `Deal ${n}`, pipeline: LEADS, dealstage: '3204738258', amount: '200000' });
    const up = await call('POST', '/crm/v3/objects/deals/batch/upsert', { inputs: [1, 2].map((n) => ({ id: `L-${n}`, idProperty: 'propart_lead_id', properties: props(n) })) });
    assert.equal(up.status, 200);
    const id: string = up.body.results[0].id;
    assert.equal((await call('GET', `/crm/v3/objects/deals/${id}`)).status, 200);
    assert.equal((await call('GET', '/crm/v3/objects/deals/L-1?idProperty=propart_lead_id&properties=propart_lead_id')).body.properties.propart_lead_id, 'L-1');
    assert.equal((await call('PATCH', `/crm/v3/objects/deals/${id}`, { properties: { dealstage: '3204738265' } })).status, 200);
    const bad = await call('PATCH', `/crm/v3/objects/deals/${id}`, { properties: { dealstage: '3206423796' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.category, 'VALIDATION_ERROR');
    assert.match(bad.body.message, /INVALID_OPTION/);
    const created = await call('POST', '/crm/v3/objects/deals', { properties: props(3) });
    assert.equal(created.status, 201);
    assert.equal((await call('POST', '/crm/v3/objects/deals/batch/create', { inputs: [{ properties: props(4) }] })).status, 201);
    assert.equal((await call('POST', '/crm/v3/objects/deals/batch/read', { inputs: [{ id: 'L-2' }], idProperty: 'propart_lead_id', properties: ['dealname'], propertiesWithHistory: ['dealstage'] })).status, 200);
    assert.equal((await call('POST', '/crm/v3/objects/deals/batch/update', { inputs: [{ id: 'L-2', idProperty: 'propart_lead_id', properties: { amount: '5' } }] })).status, 200);
    const found = await call('POST', '/crm/v3/objects/deals/search', { filterGroups: [{ filters: [{ propertyName: 'pipeline', operator: 'EQ', value: LEADS }, { propertyName: 'dealstage', operator: 'IN', values: ['3204738258', '3204738265'] }] }], sorts: ['-createdate'], properties: ['dealname'], limit: 100, after: '0' });
    assert.equal(found.body.total, 4);
    assert.equal((await call('GET', '/crm/v3/objects/deals?limit=100')).status, 200);
    assert.equal((await call('POST', '/crm/v3/objects/deals/batch/archive', { inputs: [{ id: created.body.id }] })).status, 204);
    assert.equal((await call('DELETE', `/crm/v3/objects/deals/${id}`)).status, 204);
  });

  test('notes with inline associations, and associations v4', async () => {
    const contact = (await call('POST', '/crm/v3/objects/contacts', { properties: { email: 'assoc@example.com' } })).body;
    const deal = (await call('POST', '/crm/v3/objects/deals', { properties: { dealname: 'A', pipeline: LEADS, dealstage: '3204738258' } })).body;
    const types = (id: number) => [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: id }];
    const note = await call('POST', '/crm/v3/objects/notes', {
      properties: { hs_timestamp: '2025-01-02T03:04:05.678Z', hs_note_body: 'Called buyer' },
      associations: [{ to: { id: deal.id }, types: types(214) }, { to: { id: contact.id }, types: types(202) }],
    });
    assert.equal(note.status, 201);
    assert.equal((await call('POST', '/crm/v3/objects/notes', { properties: { hs_note_body: 'no timestamp' } })).status, 400);
    assert.equal((await call('POST', '/crm/v3/objects/notes/batch/create', { inputs: [{ properties: { hs_timestamp: '1735787045678', hs_note_body: 'x' }, associations: [{ to: { id: deal.id }, types: types(214) }] }] })).status, 201);
    assert.equal((await call('GET', `/crm/v3/objects/notes/${note.body.id}?associations=deals,contacts`)).body.associations.deals.results[0].type, 'note_to_deal');
    assert.equal((await call('POST', '/crm/v3/objects/notes/search', { filterGroups: [{ filters: [{ propertyName: 'associations.deal', operator: 'EQ', value: deal.id }] }] })).body.total, 2);
    assert.equal((await call('PATCH', `/crm/v3/objects/notes/${note.body.id}`, { properties: { hs_note_body: 'edited' } })).status, 200);

    const listed = await call('GET', `/crm/v4/objects/deals/${deal.id}/associations/notes`);
    assert.equal(listed.body.results.length, 2);
    assert.deepEqual(listed.body.results[0].associationTypes, [{ category: 'HUBSPOT_DEFINED', typeId: 213 }]);
    assert.equal((await call('PUT', `/crm/v4/objects/deals/${deal.id}/associations/contacts/${contact.id}`, types(3))).status, 201);
    assert.equal((await call('PUT', `/crm/v4/objects/contact/${contact.id}/associations/default/deal/${deal.id}`)).status, 200);
    assert.equal((await call('PUT', `/crm/v4/objects/deals/${deal.id}/associations/contacts/${contact.id}`, types(214))).status, 400);
    assert.equal((await call('PUT', `/crm/v4/objects/deals/${deal.id}/associations/contacts/999`, types(3))).status, 404);
    assert.equal((await call('POST', '/crm/v4/associations/deals/contacts/batch/create', { inputs: [{ from: { id: deal.id }, to: { id: contact.id }, types: types(3) }] })).status, 201);
    assert.equal((await call('POST', '/crm/v4/associations/deals/contacts/batch/create', { inputs: [{ from: { id: deal.id }, to: { id: '999' }, types: types(3) }] })).status, 207);
    assert.equal((await call('POST', '/crm/v4/associations/notes/deals/batch/associate/default', { inputs: [{ from: { id: note.body.id }, to: { id: deal.id } }] })).status, 200);
    const read = await call('POST', '/crm/v4/associations/contacts/deals/batch/read', { inputs: [{ id: contact.id }] });
    assert.equal(read.status, 200);
    assert.deepEqual(read.body.results[0].to[0].associationTypes, [{ category: 'HUBSPOT_DEFINED', typeId: 4 }]);
    const none = await call('POST', '/crm/v4/associations/contacts/deals/batch/read', { inputs: [{ id: contact.id }, { id: '999' }] });
    assert.equal(none.status, 207);
    assert.equal(none.body.errors[0].subCategory, 'crm.associations.NO_ASSOCIATIONS_FOUND');
    assert.equal((await call('POST', '/crm/v4/associations/deals/contacts/batch/archive', { inputs: [{ from: { id: deal.id }, to: [{ id: contact.id }] }] })).status, 204);
    assert.equal((await call('DELETE', `/crm/v4/objects/notes/${note.body.id}/associations/contacts/${contact.id}`)).status, 204);
    assert.equal((await call('GET', `/crm/v4/objects/contacts/${contact.id}/associations/notes`)).body.results.length, 0);
  });

  test('pipelines, owners and properties', async () => {
    const all = await call('GET', '/crm/v3/pipelines/deals');
    const leads = all.body.results.find((p: { id: string }) => p.id === LEADS);
    assert.deepEqual(leads.stages.map((s: { id: string }) => s.id), ['3204738258', '3204738259', '3204738261', '3204738262', '3204738265', '3204738266', '3204738267']);
    assert.equal(leads.stages[6].label, 'Сделка закрыта');
    assert.equal((await call('GET', `/crm/v3/pipelines/deals/${LEADS}`)).status, 200);
    assert.equal((await call('GET', `/crm/v3/pipelines/deals/${LEADS}/stages`)).body.results.length, 7);
    assert.equal((await call('GET', `/crm/v3/pipelines/deals/${LEADS}/stages/3204738266`)).body.label, 'Задаток');
    assert.equal((await call('GET', '/crm/v3/pipelines/deals/404')).status, 404);

    const first = await call('GET', '/crm/v3/owners?limit=2');
    assert.equal(first.body.results.length, 2);
    const second = await call('GET', `/crm/v3/owners?limit=2&after=${first.body.paging.next.after}`);
    assert.equal(second.body.results.length, 1);
    assert.equal(second.body.paging, undefined);
    assert.equal((await call('GET', '/crm/v3/owners?email=SALES1@propart.example')).body.results[0].id, '41629780');
    assert.equal((await call('GET', '/crm/v3/owners/9586504?idProperty=userId')).body.id, '41629779');
    assert.equal((await call('GET', '/crm/v3/owners/1')).status, 404);

    assert.equal((await call('GET', '/crm/v3/properties/deals')).status, 200);
    assert.equal((await call('GET', '/crm/v3/properties/deals/propart_lead_id')).body.hasUniqueValue, true);
    const def = { name: 'propart_extra_id', label: 'Extra', type: 'string', fieldType: 'text', groupName: 'dealinformation', hasUniqueValue: true };
    assert.equal((await call('POST', '/crm/v3/properties/deals', def)).status, 201);
    assert.equal((await call('POST', '/crm/v3/properties/deals', def)).status, 409);
  });

  test('every endpoint the sync uses was validated, with its success and error statuses', () => {
    const seen = new Set(v.seen.map((s) => `${s.operation} ${s.status}`));
    const expected = [
      'POST /crm/v3/objects/contacts 201', 'GET /crm/v3/objects/contacts/{contactId} 200', 'PATCH /crm/v3/objects/contacts/{contactId} 200',
      'DELETE /crm/v3/objects/contacts/{contactId} 204', 'GET /crm/v3/objects/contacts 200', 'POST /crm/v3/objects/contacts/search 200',
      'POST /crm/v3/objects/contacts/batch/create 201', 'POST /crm/v3/objects/contacts/batch/create 207', 'POST /crm/v3/objects/contacts/batch/read 207',
      'POST /crm/v3/objects/contacts/batch/update 207', 'POST /crm/v3/objects/contacts/batch/upsert 200', 'POST /crm/v3/objects/contacts/batch/archive 204',
      'POST /crm/v3/objects/contacts 409', 'POST /crm/v3/objects/contacts 400', 'GET /crm/v3/objects/contacts/{contactId} 404', 'GET /crm/v3/objects/contacts 401',
      'POST /crm/v3/objects/0-3/batch/upsert 200', 'PATCH /crm/v3/objects/0-3/{dealId} 400', 'POST /crm/v3/objects/0-3/search 200', 'POST /crm/v3/objects/0-3/batch/read 200',
      'POST /crm/v3/objects/notes 201', 'POST /crm/v3/objects/notes/batch/create 201', 'GET /crm/v3/objects/notes/{noteId} 200',
      'PUT /crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId} 201',
      'PUT /crm/v4/objects/{fromObjectType}/{fromObjectId}/associations/default/{toObjectType}/{toObjectId} 200',
      'GET /crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType} 200',
      'POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/create 201', 'POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/create 207',
      'POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read 200', 'POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read 207',
      'POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/associate/default 200',
      'POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/archive 204',
      'GET /crm/v3/pipelines/{objectType} 200', 'GET /crm/v3/pipelines/{objectType}/{pipelineId}/stages 200', 'GET /crm/v3/owners 200',
      'GET /crm/v3/owners/{ownerId} 200', 'POST /crm/v3/properties/{objectType} 201',
    ];
    assert.deepEqual(expected.filter((e) => !seen.has(e)), []);
  });

  test('the validator is not vacuous: nested $refs, undocumented statuses and error bodies are checked', () => {
    const now = new Date().toISOString();
    const batch = (results: unknown[]) => ({ status: 'COMPLETE', results, startedAt: now, completedAt: now });
    assert.throws(() => v.validate('POST', '/crm/v3/objects/deals/batch/create', 201, batch([{ id: '1', properties: {} }])), /must have required property/);
    assert.throws(() => v.validate('POST', '/crm/v3/objects/contacts', 201, { id: '1', properties: { a: 1 }, createdAt: now, updatedAt: now, archived: false }), /must be string,null/);
    assert.throws(() => v.validate('POST', '/crm/v3/objects/contacts', 200, {}), /status 200 is not documented/);
    assert.throws(() => v.validate('GET', '/crm/v3/owners', 404, { status: 'error', message: 'x' }), /correlationId|category/);
    assert.throws(() => v.validate('POST', '/crm/v3/objects/contacts/batch/upsert', 200, batch([{ id: '1', properties: {}, createdAt: now, updatedAt: now, archived: false }])), /new/);
  });
});
