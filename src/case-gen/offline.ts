import { createHash } from 'node:crypto';
import type { Case, Suspect } from '../cases/schema.ts';
import { seededRandom } from '../util/random.ts';
import {
  ALIBIS,
  ART_STYLES,
  BUILDS,
  CLOTHING,
  DEMEANORS,
  FACES,
  HAIR,
  MARKS,
  MEN,
  MOODS,
  MOTIVES,
  SCENARIOS,
  SURNAMES,
  TIMES_OF_DAY,
  type Trait,
  WEATHERS,
  WOMEN,
} from './offline-data.ts';

/** Seeded from a hash of the case id, so a date always gives the same case on any machine. */
function caseRandom(seedText: string): () => number {
  return seededRandom(createHash('sha256').update(`lineup-case-v1\n${seedText}`).digest().readUInt32LE(0));
}

class Picker {
  constructor(private readonly random: () => number) {}

  int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  one<T>(list: readonly T[]): T {
    const item = list[Math.floor(this.random() * list.length)];
    if (item === undefined) throw new Error('cannot pick from an empty list');
    return item;
  }

  /** One trait that fits, never one already in `used`, so no two suspects share it. */
  trait(list: readonly Trait[], used: Set<string>, who: { sex: 'woman' | 'man'; age: number }): string {
    const fits = list.filter(
      (t) =>
        !used.has(t.text) &&
        (!t.only || t.only === who.sex) &&
        (t.minAge === undefined || who.age >= t.minAge),
    );
    const chosen = this.one(fits.length > 0 ? fits : list).text;
    used.add(chosen);
    return chosen;
  }

  /** `n` different items (a partial Fisher–Yates shuffle), so suspects never share a trait. */
  some<T>(list: readonly T[], n: number): T[] {
    const copy = [...list];
    const out: T[] = [];
    for (let i = 0; i < n && copy.length > 0; i++) {
      const at = Math.floor(this.random() * copy.length);
      out.push(...copy.splice(at, 1));
    }
    return out;
  }
}

function sentence(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

/**
 * A plausible case for `caseId` without any API: 3 or 4 suspects with distinct names, jobs and
 * looks, a scene with clues and an art style. Deterministic: seeded by the case id (the date,
 * plus any suffix), so each date gets its own case and rerunning gives the same one.
 */
export function generateOfflineCase(caseId: string): Case {
  const date = caseId.slice(5, 15);
  const pick = new Picker(caseRandom(caseId));
  const scenario = pick.one(SCENARIOS);
  const count = pick.int(3, 4);
  const occupations = pick.some(scenario.occupations, count);
  const surnames = pick.some(SURNAMES, count);
  const women = pick.some(WOMEN, count);
  const men = pick.some(MEN, count);
  const builds = pick.some(BUILDS, count);
  const faces = pick.some(FACES, count);
  const demeanors = pick.some(DEMEANORS, count);
  const motives = pick.some(MOTIVES, count);
  const alibis = pick.some(ALIBIS, count);
  const used = { hair: new Set<string>(), marks: new Set<string>(), clothing: new Set<string>() };

  const suspects: Suspect[] = [];
  let womenUsed = 0;
  let menUsed = 0;
  for (let i = 0; i < count; i++) {
    const sex = pick.int(0, 1) === 1 ? 'woman' : 'man';
    const age = pick.int(22, 74);
    const who = { sex, age } as const;
    const first = sex === 'woman' ? women[womenUsed++] : men[menUsed++];
    const hair = pick.trait(HAIR, used.hair, who);
    const mark = pick.trait(MARKS, used.marks, who);
    suspects.push({
      id: `suspect-${i + 1}`,
      name: `${first} ${surnames[i]}`,
      age,
      occupation: occupations[i] ?? 'Guest',
      demeanor: demeanors[i] ?? 'Quiet',
      appearance: `${sentence(`a ${builds[i]} ${sex} with ${faces[i]}`)} ${sentence(`${hair}, and ${mark}`)}`,
      clothing: sentence(pick.trait(CLOTHING, used.clothing, who)),
      motive: sentence(motives[i] ?? 'Unknown'),
      alibi: sentence(alibis[i] ?? 'None given'),
    });
  }

  const clues = pick.some(scenario.clues, pick.int(3, 4));
  const names = suspects.map((s) => s.name);
  const listed = `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
  return {
    id: caseId,
    title: pick.one(scenario.titles),
    date,
    artStyle: pick.one(ART_STYLES),
    summary: `${sentence(scenario.crime)} Only ${count === 3 ? 'three' : 'four'} people had the chance: ${listed}.`,
    scene: {
      location: scenario.location,
      timeOfDay: pick.one(TIMES_OF_DAY),
      weather: pick.one(WEATHERS),
      mood: pick.one(MOODS),
      description: scenario.description,
      clues,
    },
    suspects,
  };
}
