import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runScript } from './support/cli.ts';
import { makeTempRoot } from './support/temp-root.ts';

test('--scan-all --fix with a broken case.json: every broken case named, exit 2, nothing generated', async () => {
  const root = await makeTempRoot();
  for (const id of ['case-2025-03-01', 'case-2025-03-02']) {
    await mkdir(join(root, 'cases', id), { recursive: true });
    await writeFile(
      join(root, 'cases', id, 'case.json'),
      JSON.stringify({ id, title: 'x', date: id.slice(5) }),
    );
  }
  const run = await runScript('batch-generate-images.ts', ['--scan-all', '--fix'], root);
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(/cases\/case-2025-03-01\/case\.json: scene/);
  expect(run.stderr).toMatch(/cases\/case-2025-03-02\/case\.json: scene/);
  await expect(access(join(root, 'reports'))).rejects.toThrow();
  await expect(access(join(root, 'cases', 'case-2025-01-19', 'images'))).rejects.toThrow();
});
