// (c) The official client (@hubspot/api-client 14) talks to the fake through `basePath`: it sends
// what the fake understands and deserialises what the fake answers (Dates, `_new`, 207s, errors).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@hubspot/api-client';
import { AssociationSpecAssociationCategoryEnum as V4Category } from '@hubspot/api-client/lib/codegen/crm/associations/v4/index.js';
import { AssociationSpecAssociationCategoryEnum as NoteCategory } from '@hubspot/api-client/lib/codegen/crm/objects/notes/index.js';
import { startFakeHubSpot, type FakeHubSpot } from '../server.ts';

const LEADS = '2341107958';

describe('fake HubSpot: the official @hubspot/api-client works against it', () => {
  let hs: FakeHubSpot;
  let hubspot: Client;

  before(async () => {
    hs = await startFakeHubSpot({ indexingDelayMs: 0 });
    hubspot = new Client({ accessToken: hs.token, basePath: hs.url, numberOfApiCallRetries: 0 });
  });
  after(() => hs.close());

  test('creates and reads a contact (by id and by email)', async () => {
    const created = await hubspot.crm.contacts.basicApi.create({ properties: { email: 'Ann@Example.com', firstname: 'Ann' }, associations: [] });
    assert.match(created.id, /^\d+$/);
    assert.ok(created.createdAt instanceof Date && !Number.isNaN(created.createdAt.getTime()));
    const read = await hubspot.crm.contacts.basicApi.getById(created.id, ['email', 'firstname', 'phone']);
    assert.deepEqual({ email: read.properties.email, firstname: read.properties.firstname, phone: read.properties.phone }, { email: 'ann@example.com', firstname: 'Ann', phone: null });
    const byEmail = await hubspot.crm.contacts.basicApi.getById('ann@example.com', undefined, undefined, undefined, false, 'email');
    assert.equal(byEmail.id, created.id);
    const info = await hubspot.crm.contacts.basicApi.getByIdWithHttpInfo(created.id);
    assert.equal(info.httpStatusCode, 200);
    assert.equal(info.headers['x-hubspot-ratelimit-max'], '100');
  });

  test('a duplicate email is an ApiException 409 whose body names the existing id', async () => {
    const existing = hs.state.live('contacts')[0]!;
    await assert.rejects(
      hubspot.crm.contacts.basicApi.create({ properties: { email: 'ann@example.com' }, associations: [] }),
      (err: { code?: number; body?: { message?: string; category?: string } }) => {
        assert.equal(err.code, 409);
        assert.equal(err.body?.category, 'CONFLICT');
        assert.equal(/Existing ID: (\d+)/.exec(err.body?.message ?? '')?.[1], existing.id);
        return true;
      },
    );
  });

  test('batch-upserts deals on the unique lead-id property, idempotently', async () => {
    const inputs = [1, 2].map((n) => ({
      id: `lead-${n}`, idProperty: 'propart_lead_id',
      properties: { dealname: `Lead ${n}`, pipeline: LEADS, dealstage: '3204738258', amount: '200000' },
    }));
    const first = await hubspot.crm.deals.batchApi.upsert({ inputs });
    assert.equal(first.status, 'COMPLETE');
    assert.deepEqual(first.results.map((r) => r._new), [true, true]);
    assert.ok(first.completedAt instanceof Date);
    const second = await hubspot.crm.deals.batchApi.upsert({ inputs });
    assert.deepEqual(second.results.map((r) => r._new), [false, false]);
    const ids = (rs: typeof first.results) => new Map(rs.map((r) => [r.properties.propart_lead_id, r.id]));
    assert.deepEqual(ids(second.results), ids(first.results));
    assert.equal(hs.state.live('deals').length, 2);

    const read = await hubspot.crm.deals.batchApi.read({ inputs: [{ id: 'lead-1' }, { id: 'missing' }], idProperty: 'propart_lead_id', properties: ['dealstage'], propertiesWithHistory: [] });
    assert.equal(read.results.length, 1);
    assert.equal('numErrors' in read ? read.numErrors : 0, 1);
  });

  test('an invalid stage is an ApiException 400 VALIDATION_ERROR', async () => {
    await assert.rejects(
      hubspot.crm.deals.basicApi.create({ properties: { dealname: 'x', pipeline: LEADS, dealstage: 'appointmentscheduled' }, associations: [] }),
      (err: { code?: number; body?: { category?: string; message?: string } }) => err.code === 400 && err.body?.category === 'VALIDATION_ERROR' && /INVALID_OPTION/.test(err.body.message ?? ''),
    );
  });

  test('associations v4, notes with inline associations, search, pipelines and owners', async () => {
    const contact = hs.state.live('contacts')[0]!;
    const deal = hs.state.live('deals')[0]!;
    const created = await hubspot.crm.associations.v4.batchApi.create('deals', 'contacts', {
      inputs: [{ _from: { id: deal.id }, to: { id: contact.id }, types: [{ associationCategory: V4Category.HubspotDefined, associationTypeId: 3 }] }],
    });
    assert.equal(created.results[0]?.toObjectId, contact.id);
    const note = await hubspot.crm.objects.notes.basicApi.create({
      properties: { hs_timestamp: new Date().toISOString(), hs_note_body: 'Called the buyer' },
      associations: [{ to: { id: deal.id }, types: [{ associationCategory: NoteCategory.HubspotDefined, associationTypeId: 214 }] }],
    });
    const page = await hubspot.crm.associations.v4.basicApi.getPage('deals', deal.id, 'notes');
    assert.deepEqual(page.results.map((r) => r.toObjectId), [note.id]);
    const read = await hubspot.crm.associations.v4.batchApi.getPage('contacts', 'deals', { inputs: [{ id: contact.id }] });
    assert.equal(read.results[0]?.to[0]?.toObjectId, deal.id);

    const found = await hubspot.crm.contacts.searchApi.doSearch({
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ' as never, value: 'ann@example.com' }] }],
      sorts: ['-createdate'], properties: ['email'], limit: 10, after: '0',
    });
    assert.equal(found.total, 1);

    const pipeline = await hubspot.crm.pipelines.pipelinesApi.getById('deals', LEADS);
    assert.equal(pipeline.stages.find((s) => s.id === '3204738267')?.label, 'Сделка закрыта');
    const owners = await hubspot.crm.owners.ownersApi.getPage('manager@propart.example');
    assert.equal(owners.results[0]?.id, '41629779');
  });

  test('a 429 reaches the caller as ApiException 429 with policyName (retries off)', async () => {
    hs.faults.add({ action: 'rate-limit', times: 1 });
    await assert.rejects(hubspot.crm.owners.ownersApi.getPage(), (err: { code?: number; body?: { policyName?: string } }) => err.code === 429 && err.body?.policyName === 'TEN_SECONDLY_ROLLING');
  });
});
