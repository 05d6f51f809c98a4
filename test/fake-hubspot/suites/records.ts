// (b) Record behaviour the sync relies on: 409 on a duplicate email (HubSpot's body), batch caps,
// idempotent upserts, the search indexing delay and stale index reads.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { client, OpenApiValidator } from '../openapi.ts';
import { startFakeHubSpot, type FakeHubSpot } from '../server.ts';

const deal = (n: number) => ({ dealname: `Deal ${n}`, pipeline: '2341107958', dealstage: '3204738258' });

describe('fake HubSpot: records', () => {
  let hs: FakeHubSpot;
  let call: ReturnType<typeof client>;

  before(async () => {
    hs = await startFakeHubSpot({ indexingDelayMs: 1500, searchPerSecond: 1000, now: () => Date.parse('2026-03-02T10:00:00.000Z') });
    call = client(hs.url, hs.token, new OpenApiValidator());
  });
  afterEach(() => hs.reset());
  after(() => hs.close());

  test('a duplicate contact email (any case) is 409 CONFLICT with HubSpot\'s exact body', async () => {
    const first = await call('POST', '/crm/v3/objects/contacts', { properties: { email: 'ann@example.com' } });
    const dup = await call('POST', '/crm/v3/objects/contacts', { properties: { email: 'ANN@Example.COM', firstname: 'Again' } });
    assert.equal(dup.status, 409);
    assert.deepEqual(Object.keys(dup.body).sort(), ['category', 'correlationId', 'message', 'status']);
    assert.equal(dup.body.status, 'error');
    assert.equal(dup.body.category, 'CONFLICT');
    assert.equal(dup.body.message, `Contact already exists. Existing ID: ${first.body.id}`);
    assert.equal(/Existing ID: (\d+)/.exec(dup.body.message)?.[1], first.body.id);
    const other = await call('POST', '/crm/v3/objects/contacts', { properties: { email: 'bob@example.com' } });
    assert.equal((await call('PATCH', `/crm/v3/objects/contacts/${other.body.id}`, { properties: { email: 'Ann@example.com' } })).status, 409);
    assert.equal(hs.state.live('contacts').length, 2);
  });

  test('batch create fails as a whole on a duplicate, unless every input has an objectWriteTraceId', async () => {
    await call('POST', '/crm/v3/objects/contacts', { properties: { email: 'ann@example.com' } });
    const whole = await call('POST', '/crm/v3/objects/contacts/batch/create', { inputs: [{ properties: { email: 'new@example.com' } }, { properties: { email: 'ann@example.com' } }] });
    assert.equal(whole.status, 409);
    const inBatch = await call('POST', '/crm/v3/objects/contacts/batch/create', { inputs: [{ properties: { email: 'x@example.com' } }, { properties: { email: 'X@example.com' } }] });
    assert.equal(inBatch.status, 409);
    assert.equal(hs.state.live('contacts').length, 1);
    const traced = await call('POST', '/crm/v3/objects/contacts/batch/create', {
      inputs: [{ properties: { email: 'new@example.com' }, objectWriteTraceId: 'a' }, { properties: { email: 'ann@example.com' }, objectWriteTraceId: 'b' }],
    });
    assert.equal(traced.status, 207);
    assert.equal(traced.body.numErrors, 1);
    assert.equal(traced.body.errors[0].category, 'CONFLICT');
    assert.deepEqual(traced.body.errors[0].context.objectWriteTraceId, ['b']);
    assert.equal(traced.body.results[0].objectWriteTraceId, 'a');
    assert.equal(hs.state.live('contacts').length, 2);
  });

  test('more than 100 inputs is 400 VALIDATION_ERROR on every batch endpoint, and nothing is written', async () => {
    const inputs = Array.from({ length: 101 }, (_, i) => ({ id: `L-${i}`, idProperty: 'propart_lead_id', properties: deal(i) }));
    for (const op of ['create', 'read', 'update', 'upsert', 'archive']) {
      const res = await call('POST', `/crm/v3/objects/deals/batch/${op}`, { inputs, properties: [], propertiesWithHistory: [] });
      assert.equal(res.status, 400, op);
      assert.equal(res.body.category, 'VALIDATION_ERROR');
      assert.match(res.body.message, /maximum number of inputs .* is 100/);
    }
    assert.equal((await call('POST', '/crm/v3/objects/deals/batch/upsert', { inputs: inputs.slice(0, 100) })).status, 200);
    const history = await call('POST', '/crm/v3/objects/deals/batch/read', { inputs: inputs.slice(0, 51), idProperty: 'propart_lead_id', properties: [], propertiesWithHistory: ['dealstage'] });
    assert.equal(history.status, 400);
    assert.match(history.body.message, /property histories is 50/);
    const assoc = Array.from({ length: 2001 }, () => ({ from: { id: '1' }, to: { id: '2' }, types: [] }));
    assert.equal((await call('POST', '/crm/v4/associations/deals/contacts/batch/create', { inputs: assoc })).status, 400);
    assert.equal(hs.state.live('deals').length, 100);
  });

  test('upsert is idempotent: the same idProperty value twice gives one record (new, then not new)', async () => {
    const body = { inputs: [{ id: 'L-7', idProperty: 'propart_lead_id', properties: deal(7) }] };
    const first = await call('POST', '/crm/v3/objects/deals/batch/upsert', body);
    const second = await call('POST', '/crm/v3/objects/deals/batch/upsert', { inputs: [{ ...body.inputs[0], properties: { ...deal(7), dealstage: '3204738265' } }] });
    assert.equal(first.body.results[0].new, true);
    assert.equal(second.body.results[0].new, false);
    assert.equal(second.body.results[0].id, first.body.results[0].id);
    assert.equal(hs.state.live('deals').length, 1);
    assert.equal(hs.state.live('deals')[0]?.properties.dealstage, '3204738265');
    for (const email of ['Ann@Example.com', 'ann@example.com']) {
      await call('POST', '/crm/v3/objects/contacts/batch/upsert', { inputs: [{ id: email, idProperty: 'email', properties: { firstname: 'Ann' } }] });
    }
    assert.equal(hs.state.live('contacts').length, 1);
    const dupes = await call('POST', '/crm/v3/objects/deals/batch/upsert', { inputs: [body.inputs[0], body.inputs[0]] });
    assert.equal(dupes.status, 400);
    assert.match(dupes.body.message, /^Duplicate IDs found in batch input: \[L-7\]/);
    const nonUnique = await call('POST', '/crm/v3/objects/deals/batch/upsert', { inputs: [{ id: 'x', idProperty: 'dealname', properties: {} }] });
    assert.equal(nonUnique.status, 400);
    assert.match(nonUnique.body.message, /non-unique 0-3 property dealname/);
    const created = await call('POST', '/crm/v3/objects/deals', { properties: { ...deal(8), propart_lead_id: 'L-7' } });
    assert.equal(created.status, 409);
    assert.match(created.body.message, /^Deal already exists\. Existing ID: \d+$/);
  });

  test('search sees a write only after the indexing delay, and sees stale values until then', async () => {
    const search = (email: string) => call('POST', '/crm/v3/objects/contacts/search', {
      filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: email }] }], properties: ['firstname'], limit: 10,
    });
    const ann = await call('POST', '/crm/v3/objects/contacts', { properties: { email: 'ann@example.com', firstname: 'Ann' } });
    assert.equal((await search('ann@example.com')).body.total, 0);
    hs.state.clock.advance(1499);
    assert.equal((await search('ann@example.com')).body.total, 0);
    hs.state.clock.advance(1);
    const found = await search('ANN@example.com');
    assert.equal(found.body.total, 1);
    assert.equal(found.body.results[0].id, ann.body.id);

    await call('PATCH', `/crm/v3/objects/contacts/${ann.body.id}`, { properties: { firstname: 'Anna' } });
    assert.equal((await search('ann@example.com')).body.results[0].properties.firstname, 'Ann');
    await call('DELETE', `/crm/v3/objects/contacts/${ann.body.id}`);
    assert.equal((await search('ann@example.com')).body.total, 1);
    hs.state.clock.advance(1500);
    assert.equal((await search('ann@example.com')).body.total, 0);

    await call('POST', '/crm/v3/objects/contacts', { properties: { email: 'bob@example.com' } });
    assert.equal((await fetch(`${hs.url}/__fake/search/flush`, { method: 'POST' })).status, 204);
    assert.equal((await search('bob@example.com')).body.total, 1);
  });

  test('search: caps answer 400; one sort; offset paging', async () => {
    hs.state.config.indexingDelayMs = 0;
    try {
      const inputs = Array.from({ length: 25 }, (_, i) => ({ properties: { email: `p${String(i).padStart(2, '0')}@example.com` } }));
      await call('POST', '/crm/v3/objects/contacts/batch/create', { inputs });
      const filters = (n: number) => Array.from({ length: n }, () => ({ propertyName: 'email', operator: 'HAS_PROPERTY' }));
      const bad = [
        { filterGroups: [{ filters: filters(7) }] },
        { filterGroups: [1, 2, 3, 4].map(() => ({ filters: filters(5) })) },
        { limit: 201 },
        { after: '10000' },
        { query: 'x'.repeat(3001) },
        { filterGroups: [{ filters: [{ propertyName: 'email', operator: 'LIKE', value: 'x' }] }] },
      ];
      for (const body of bad) assert.equal((await call('POST', '/crm/v3/objects/contacts/search', body)).status, 400, JSON.stringify(body).slice(0, 80));
      const page = await call('POST', '/crm/v3/objects/contacts/search', { sorts: ['-email', 'createdate'], properties: ['email'], limit: 10, after: '20' });
      assert.equal(page.body.total, 25);
      assert.deepEqual(page.body.results.map((r: { properties: { email: string } }) => r.properties.email), ['p04@example.com', 'p03@example.com', 'p02@example.com', 'p01@example.com', 'p00@example.com']);
      assert.equal(page.body.paging, undefined);
      assert.equal((await call('POST', '/crm/v3/objects/contacts/search', { query: 'p07' })).body.total, 1);
    } finally {
      hs.state.config.indexingDelayMs = 1500;
    }
  });
});
