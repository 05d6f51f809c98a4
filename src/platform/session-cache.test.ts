// The in-memory sessions' rules (decision 023), on a clock the test moves: when the cache may answer at
// all, what each notice forgets, and that a lookup racing an invalidation never stores its older answer.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CachedSession, SessionCache } from './session-cache.ts';

const session = (sid: string, userId: number, role: 'agent' | 'admin' = 'agent'): CachedSession => ({
  sid,
  user: { id: userId, username: `u${userId}`, displayName: `User ${userId}`, email: `u${userId}@example.com`, role, mustChangePassword: false },
  hasTwoFactor: false,
  expiresAt: Date.now() + 3_600_000,
  lastSeenAt: Date.now(),
});

function liveCache(max?: number) {
  let now = 1000;
  const cache = new SessionCache(max, () => now);
  cache.loadVersions([]);
  cache.heartbeatHeard(now);
  return { cache, advance: (ms: number) => { now += ms; return now; }, at: () => now };
}

describe('session cache', () => {
  test('answers only once the versions are loaded and while a heartbeat sent in the last 3 s was heard', () => {
    let now = 1000;
    const cache = new SessionCache(100, () => now);
    cache.heartbeatHeard(now);
    assert.equal(cache.live(), false, 'versions not loaded yet');
    cache.loadVersions([]);
    assert.equal(cache.live(), true);
    cache.put(session('a', 1), cache.epoch());
    assert.equal(cache.get('a')?.user.id, 1);
    now += 3001;
    assert.equal(cache.live(), false, 'no heartbeat heard for more than 3 s');
    assert.equal(cache.get('a'), undefined, 'a silent connection answers nothing from memory');
    cache.heartbeatHeard(now - 10);
    assert.equal(cache.get('a')?.user.id, 1);
    cache.reset();
    assert.equal(cache.live(), false, 'a lost connection starts over');
    assert.equal(cache.size, 0);
  });

  test('after a change made by this instance, nothing is answered until a heartbeat sent after it is heard', () => {
    const { cache, advance, at } = liveCache();
    cache.put(session('a', 1), cache.epoch());
    const sent = at();
    advance(1);
    cache.wrote();
    assert.equal(cache.get('a'), undefined, 'the heartbeat heard was sent before the change');
    cache.heartbeatHeard(sent);
    assert.equal(cache.get('a'), undefined, 'an older heartbeat does not count');
    cache.heartbeatHeard(advance(1));
    assert.equal(cache.get('a')?.user.id, 1);
  });

  test("a user's notice forgets that user's sessions only; u:* and unknown notices forget every session", () => {
    const { cache } = liveCache();
    cache.put(session('a1', 1), cache.epoch());
    cache.put(session('a2', 1), cache.epoch());
    cache.put(session('b', 2), cache.epoch());
    cache.heard('u:1');
    assert.equal(cache.get('a1'), undefined);
    assert.equal(cache.get('a2'), undefined);
    assert.equal(cache.get('b')?.user.id, 2);
    cache.heard('u:*');
    assert.equal(cache.get('b'), undefined);
    cache.put(session('c', 3), cache.epoch());
    cache.heard('something new');
    assert.equal(cache.get('c'), undefined);
  });

  test('a session read while a user was invalidated is not kept (the read may predate the change)', () => {
    const { cache } = liveCache();
    const epoch = cache.epoch();
    cache.heard('u:7');
    cache.put(session('late', 1), epoch);
    assert.equal(cache.get('late'), undefined);
    cache.put(session('late', 1), cache.epoch());
    assert.equal(cache.get('late')?.user.id, 1);
  });

  test("lead versions: an agent's own, an admin's the sum; the larger wins whatever the order", () => {
    let now = 1000;
    const cache = new SessionCache(100, () => now);
    cache.heard('v:5:3');
    cache.loadVersions([{ agent_id: 5, version: 2 }, { agent_id: 6, version: 4 }]);
    cache.heartbeatHeard(now);
    assert.equal(cache.leadVersion({ id: 5, role: 'agent' }), 3, 'a notice newer than the rows read');
    assert.equal(cache.leadVersion({ id: 6, role: 'agent' }), 4);
    assert.equal(cache.leadVersion({ id: 9, role: 'agent' }), 0, 'an agent without leads');
    assert.equal(cache.leadVersion({ id: 1, role: 'admin' }), 7);
    cache.heard('v:6:5');
    cache.heard('v:6:5');
    cache.heard('v:5:1');
    assert.equal(cache.leadVersion({ id: 1, role: 'admin' }), 8, 'repeated and older notices change nothing');
    now += 10;
    assert.equal(cache.live(), true);
  });

  test('keeps at most its bound of sessions', () => {
    const { cache } = liveCache(3);
    for (const sid of ['a', 'b', 'c', 'd']) cache.put(session(sid, sid.charCodeAt(0)), cache.epoch());
    assert.ok(cache.size <= 3);
    assert.equal(cache.get('d')?.sid, 'd');
  });
});
