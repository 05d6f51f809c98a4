// npm run secret — prints a new random SECRET_KEY (32 bytes, hex) to put in .env.
import { randomBytes } from 'node:crypto';

console.log(`SECRET_KEY=${randomBytes(32).toString('hex')}`);
