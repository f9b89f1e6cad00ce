import { afterEach, expect, test } from 'vitest';
import { z } from 'zod';
import { input, parseInputs } from '../src/actions/inputs.ts';
import { InputError, InputErrors } from '../src/errors.ts';

/** The runner's way of passing inputs: INPUT_<NAME> with the name upper-cased, hyphens kept. */
const set: string[] = [];
function given(values: Record<string, string>): void {
  for (const [name, value] of Object.entries(values)) {
    const key = `INPUT_${name.toUpperCase()}`;
    process.env[key] = value;
    set.push(key);
  }
}
afterEach(() => {
  for (const key of set.splice(0)) delete process.env[key];
});

const schema = z.object({
  'case-id': input.text(),
  commit: input.boolean('commit', false),
  'max-cost': input.number('max-cost'),
  mode: input.oneOf('mode', ['sync', 'batch'] as const),
});

test('inputs are trimmed, empty ones take their defaults', () => {
  given({ 'case-id': '  case-2025-01-19 ', commit: '', 'max-cost': ' 2.5', mode: '' });
  expect(parseInputs(schema)).toEqual({
    'case-id': 'case-2025-01-19',
    commit: false,
    'max-cost': 2.5,
    mode: undefined,
  });
});

test('one bad input is one InputError naming it', () => {
  given({ commit: 'maybe' });
  expect(() => parseInputs(schema)).toThrow(
    new InputError('"maybe" is not a boolean; use true or false', { field: 'commit' }),
  );
});

test('several bad inputs are listed at once', () => {
  given({ commit: 'maybe', 'max-cost': '-1', mode: 'fast' });
  let thrown: unknown;
  try {
    parseInputs(schema);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(InputErrors);
  expect((thrown as InputErrors).problems.map((p) => p.message)).toEqual([
    'commit: "maybe" is not a boolean; use true or false',
    'max-cost: "-1" is not a non-negative number',
    'mode: "fast" is not one of sync, batch',
  ]);
});
