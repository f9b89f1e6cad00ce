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

/** The messages of the InputErrors `f` throws (fails when it throws nothing else). */
function thrown(f: () => unknown): string[] {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(InputErrors);
    return (error as InputErrors).problems.map((p) => p.message);
  }
  throw new Error('expected InputErrors, nothing was thrown');
}

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
  expect(thrown(() => parseInputs(schema))).toEqual([
    'commit: "maybe" is not a boolean; use true or false',
    'max-cost: "-1" is not a non-negative number',
    'mode: "fast" is not one of sync, batch',
  ]);
});

test('an input whose reader lists several problems keeps its list', () => {
  given({ ids: 'case-1, case-2' });
  const ids = z.object({
    ids: input.custom(() => {
      throw new InputErrors([
        new InputError('bad', { field: 'ids' }),
        new InputError('worse', { field: 'ids' }),
      ]);
    }),
  });
  expect(() => parseInputs(ids)).toThrow(InputErrors);
  given({ commit: 'maybe' });
  expect(thrown(() => parseInputs(ids.extend({ commit: input.boolean('commit', false) })))).toEqual([
    'ids: bad',
    'ids: worse',
    'commit: "maybe" is not a boolean; use true or false',
  ]);
});
