// bcrypt through its async API (work happens off the event loop). Cost 12 unless configured otherwise.
import bcrypt from 'bcrypt';

export const DEFAULT_BCRYPT_COST = 12;

export function hashPassword(password: string, cost: number = DEFAULT_BCRYPT_COST): Promise<string> {
  return bcrypt.hash(password, cost);
}

export function verifyPassword(password: string, hash: string): Promise<boolean> {
  return bcrypt.compare(password, hash);
}

let dummyHash: Promise<string> | null = null;
/** Compares against a throw-away hash so an unknown username costs as much time as a known one. */
export async function burnPasswordCheck(password: string, cost: number): Promise<void> {
  dummyHash ??= bcrypt.hash('propart-timing-equaliser', cost);
  await bcrypt.compare(password, await dummyHash);
}
