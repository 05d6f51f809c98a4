import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig, secretKeyProblem } from './config.ts';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'propart-config-'));

describe('SECRET_KEY', () => {
  test('problems: missing, shorter than 32 bytes, a known placeholder', () => {
    assert.match(String(secretKeyProblem(undefined)), /not set/);
    assert.match(String(secretKeyProblem('abc')), /shorter than 32 bytes/);
    assert.match(String(secretKeyProblem('changeme-changeme-changeme-changeme')), /placeholder/);
    assert.match(String(secretKeyProblem('your-secret-key-here-your-secret-key-here')), /placeholder/);
    assert.equal(secretKeyProblem('4f9c1e0b8a7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d'), null);
  });

  for (const [label, key] of [['missing', undefined], ['short', 'short-key'], ['placeholder', 'x'.repeat(40)]] as const) {
    test(`production refuses to start when it is ${label}, saying how to generate one`, () => {
      assert.throws(
        () => loadConfig({ NODE_ENV: 'production', DATA_DIR: tmp(), ...(key ? { SECRET_KEY: key } : {}) }),
        (err: unknown) => err instanceof ConfigError && /refusing to start/.test(err.message) && /npm run secret/.test(err.message),
      );
    });
  }

  test('development generates a key once, keeps it in data/ with mode 0600 and warns "SECRET_KEY not set"', () => {
    const dir = tmp();
    const first = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir });
    assert.ok(first.warnings.some((w) => w.startsWith('SECRET_KEY not set')));
    assert.equal(secretKeyProblem(first.config.secretKey), null);
    const file = path.join(dir, 'secret_key');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(file, 'utf8').trim(), first.config.secretKey);
    const second = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir });
    assert.equal(second.config.secretKey, first.config.secretKey, 'sessions survive a restart');
  });

  test('the server process itself exits with the explanation in production', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { PATH: process.env.PATH, NODE_ENV: 'production', DATA_DIR: tmp(), LOG_DIR: tmp() },
      encoding: 'utf8', timeout: 30_000,
    });
    assert.equal(res.status, 1);
    assert.match(res.stderr, /SECRET_KEY is not set: refusing to start in production/);
    assert.match(res.stderr, /npm run secret/);
  });
});

describe('configuration', () => {
  test('defaults follow the seed: port 3000, bcrypt cost 12, 10 logins/min, lockout 5 × 30 min, 5 s statement timeout, 10 MB × 10 logs', () => {
    const { config } = loadConfig({ SECRET_KEY: 'k'.repeat(16) + 'a1b2c3d4e5f6a7b8c9d0', DATA_DIR: tmp() });
    assert.equal(config.port, 3000);
    assert.equal(config.security.bcryptCost, 12);
    assert.equal(config.security.loginRatePerMinute, 10);
    assert.equal(config.security.lockoutThreshold, 5);
    assert.equal(config.security.lockoutMinutes, 30);
    assert.equal(config.database.statementTimeoutMs, 5000);
    assert.equal(config.log.maxBytes, 10 * 1024 * 1024);
    assert.equal(config.log.count, 10);
    assert.equal(config.trustProxy, false);
  });

  test('bad values are refused with the variable named', () => {
    assert.throws(() => loadConfig({ PORT: 'eighty', SECRET_KEY: 'z'.repeat(40), DATA_DIR: tmp() }), /PORT/);
    assert.throws(() => loadConfig({ LOG_LEVEL: 'chatty', SECRET_KEY: 'z'.repeat(40), DATA_DIR: tmp() }), /LOG_LEVEL/);
  });

  test('sync rounds: 1000 items, 4 calls in flight by default; out-of-range values are refused with the variable named', () => {
    const key = { SECRET_KEY: 'r'.repeat(20) + '0123456789abcdef', DATA_DIR: tmp() };
    const { hubspot } = loadConfig(key).config;
    assert.deepEqual([hubspot.batchSize, hubspot.roundSize, hubspot.concurrency, hubspot.stopGraceMs], [100, 1000, 4, 10_000]);
    const pinned = loadConfig({ ...key, SYNC_ROUND_SIZE: '100', SYNC_CONCURRENCY: '1', SYNC_STOP_GRACE_MS: '0' }).config.hubspot;
    assert.deepEqual([pinned.roundSize, pinned.concurrency, pinned.stopGraceMs], [100, 1, 0]);
    const bad: [string, string][] = [['SYNC_ROUND_SIZE', '0'], ['SYNC_ROUND_SIZE', '10001'], ['SYNC_ROUND_SIZE', 'many'], ['SYNC_CONCURRENCY', '0'], ['SYNC_CONCURRENCY', '11'], ['SYNC_CONCURRENCY', '1.5'], ['SYNC_STOP_GRACE_MS', '-1'], ['SYNC_STOP_GRACE_MS', '600001']];
    for (const [name, value] of bad) {
      assert.throws(() => loadConfig({ ...key, [name]: value }), new RegExp(name), `${name}=${value}`);
    }
  });

  test('TRUST_PROXY takes addresses or a hop count', () => {
    const key = { SECRET_KEY: 'q'.repeat(20) + '0123456789abcdef', DATA_DIR: tmp() };
    assert.deepEqual(loadConfig({ ...key, TRUST_PROXY: '127.0.0.1, 10.0.0.0/8' }).config.trustProxy, ['127.0.0.1', '10.0.0.0/8']);
    assert.equal(loadConfig({ ...key, TRUST_PROXY: '1' }).config.trustProxy, 1);
    assert.throws(() => loadConfig({ ...key, TRUST_PROXY: 'true' }), /TRUST_PROXY=true would trust any client/);
  });
});
