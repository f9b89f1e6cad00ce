import { expect, test } from 'vitest';
import { configSchema } from '../src/config/schema.ts';

test('config defaults are the seed numbers', () => {
  const c = configSchema.parse({});
  expect(c.timing.delayBetweenImages).toBe(2000);
  expect(c.retry.maxAttempts).toBe(3);
  expect(process.versions.node.split('.')[0]).toBe('24');
});
